"""``cx bench``: times every dashboard query against DuckDB on the same files (speed, not the
CX league tables of :mod:`cx.analytics.benchmarks`).

The harness, :mod:`cx.speed`, needs the dev dependency group (DuckDB) and a source checkout; it
is loaded when this command runs and never by the app or any other command.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cx.cli.common import CliError, Command, Rows


def cmd_bench(args: argparse.Namespace) -> Rows:
    try:
        # Imported here, not at the top: the harness needs dev-only DuckDB and is left out of the wheel.
        from cx.speed import suite
    except ModuleNotFoundError as exc:
        raise CliError(
            f"cx bench needs a source checkout with the dev dependencies ({exc.name} is missing): run uv sync"
        ) from None
    rows: Rows = suite.run(
        rows=args.rows,
        workdir=Path(args.workdir) if args.workdir else None,
        repeat=args.repeat,
        only=args.only,
    )
    return rows


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("bench", help="time every dashboard query against DuckDB on the same files")
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument(
        "--repeat", type=int, default=5, help="timed runs per query (the median is kept)"
    )
    p.add_argument(
        "--workdir", help="where to write the synthetic files (default: a temporary folder)"
    )
    p.add_argument("--only", help="run only the cases whose name contains this text")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")


COMMANDS: dict[str, Command] = {"bench": cmd_bench}
