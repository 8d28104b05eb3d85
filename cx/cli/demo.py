"""``cx demo [--rows N] [--seed S]``: write the deterministic demo dataset into ``--data``."""

from __future__ import annotations

import argparse
from typing import Any

from cx.cli.common import CliError, Command, Rows, add_common, root_of
from cx.demo.dataset import write_demo


def cmd_demo(args: argparse.Namespace) -> Rows:
    if args.rows < 1_000:
        raise CliError("--rows must be at least 1000")
    root = root_of(args)
    summary = write_demo(root, rows=args.rows, seed=args.seed)
    rows = summary.as_rows()
    if args.seed_store:
        from cx import store
        from cx.core.data import scan_responses
        from cx.demo.complaints import seed_demo_cases

        engine = store.init(store.make_engine(store.database_url(root)))
        opened = seed_demo_cases(engine, scan_responses(root))
        rows.append(
            {
                "file": store.database_url(root).split("@")[-1],
                "rows": opened,
                "detail": "demo complaint cases",
            }
        )
    return rows


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
    p.add_argument(
        "--seed-store",
        action="store_true",
        help="also open the demo complaint cases in the store (DATABASE_URL or <data>/cx.db)",
    )


COMMANDS: dict[str, Command] = {"demo": cmd_demo}
