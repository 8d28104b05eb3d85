"""What every ``cx`` command shares: the common options, the scope and filters they give, and
the output formats.

Output follows ``shared/spec/cli.md``: ``--format json`` prints one JSON array of objects and
nothing else; errors print one line on stderr and exit non-zero, never a traceback.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, NoReturn

import polars as pl

from cx.analytics import overview
from cx.core import data, users
from cx.core.filters import Filters
from cx.core.scope import Scope

Rows = list[dict[str, Any]]
Command = Callable[[argparse.Namespace], "Rows | None"]
"""A command: parsed arguments in, rows to print (or None) out."""


class CliError(Exception):
    """A user-facing error: printed as one line, exit code 2."""


# ---------------------------------------------------------------- shared option handling


def add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", help="data directory (default: data/ or CX_DATA_DIR)")
    p.add_argument("--user", help="apply this user's geography scope")
    p.add_argument(
        "--scope",
        action="append",
        help="world, region:<name>, country:<code> or agency:<name> (repeatable; default world)",
    )
    p.add_argument("--wave", help="wave label (default: the latest wave)")
    p.add_argument("--channel", action="append", default=[], help="filter: channel (repeatable)")
    p.add_argument(
        "--touchpoint",
        action="append",
        default=[],
        help="filter: touchpoint, or 'relational' (repeatable)",
    )
    p.add_argument(
        "--segment", action="append", default=[], help="filter: customer segment (repeatable)"
    )
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")


def root_of(args: argparse.Namespace) -> Path:
    return data.data_dir(getattr(args, "data", None))


def scope_of(args: argparse.Namespace) -> Scope:
    """``--user`` gives that user's scope; ``--scope`` a scope directly; default world."""
    if getattr(args, "user", None):
        if getattr(args, "scope", None):
            raise CliError("give --user or --scope, not both")
        user = users.get(args.user)
        if user is None:
            raise CliError(f"unknown user {args.user!r}")
        return user.scope
    return Scope.parse(args.scope) if getattr(args, "scope", None) else Scope.world()


def responses_of(args: argparse.Namespace) -> pl.LazyFrame:
    return data.scan_responses(root_of(args))


def filters_of(
    args: argparse.Namespace, frame: pl.LazyFrame, *, default_wave: bool = True
) -> Filters:
    all_waves = overview.waves(frame)
    wave = getattr(args, "wave", None)
    if wave is not None and wave not in all_waves:
        raise CliError(f"unknown wave {wave!r}; waves are {', '.join(all_waves)}")
    if wave is None and default_wave:
        wave = all_waves[-1]
    return Filters(
        wave=wave,
        channels=tuple(sorted(getattr(args, "channel", []) or [])),
        touchpoints=tuple(sorted(getattr(args, "touchpoint", []) or [])),
        segments=tuple(sorted(getattr(args, "segment", []) or [])),
    )


# ---------------------------------------------------------------- output


def _plain(value: Any) -> Any:
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def rows_of(df: pl.DataFrame, columns: Sequence[str] | None = None) -> Rows:
    if columns is not None:
        df = df.select([c for c in columns if c in df.columns])
    return [{k: _plain(v) for k, v in row.items()} for row in df.iter_rows(named=True)]


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.2f}" if abs(value) >= 1 else f"{value:.4f}"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def emit(rows: Rows, fmt: str, out: Any = None) -> None:
    out = out or sys.stdout
    if fmt == "json":
        out.write(json.dumps(rows, ensure_ascii=False) + "\n")
        return
    if not rows:
        if fmt == "table":
            out.write("(no rows)\n")
        return
    keys = list(rows[0])
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(keys)
        for r in rows:
            writer.writerow(
                [
                    ""
                    if r.get(k) is None
                    else (",".join(map(str, r[k])) if isinstance(r.get(k), list) else r.get(k))
                    for k in keys
                ]
            )
        out.write(buf.getvalue())
        return
    cells = [[_cell(r.get(k)) for k in keys] for r in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
    out.write("  ".join(k.ljust(w) for k, w in zip(keys, widths, strict=True)).rstrip() + "\n")
    for c in cells:
        out.write(
            "  ".join(
                v.rjust(w) if _numeric(v) else v.ljust(w) for v, w in zip(c, widths, strict=True)
            ).rstrip()
            + "\n"
        )


def _numeric(text: str) -> bool:
    try:
        float(text.replace(",", ""))
        return True
    except ValueError:
        return False


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage dump), exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")
