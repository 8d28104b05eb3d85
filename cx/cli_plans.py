"""``cx digests``: enqueue today's action-plan digest e-mails (one per owner per day)."""

from __future__ import annotations

import argparse
from typing import Any

from cx import db, plans
from cx.cli import EXTENSIONS, Rows, add_common, command, root_of


@command("digests")
def cmd_digests(args: argparse.Namespace) -> Rows:
    engine = db.init(db.make_engine(db.database_url(root_of(args))))
    return [plans.send_digests(engine, within_days=args.within_days)]


def _parser(sub: Any) -> None:
    p = sub.add_parser("digests", help="enqueue one e-mail per plan owner with plans or tasks due (then: cx notify)")
    add_common(p)
    p.add_argument("--within-days", type=int, default=7)


EXTENSIONS.append(_parser)
