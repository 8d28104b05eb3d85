"""How well :func:`cx.core.privacy.mask_pii` does on a labelled set, as JSON on stdout.

``uv run python -m cx.core.privacy_eval FILE.jsonl [--misses]``. Each line of the file is
``{"id": …, "language": "es", "text": …, "pii": [{"kind": "phone", "value": …}], "keep": [...]}``:

- recall: the share of ``pii`` values no longer present in the masked text (overall, per kind and
  per language);
- keep_intact: the share of ``keep`` strings (dates, prices, order numbers…) still present in the
  masked text, the precision-side figure (overall and per language).

``--misses`` adds the missed values and the broken keep strings (to improve the patterns, so only
for sets the pattern's author may see). A bad file gets one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from cx.core.privacy import mask_pii


class EvalSetError(ValueError):
    """A line of the set that is not the documented JSON object (names the line)."""


def load(path: Path) -> list[dict[str, Any]]:
    """The records of a JSONL file; raise :class:`EvalSetError` naming the first bad line."""
    if not path.is_file():
        raise EvalSetError(f"{path}: no such file")
    out: list[dict[str, Any]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalSetError(f"{path}:{number}: not JSON ({exc.msg})") from None
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise EvalSetError(f"{path}:{number}: expected an object with a string 'text'")
        pii = record.get("pii") or []
        if not isinstance(pii, list) or not all(
            isinstance(p, dict) and isinstance(p.get("value"), str) for p in pii
        ):
            raise EvalSetError(f"{path}:{number}: 'pii' must be a list of {{kind, value}} objects")
        keep = record.get("keep") or []
        if not isinstance(keep, list) or not all(isinstance(k, str) for k in keep):
            raise EvalSetError(f"{path}:{number}: 'keep' must be a list of strings")
        out.append(record)
    return out


def _share(frame: pl.DataFrame, flag: str, by: str | None) -> Any:
    """Overall share of ``flag`` (with its base), or per value of ``by``."""
    if by is None:
        n = frame.height
        share = frame.select(pl.col(flag).mean().round(4)).item() if n else None
        return {"n": n, "share": share}
    grouped = (
        frame.group_by(by).agg(n=pl.len(), share=pl.col(flag).mean().round(4)).sort(by).to_dicts()
    )
    return {str(g[by]): {"n": g["n"], "share": g["share"]} for g in grouped}


def evaluate(records: Iterable[dict[str, Any]], *, misses: bool = False) -> dict[str, Any]:
    """Recall and keep-intact figures of the masker over ``records`` (see the module docstring)."""
    rows = [
        {
            "id": str(r.get("id", i)),
            "language": str(r.get("language") or "?"),
            "text": r["text"],
            "pii": [
                {"kind": str(p.get("kind") or "?"), "value": p["value"]}
                for p in r.get("pii") or []
                if p["value"]
            ],
            "keep": [k for k in r.get("keep") or [] if k],
        }
        for i, r in enumerate(records)
    ]
    schema: dict[str, pl.DataType] = {
        "id": pl.String(),
        "language": pl.String(),
        "text": pl.String(),
        "pii": pl.List(pl.Struct({"kind": pl.String, "value": pl.String})),
        "keep": pl.List(pl.String),
    }
    texts = pl.DataFrame(rows, schema=schema).with_columns(masked=mask_pii(pl.col("text")))
    values = (
        texts.select("id", "language", "masked", "pii")
        .explode("pii")
        .drop_nulls("pii")
        .unnest("pii")
        .with_columns(masked_out=~pl.col("masked").str.contains(pl.col("value"), literal=True))
    )
    keeps = (
        texts.select("id", "language", "masked", "keep")
        .explode("keep")
        .drop_nulls("keep")
        .with_columns(intact=pl.col("masked").str.contains(pl.col("keep"), literal=True))
    )
    report: dict[str, Any] = {
        "texts": texts.height,
        "recall": _share(values, "masked_out", None),
        "recall_by_kind": _share(values, "masked_out", "kind"),
        "recall_by_language": _share(values, "masked_out", "language"),
        "keep_intact": _share(keeps, "intact", None),
        "keep_intact_by_language": _share(keeps, "intact", "language"),
    }
    if misses:
        report["missed"] = (
            values.filter(~pl.col("masked_out")).select("id", "kind", "value", "masked").to_dicts()
        )
        report["broken_keep"] = (
            keeps.filter(~pl.col("intact")).select("id", "keep", "masked").to_dicts()
        )
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cx.core.privacy_eval", description="Masking recall and precision on a set"
    )
    parser.add_argument(
        "file", type=Path, help="JSONL: id, language, text, pii [{kind, value}], keep"
    )
    parser.add_argument("--misses", action="store_true", help="list missed values and broken keeps")
    args = parser.parse_args(argv)
    try:
        report = evaluate(load(args.file), misses=args.misses)
    except (EvalSetError, OSError, UnicodeDecodeError) as exc:
        print(f"privacy_eval: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
