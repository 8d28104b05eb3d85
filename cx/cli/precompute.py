"""``cx precompute``: bring the precomputed tables of the data folder up to date for its data
version, in this process (:func:`cx.analytics.precompute.build`).

One row per table: ``table`` (``rfm/<wave>``), ``rows``, ``seconds`` (what this run spent on it:
a table already current for the data version is only checked). A missing or unreadable CRM
file, a data folder without waves, or one that cannot be written is one line, exit code 2.
"""

from __future__ import annotations

import argparse
from typing import Any

from cx.analytics import precompute
from cx.cli.common import CliError, Command, Rows, root_of

COLUMNS = ("table", "rows", "seconds")


def cmd_precompute(args: argparse.Namespace) -> Rows:
    try:
        built = precompute.build(root_of(args))
    except OSError as exc:
        raise CliError(f"{exc.filename or root_of(args)}: {exc.strerror or exc}") from None
    return [{k: row[k] for k in COLUMNS} | {"seconds": round(row["seconds"], 3)} for row in built]


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "precompute",
        help="rebuild the precomputed tables (RFM tiers per wave) for the data version",
    )
    p.add_argument("--data", help="data directory (default: data/ or CX_DATA_DIR)")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")


COMMANDS: dict[str, Command] = {"precompute": cmd_precompute}
