"""Measure themes and sentiment on a labelled set: ``uv run python -m cx.voice.evaluate FILE.jsonl``.

Each line of FILE is ``{"id", "language", "text", "themes": [ids], "polarity":
"positive|negative|neutral|mixed", "theme_polarity": {id: "positive|negative"}}``. Prints one JSON
object: per language and overall, theme micro precision / recall / F1; per theme (and per
language x theme) precision / recall / F1; sentiment sign accuracy on the clearly positive or
negative comments; the share of those scored exactly 0; the sign accuracy of per-theme polarity
on the themes both found and labelled. ``--detect-language`` ignores the given language.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import polars as pl

from cx.voice import themes

POLARITIES = ("positive", "negative", "neutral", "mixed")


class EvaluationError(ValueError):
    """A line of the labelled file that does not have the expected shape."""


def read_set(path: Path) -> pl.DataFrame:
    """The labelled comments of a JSONL file (EvaluationError naming the line when malformed)."""
    rows: list[dict[str, Any]] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvaluationError(f"{path}:{n}: not JSON: {exc.msg}") from None
        missing = {"id", "language", "text", "themes", "polarity"} - set(item)
        if missing:
            raise EvaluationError(f"{path}:{n}: missing {', '.join(sorted(missing))}")
        if item["polarity"] not in POLARITIES:
            raise EvaluationError(f"{path}:{n}: polarity {item['polarity']!r} not in {POLARITIES}")
        rows.append(
            {
                "id": str(item["id"]),
                "language": str(item["language"]).lower()[:2],
                "text": str(item["text"]),
                "gold": [str(t) for t in item["themes"] or []],
                "polarity": item["polarity"],
                "theme_polarity": json.dumps(item.get("theme_polarity") or {}),
            }
        )
    if not rows:
        raise EvaluationError(f"{path}: no labelled comment")
    return pl.DataFrame(rows)


def _prf(tp: int, fp: int, fn: int) -> dict[str, float | int]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 3), "recall": round(r, 3), "f1": round(f, 3), "support": tp + fn}


def _counts(rows: list[dict[str, Any]], theme: str | None = None) -> tuple[int, int, int]:
    tp = fp = fn = 0
    for r in rows:
        g, p = set(r["gold"]), set(r["themes"])
        if theme is not None:
            g, p = g & {theme}, p & {theme}
        tp, fp, fn = tp + len(g & p), fp + len(p - g), fn + len(g - p)
    return tp, fp, fn


def _sentiment(rows: list[dict[str, Any]]) -> dict[str, float | int | None]:
    polar = [r for r in rows if r["polarity"] in ("positive", "negative")]
    right = sum(
        (r["sentiment"] or 0) > 0 if r["polarity"] == "positive" else (r["sentiment"] or 0) < 0
        for r in polar
    )
    zero = sum((r["sentiment"] or 0) == 0 for r in polar)
    aspects = [
        (want, got)
        for r in rows
        for tid, want in json.loads(r["theme_polarity"]).items()
        if want in ("positive", "negative") and (got := r["by_theme"].get(tid)) is not None
    ]
    aspect_right = sum((got > 0) if want == "positive" else (got < 0) for want, got in aspects)
    return {
        "polar_comments": len(polar),
        "sign_accuracy": round(right / len(polar), 3) if polar else None,
        "zero_share": round(zero / len(polar), 3) if polar else None,
        "theme_polarity_pairs": len(aspects),
        "theme_polarity_accuracy": round(aspect_right / len(aspects), 3) if aspects else None,
    }


def evaluate(labelled: pl.DataFrame, *, detect_language: bool = False) -> dict[str, Any]:
    """The figures of the module docstring for a frame made by :func:`read_set`."""
    frame = labelled.drop("language") if detect_language else labelled
    tagged = themes.tag(frame, text="text", language=None if detect_language else "language")
    if detect_language:
        tagged = tagged.rename({"language": "detected"}).with_columns(labelled["language"])
    rows = tagged.to_dicts()
    for r in rows:
        r["by_theme"] = dict(zip(r["themes"], r["theme_sentiment"], strict=True))
    ids = themes.load_taxonomy().ids
    report: dict[str, Any] = {"comments": len(rows), "languages": {}}
    for lang in [*sorted({r["language"] for r in rows}), "all"]:
        subset = rows if lang == "all" else [r for r in rows if r["language"] == lang]
        block: dict[str, Any] = {"comments": len(subset), "themes_micro": _prf(*_counts(subset))}
        block["per_theme"] = {
            t: _prf(*_counts(subset, t))
            for t in ids
            if any(t in r["gold"] or t in r["themes"] for r in subset)
        }
        block["sentiment"] = _sentiment(subset)
        if detect_language:
            block["language_detected_right"] = round(
                sum(r["detected"] == r["language"] for r in subset) / len(subset), 3
            )
        report["languages"][lang] = block
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cx.voice.evaluate", description=__doc__)
    parser.add_argument("file", help="a JSONL file of labelled comments")
    parser.add_argument(
        "--detect-language", action="store_true", help="ignore the given language, detect it"
    )
    args = parser.parse_args(argv)
    try:
        report = evaluate(read_set(Path(args.file)), detect_language=args.detect_language)
    except (EvaluationError, themes.ThemeError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
