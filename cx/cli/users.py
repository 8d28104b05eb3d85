"""``cx users list|add|set-scope|set-role|set-password|disable|enable|unlock|sessions|end-sessions|remove``:
accounts, roles and geography scopes (bcrypt-hashed), their lockouts and their sessions.

Every change that takes rights away (remove, disable, a new password, a narrower scope or role)
ends or updates the user's sessions at their next click: sessions are checked against the
account on every run, and remove/disable/set-password also delete them from the store.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Any

from sqlalchemy import Engine

from cx import store
from cx.cli.common import Command, Parser, Rows
from cx.core import roles, users
from cx.core.data import data_dir
from cx.store import sessions


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _engine(args: argparse.Namespace) -> Engine:
    return store.init(store.make_engine(store.database_url(data_dir(args.data))))


def _password(args: argparse.Namespace) -> str:
    if args.password:
        return str(args.password)
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    return getpass.getpass("Password: ")


def _row(u: users.User, status: str) -> dict[str, Any]:
    return {"username": u.username, "roles": list(u.roles), "scope": str(u.scope), "status": status}


def cmd_users(args: argparse.Namespace) -> Rows | None:
    if args.data:
        os.environ["CX_DATA_DIR"] = str(args.data)  # the users file and store of that folder
    action, name = args.action, str(getattr(args, "username", "") or "")
    if action == "list":
        engine = _engine(args)
        return [
            {
                "username": u.username,
                "name": u.name,
                "roles": list(u.roles),
                "scope": str(u.scope),
                "status": "disabled" if u.disabled else ("demo" if u.demo else "active"),
                "locked_minutes": round(sessions.lock_left(engine, u.username) / 60, 1),
                "sessions": len(sessions.sessions_of(engine, u.username)),
            }
            for u in users.all_users()
        ]
    if action == "add":
        added = users.add(
            name,
            password=_password(args),
            name=args.name or name,
            email=args.email or "",
            roles=args.role or [],
            scope=args.scope or [],
        )
        return [_row(added, "added")]
    if action == "set-scope":
        return [_row(users.set_scope(name, args.scope or []), "scope set")]
    if action == "set-role":
        return [_row(users.set_roles(name, args.role or []), "roles set")]
    if action == "unlock":
        cleared = sessions.unlock(_engine(args), name, actor=_actor())
        return [{"username": name, "failures_cleared": cleared, "status": "unlocked"}]
    if action == "sessions":
        return [
            {
                "username": name,
                "created_at": s.created_at.isoformat(),
                "last_seen_at": s.last_seen_at.isoformat(),
                "expires_at": s.expires_at.isoformat(),
                "address": s.address,
                "kind": s.kind,
            }
            for s in sessions.sessions_of(_engine(args), name)
        ]
    u: users.User | None = None
    if action == "set-password":
        u = users.set_password(name, _password(args))
    elif action in ("disable", "enable"):
        u = users.set_disabled(name, action == "disable")
    elif action == "remove":
        users.remove(name)
    elif action != "end-sessions":
        raise AssertionError(action)
    ended = sessions.end_user_sessions(_engine(args), name, actor=_actor(), reason=action)
    status = {"remove": "removed", "disable": "disabled", "enable": "enabled"}.get(action, action)
    row: dict[str, Any] = _row(u, status) if u else {"username": name, "status": status}
    row["sessions_ended"] = ended
    return [row]


def add_parsers(sub: Any) -> None:
    common = Parser(add_help=False)
    common.add_argument("--format", choices=("table", "csv", "json"), default="table")
    common.add_argument("--data", help="data folder whose users and store to use (default: data/)")
    p = sub.add_parser("users", help="manage users, roles, scopes, lockouts and sessions")
    usub = p.add_subparsers(dest="action", required=True, parser_class=Parser)
    usub.add_parser("list", parents=[common], help="every account, its status, lock and sessions")
    a = usub.add_parser("add", parents=[common], help="add an account (password policy checked)")
    a.add_argument("username")
    a.add_argument("--password", help="the password (else read from stdin or prompted)")
    a.add_argument("--name")
    a.add_argument("--email")
    a.add_argument("--role", action="append", help="repeatable: " + ", ".join(roles.ROLES))
    a.add_argument(
        "--scope",
        action="append",
        help="repeatable: world, region:<name>, country:<code>, agency:<name>; an advisor also "
        "advisor:<advisor_id> (their dashboards then show only the customers they served)",
    )
    s = usub.add_parser("set-scope", parents=[common])
    s.add_argument("username")
    s.add_argument("--scope", action="append", required=True)
    r = usub.add_parser("set-role", parents=[common])
    r.add_argument("username")
    r.add_argument("--role", action="append", required=True)
    pw = usub.add_parser("set-password", parents=[common], help="ends every session of the user")
    pw.add_argument("username")
    pw.add_argument("--password", help="the new password (else read from stdin or prompted)")
    for action, text in (
        ("disable", "refuse sign-in and end every session"),
        ("enable", "allow sign-in again"),
        ("unlock", "clear the failed sign-ins that locked the account"),
        ("sessions", "the user's live sessions"),
        ("end-sessions", "sign the user out everywhere"),
        ("remove", "delete the account and end its sessions"),
    ):
        sp = usub.add_parser(action, parents=[common], help=text)
        sp.add_argument("username")


COMMANDS: dict[str, Command] = {"users": cmd_users}
