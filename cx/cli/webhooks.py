"""``cx webhooks add|list|remove|test``: outgoing webhook subscriptions (Standard Webhooks).

Same domain functions as the Webhooks screen (:mod:`cx.loop.webhooks`).
"""

from __future__ import annotations

import argparse
from typing import Any

from cx import store
from cx.cli.common import CliError, Command, Rows, root_of
from cx.loop import notify, webhooks
from cx.store import Notification
from cx.store.models import WebhookSubscription

COLUMNS = ("id", "url", "events", "scope")


def _engine(args: argparse.Namespace) -> Any:
    return store.init(store.make_engine(store.database_url(root_of(args))))


def _row(sub: WebhookSubscription) -> dict[str, Any]:
    return {"id": sub.id, "url": sub.url, "events": list(sub.events), "scope": sub.scope}


def cmd_webhooks(args: argparse.Namespace) -> Rows:
    engine = _engine(args)
    try:
        if args.action == "add":
            with store.session(engine) as s:
                sub = webhooks.add(
                    s,
                    url=args.url,
                    events=args.events.split(","),
                    scope=",".join(args.scope or ["world"]),
                    actor=args.actor,
                )
                s.commit()
                return [{**_row(sub), "secret": sub.secret}]
        if args.action == "list":
            with store.session(engine) as s:
                return [_row(sub) for sub in webhooks.subscriptions(s)]
        if args.action == "remove":
            with store.session(engine) as s:
                sub = webhooks.remove(s, args.id, actor=args.actor)
                s.commit()
                return [{**_row(sub), "removed": True}]
        with store.session(engine) as s:
            row_id = webhooks.send_test(s, args.id, actor=args.actor).id
            s.commit()
        notify.deliver_pending(engine, notify.NotifySettings.from_env(root_of(args)))
        with store.session(engine) as s:
            row = s.get(Notification, row_id)
            assert row is not None
            return [{"id": args.id, "status": row.status, "error": row.last_error or ""}]
    except webhooks.WebhookError as exc:
        raise CliError(str(exc)) from None


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("webhooks", help="outgoing webhook subscriptions (Standard Webhooks)")
    wsub = p.add_subparsers(dest="action", required=True)
    add = wsub.add_parser("add", help="subscribe a URL; prints its id and signing secret")
    add.add_argument("url", help="https://… receiver")
    add.add_argument(
        "--events", required=True, help=f"comma-separated: {', '.join(webhooks.EVENT_TYPES)}"
    )
    add.add_argument("--scope", action="append", help="world (default), region:X, country:XX…")
    wsub.add_parser("list", help="the active subscriptions")
    rm = wsub.add_parser("remove", help="stop a subscription")
    rm.add_argument("id")
    test = wsub.add_parser("test", help="send a test event now (and the outbox's other due rows)")
    test.add_argument("id")
    for p2 in (add, rm, test, *[wsub.choices["list"]]):
        p2.add_argument("--data", help="data directory (default: data/ or CX_DATA_DIR)")
        p2.add_argument("--actor", default="cli", help="name recorded in the audit trail")
        p2.add_argument("--format", choices=("table", "csv", "json"), default="table")


COMMANDS: dict[str, Command] = {"webhooks": cmd_webhooks}
