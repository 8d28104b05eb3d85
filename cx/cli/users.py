"""``cx users list|add|set-scope|remove``: accounts, roles and geography scopes (bcrypt-hashed)."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from cx.cli.common import Command, Parser, Rows
from cx.core import roles, users


def cmd_users(args: argparse.Namespace) -> Rows | None:
    action = args.action
    if action == "list":
        return [
            {"username": u.username, "name": u.name, "roles": list(u.roles), "scope": str(u.scope)}
            for u in users.all_users()
        ]
    if action == "add":
        password = args.password or (
            sys.stdin.readline().rstrip("\n")
            if not sys.stdin.isatty()
            else getpass.getpass("Password: ")
        )
        u = users.add(
            args.username,
            password=password,
            name=args.name or args.username,
            email=args.email or "",
            roles=args.role or [],
            scope=args.scope or [],
        )
        return [
            {
                "username": u.username,
                "roles": list(u.roles),
                "scope": str(u.scope),
                "status": "added",
            }
        ]
    if action == "set-scope":
        u = users.set_scope(args.username, args.scope or [])
        return [{"username": u.username, "scope": str(u.scope), "status": "scope set"}]
    users.remove(args.username)
    return [{"username": args.username, "status": "removed"}]


def add_parsers(sub: Any) -> None:
    fmt = Parser(add_help=False)
    fmt.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p = sub.add_parser("users", help="manage users, roles and scopes (bcrypt-hashed passwords)")
    usub = p.add_subparsers(dest="action", required=True, parser_class=Parser)
    usub.add_parser("list", parents=[fmt])
    a = usub.add_parser("add", parents=[fmt])
    a.add_argument("username")
    a.add_argument("--password", help="the password (else read from stdin or prompted)")
    a.add_argument("--name")
    a.add_argument("--email")
    a.add_argument("--role", action="append", help="repeatable: " + ", ".join(roles.ROLES))
    a.add_argument(
        "--scope",
        action="append",
        help="repeatable: world, region:<name>, country:<code>, agency:<name>",
    )
    s = usub.add_parser("set-scope", parents=[fmt])
    s.add_argument("username")
    s.add_argument("--scope", action="append", required=True)
    r = usub.add_parser("remove", parents=[fmt])
    r.add_argument("username")


COMMANDS: dict[str, Command] = {"users": cmd_users}
