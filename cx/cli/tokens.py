"""``cx tokens``: make, end and list the REST API's tokens (shared/spec/cli.md).

The token itself is printed once, by ``create``; the store keeps only its keyed hash.
"""

from __future__ import annotations

import argparse
from typing import Any

from cx import store
from cx.cli.common import CliError, Command, Rows, root_of
from cx.store import tokens


def _engine(args: argparse.Namespace) -> Any:
    return store.init(store.make_engine(store.database_url(root_of(args))))


def _row(t: Any) -> dict[str, Any]:
    return {
        "name": t.name,
        "scope": t.scope,
        "role": t.role,
        "created_by": t.created_by,
        "created_at": t.created_at.isoformat() if t.created_at else None,
        "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
        "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None,
    }


def cmd_tokens(args: argparse.Namespace) -> Rows:
    try:
        with store.session(_engine(args)) as s:
            if args.action == "create":
                token = tokens.create(
                    s, args.name, ",".join(args.scope), args.role, by=tokens.SHELL
                )
                return [
                    {
                        "name": args.name,
                        "scope": ",".join(args.scope),
                        "role": args.role,
                        "token": token,
                    }
                ]
            if args.action == "revoke":
                return [_row(tokens.revoke(s, args.name, by=tokens.SHELL))]
            return [_row(t) for t in tokens.list_tokens(s)]
    except (tokens.TokenError, tokens.TokenForbidden) as exc:
        raise CliError(str(exc)) from None


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("tokens", help="REST API tokens: create (shown once), revoke, list")
    actions = p.add_subparsers(dest="action", required=True)
    for name, text in (
        ("create", "make a token"),
        ("revoke", "end a token"),
        ("list", "every token"),
    ):
        a = actions.add_parser(name, help=text)
        a.add_argument("--data", help="data directory (default: data/ or CX_DATA_DIR)")
        a.add_argument("--format", choices=("table", "csv", "json"), default="table")
        if name != "list":
            a.add_argument("name")
        if name == "create":
            a.add_argument(
                "--scope",
                action="append",
                required=True,
                help="world, region:…, country:…, agency:…",
            )
            a.add_argument("--role", default="analyst")


COMMANDS: dict[str, Command] = {"tokens": cmd_tokens}
