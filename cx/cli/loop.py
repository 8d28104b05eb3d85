"""``cx alerts``, ``cx rules run|check|list`` and ``cx notify``: the close-the-loop commands.

Same domain functions as the Alerts and Routing rules screens.
"""

from __future__ import annotations

import argparse
from typing import Any

from cx import store
from cx.cli.common import (
    CliError,
    Command,
    Rows,
    add_common,
    filters_of,
    responses_of,
    root_of,
    rows_of,
    scope_of,
)
from cx.core.scope import Scope
from cx.loop import alerts, notify, rule_language, rule_store, rules

ALERT_COLUMNS = ("level", "entity", "attribute", "wave", "score", "reasons")


def cmd_alerts(args: argparse.Namespace) -> Rows:
    frame = responses_of(args)
    df = alerts.detect(frame, scope_of(args), filters_of(args, frame))
    columns = [*ALERT_COLUMNS, "sentence"] if args.explain else list(ALERT_COLUMNS)
    return rows_of(df, columns)


def _engine(args: argparse.Namespace) -> Any:
    return store.init(store.make_engine(store.database_url(root_of(args))))


def cmd_rules(args: argparse.Namespace) -> Rows:
    if args.action == "check":
        frame = responses_of(args)
        counts = rule_language.match_count(
            frame, scope_of(args), filters_of(args, frame), rule=args.condition
        )
        return [{"condition": args.condition, "valid": True, **counts}]
    engine = _engine(args)
    synced = rule_store.sync_file_rules(engine)
    if args.action == "list":
        with store.session(engine) as s:
            return [
                {
                    "id": r.id,
                    "name": r.name,
                    "condition": r.condition,
                    "scope": r.scope,
                    "enabled": r.enabled,
                    "source": r.source,
                    "version": r.version,
                }
                for r in rule_store.list_rules(s)
            ]
    frame = responses_of(args)
    wave = filters_of(args, frame).wave
    result = rules.run_rules(
        engine, frame, scope_of(args), wave=wave, actor=args.actor, root=root_of(args)
    )
    if result["rules"] == 0 and result["skipped"]:
        raise CliError("no rule could run: " + "; ".join(result["skipped"]))
    return [
        {
            "synced_from_file": synced,
            **{k: ("; ".join(v) if isinstance(v, list) else v) for k, v in result.items()},
        }
    ]


def _parsers(sub: Any) -> None:
    p = sub.add_parser(
        "alerts", help="attribute alerts per agency and country x attribute, best score first"
    )
    add_common(p)
    p.add_argument("--explain", action="store_true", help="add the one-sentence reason")
    p = sub.add_parser("rules", help="routing rules: check a condition, list or run the rules")
    rsub = p.add_subparsers(dest="action", required=True)
    c = rsub.add_parser("check", help="parse a condition and count the matching responses")
    add_common(c)
    c.add_argument("condition", help="e.g. \"attr_cleanliness < 4 AND city = 'Madrid'\"")
    r = rsub.add_parser(
        "run", help="sync cx/config/rules.yaml and run every enabled rule on --wave"
    )
    add_common(r)
    r.add_argument("--actor", default="cli", help="name recorded in the audit trail")
    ls = rsub.add_parser("list", help="sync cx/config/rules.yaml and list the stored rules")
    add_common(ls)


# ---------------------------------------------------------------- cx notify


def cmd_notify(args: argparse.Namespace) -> Rows:
    """Deliver the due outbox rows once (cron: every minute); prints what happened and what is left."""
    engine = _engine(args)
    settings = notify.NotifySettings.from_env(root_of(args))
    # Webhooks, Slack/Teams and the helpdesk need no settings here; e-mail and Telegram rows stay
    # pending ("unconfigured") until CX_SMTP_HOST / CX_TELEGRAM_TOKEN are set.
    counts = notify.deliver_pending(engine, settings, limit=args.limit)
    with store.session(engine) as s:
        outbox = notify.outbox_summary(s, Scope.world())
    return [
        {
            "sent": counts["sent"],
            "retry": counts["retry"],
            "dead": counts["dead"],
            "skipped": counts["skipped"],
            "unconfigured": counts.get("unconfigured", 0),
            "pending": outbox.get("pending", 0) + outbox.get("sending", 0),
            "sent_total": outbox.get("sent", 0),
            "dead_total": outbox.get("dead", 0),
        }
    ]


def _notify_parser(sub: Any) -> None:
    p = sub.add_parser(
        "notify",
        help="send the pending notifications of the outbox (SMTP / Telegram from CX_SMTP_* / CX_TELEGRAM_*)",
    )
    p.add_argument("--data", help="data directory (default: data/ or CX_DATA_DIR)")
    p.add_argument(
        "--limit", type=int, default=500, help="at most this many notifications in this run"
    )
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")


def add_parsers(sub: Any) -> None:
    _parsers(sub)
    _notify_parser(sub)


COMMANDS: dict[str, Command] = {"alerts": cmd_alerts, "rules": cmd_rules, "notify": cmd_notify}
