"""Users, roles and geography scopes, stored beside the bcrypt-hashed credentials.

The file (default ``.streamlit/users.yaml``, or ``CX_USERS_FILE``) has the layout
streamlit-authenticator reads (``credentials.usernames.<name>``) plus our own ``roles`` and
``scope`` per user. Writes are atomic (temporary file, then rename).
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bcrypt
import yaml

from cx.core.roles import MANAGERS, ROLES
from cx.core.scope import Scope

DEFAULT_FILE = Path(".streamlit/users.yaml")
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,39}$")


class UserError(ValueError):
    """A bad user operation (unknown user, bad role, bad scope, bad name)."""


@dataclass(frozen=True)
class User:
    username: str
    name: str
    email: str
    roles: tuple[str, ...]
    scope: Scope

    def has(self, *roles: str) -> bool:
        return any(r in self.roles for r in roles)

    @property
    def is_manager(self) -> bool:
        return self.has(*MANAGERS)


def users_file(path: str | Path | None = None) -> Path:
    return Path(path or os.environ.get("CX_USERS_FILE") or DEFAULT_FILE)


def load_config(path: str | Path | None = None) -> dict[str, Any]:
    """The whole users file as a dict (credentials + cookie settings)."""
    p = users_file(path)
    if not p.exists():
        return {
            "cookie": {"name": "cx_review_auth", "expiry_days": 7},
            "credentials": {"usernames": {}},
        }
    return yaml.safe_load(p.read_text(encoding="utf-8")) or {}


def save_config(config: dict[str, Any], path: str | Path | None = None) -> None:
    p = users_file(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".users-", dir=p.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        yaml.safe_dump(config, fh, allow_unicode=True, sort_keys=False)
    os.replace(tmp, p)


def _to_user(username: str, raw: dict[str, Any]) -> User:
    try:
        scope = Scope.parse(raw.get("scope") or [])
    except ValueError:
        scope = Scope()  # an unreadable scope sees nothing (deny by default)
    return User(
        username=username,
        name=str(raw.get("name") or username),
        email=str(raw.get("email") or ""),
        roles=tuple(str(r) for r in raw.get("roles") or ()),
        scope=scope,
    )


def get(username: str | None, path: str | Path | None = None) -> User | None:
    """The user, or None when unknown."""
    if not username:
        return None
    raw = load_config(path).get("credentials", {}).get("usernames", {}).get(username)
    return _to_user(username, raw) if raw else None


def all_users(path: str | Path | None = None) -> list[User]:
    users = load_config(path).get("credentials", {}).get("usernames", {})
    return [_to_user(u, raw) for u, raw in sorted(users.items())]


def hash_password(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=12)).decode()


def _check_roles(roles: list[str]) -> list[str]:
    bad = [r for r in roles if r not in ROLES]
    if bad:
        raise UserError(f"unknown role {bad[0]!r}; roles are {', '.join(ROLES)}")
    return roles


def add(
    username: str,
    *,
    password: str,
    name: str,
    email: str,
    roles: list[str],
    scope: list[str],
    path: str | Path | None = None,
) -> User:
    """Add a user with a bcrypt-hashed password; refuse an existing or malformed name."""
    if not _USERNAME.match(username):
        raise UserError(f"bad username {username!r}: 2-40 of a-z 0-9 . _ -")
    if len(password) < 6:
        raise UserError("password too short: at least 6 characters")
    config = load_config(path)
    users = config.setdefault("credentials", {}).setdefault("usernames", {})
    if username in users:
        raise UserError(f"user {username!r} already exists")
    parsed = Scope.parse(scope)
    users[username] = {
        "name": name,
        "email": email,
        "password": hash_password(password),
        "roles": _check_roles(roles),
        "scope": [str(e) for e in parsed.entries],
    }
    save_config(config, path)
    return _to_user(username, users[username])


def set_scope(username: str, scope: list[str], path: str | Path | None = None) -> User:
    config = load_config(path)
    users = config.get("credentials", {}).get("usernames", {})
    if username not in users:
        raise UserError(f"unknown user {username!r}")
    users[username]["scope"] = [str(e) for e in Scope.parse(scope).entries]
    save_config(config, path)
    return _to_user(username, users[username])


def remove(username: str, path: str | Path | None = None) -> None:
    config = load_config(path)
    users = config.get("credentials", {}).get("usernames", {})
    if username not in users:
        raise UserError(f"unknown user {username!r}")
    del users[username]
    save_config(config, path)


DEMO_USERS: list[dict[str, Any]] = [
    {"username": "ceo", "name": "Carmen Ortega (CEO)", "roles": ["ceo"], "scope": ["world"]},
    {
        "username": "es.manager",
        "name": "Javier Ruiz (Spain)",
        "roles": ["country_manager"],
        "scope": ["country:ES"],
    },
    {
        "username": "fr.manager",
        "name": "Claire Dubois (France)",
        "roles": ["country_manager"],
        "scope": ["country:FR"],
    },
    {
        "username": "madrid.manager",
        "name": "Lucía Fernández (Madrid)",
        "roles": ["agency_manager"],
        "scope": ["agency:Madrid"],
    },
    {
        "username": "paris.manager",
        "name": "Hugo Bernard (Paris)",
        "roles": ["agency_manager"],
        "scope": ["agency:Paris"],
    },
    {
        "username": "madrid.advisor",
        "name": "Pablo Navarro (Madrid advisor)",
        "roles": ["advisor"],
        "scope": ["agency:Madrid"],
    },
    {
        "username": "madrid.teleop",
        "name": "Elena Martín (Madrid teleoperator)",
        "roles": ["teleoperator"],
        "scope": ["agency:Madrid"],
    },
    {
        "username": "analyst",
        "name": "Sam Analyst (data admin)",
        "roles": ["analyst"],
        "scope": ["world"],
    },
]
