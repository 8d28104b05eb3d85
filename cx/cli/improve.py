"""``cx digests``: enqueue today's action-plan digest e-mails (one per owner per day)."""

from __future__ import annotations

import argparse
from typing import Any

from cx import store
from cx.cli.common import Command, Rows, add_common, root_of
from cx.improve import plans


def cmd_digests(args: argparse.Namespace) -> Rows:
    engine = store.init(store.make_engine(store.database_url(root_of(args))))
    return [plans.send_digests(engine, within_days=args.within_days)]


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "digests",
        help="enqueue one e-mail per plan owner with plans or tasks due (then: cx notify)",
    )
    add_common(p)
    p.add_argument("--within-days", type=int, default=7)


COMMANDS: dict[str, Command] = {"digests": cmd_digests}
