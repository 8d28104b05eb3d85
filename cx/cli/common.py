"""What every ``cx`` command shares: the common options, the scope and filters they give, and
the output formats.

Output follows ``shared/spec/cli.md``: ``--format json`` prints one JSON array of objects and
nothing else; errors print one line on stderr and exit non-zero, never a traceback. Free text
(``comment`` and the like) is masked by :mod:`cx.core.privacy` in every format, and ``--format csv``
is written by the app's one CSV writer (:func:`cx.core.export.csv_bytes`: formulas neutralised).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, NoReturn

import polars as pl

from cx.analytics import overview
from cx.core import data, export, privacy, users
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
        users_path = None if os.environ.get("CX_USERS_FILE") else root_of(args) / users.USERS_FILE
        user = users.get(args.user, users_path)
        if user is None:
            raise CliError(f"unknown user {args.user!r}")
        return users.analytics_scope(user)
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


FREE_TEXT = ("comment", "comment_masked", "text", "verbatim", "note", "close_note", "solution")
"""Columns that may hold what a customer wrote: masked before any format prints them."""


def _masked(rows: Rows) -> Rows:
    """The rows with their free-text values masked (one vectorised pass per column)."""
    keys = [k for k in FREE_TEXT if rows and any(isinstance(r.get(k), str) for r in rows)]
    if not keys:
        return rows
    out = [dict(r) for r in rows]
    for k in keys:
        values = [r.get(k) if isinstance(r.get(k), str) else None for r in rows]
        masked = privacy.mask_series(pl.Series(k, values, dtype=pl.String)).to_list()
        for r, before, after in zip(out, values, masked, strict=True):
            if before is not None:
                r[k] = after
    return out


def _csv(rows: Rows, keys: list[str]) -> str:
    """The rows as CSV through :func:`cx.core.export.csv_bytes` (lists joined by commas)."""
    columns = {
        k: [
            None
            if r.get(k) is None
            else ",".join(map(str, r[k]))
            if isinstance(r.get(k), list)
            else r.get(k)
            for r in rows
        ]
        for k in keys
    }
    series = []
    for k, values in columns.items():
        try:
            series.append(pl.Series(k, values, strict=True))
        except (TypeError, pl.exceptions.PolarsError):  # mixed kinds: write them as text
            series.append(pl.Series(k, [None if v is None else str(v) for v in values]))
    return export.csv_bytes(pl.DataFrame(series)).decode("utf-8")


def emit(rows: Rows, fmt: str, out: Any = None) -> None:
    out = out or sys.stdout
    rows = _masked(rows)
    if fmt == "json":
        out.write(json.dumps(rows, ensure_ascii=False) + "\n")
        return
    if not rows:
        if fmt == "table":
            out.write("(no rows)\n")
        return
    keys = list(rows[0])
    if fmt == "csv":
        out.write(_csv(rows, keys))
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
