"""``cx demo [--rows N] [--seed S]``: write the deterministic demo dataset into ``--data``."""

from __future__ import annotations

import argparse
from typing import Any

from cx.cli.common import CliError, Command, Rows, add_common, root_of
from cx.demo.dataset import write_demo


def cmd_demo(args: argparse.Namespace) -> Rows:
    if args.rows < 1_000:
        raise CliError("--rows must be at least 1000")
    summary = write_demo(root_of(args), rows=args.rows, seed=args.seed)
    return summary.as_rows()


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("demo", help="write the demo dataset into --data")
    add_common(p)
    p.add_argument(
        "--rows",
        type=int,
        default=200_000,
        help="total responses over the 8 waves (default 200000)",
    )
    p.add_argument("--seed", type=int, default=42)


COMMANDS: dict[str, Command] = {"demo": cmd_demo}
