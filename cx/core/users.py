"""Users, roles and geography scopes, stored beside their bcrypt-hashed passwords.

The file is ``<data>/users.yaml`` (or ``CX_USERS_FILE``), never in the repository: the demo
generator writes the demo accounts there (flagged ``demo: true``), and ``cx users add`` the real
ones. Its layout is streamlit-authenticator's (``credentials.usernames.<name>`` with a bcrypt
``password``), so a file made with its ``Hasher`` still works, plus our own fields per user:

- ``roles`` and ``scope`` (what the user may do, and where);
- ``stamp``: a random value renewed when the password changes, the account is disabled or
  re-created; a session remembers the stamp it was opened with and ends when it differs, so a
  username removed and re-added for someone else never inherits the old sessions;
- ``disabled`` and ``demo`` (a demo account signs in only while the app runs on the demo data).

Every change holds an exclusive lock on ``users.yaml.lock`` from read to write, and writes
atomically (temporary file, fsync, rename): two ``cx users`` at once never lose an account.
"""

from __future__ import annotations

import fcntl
import gzip
import os
import re
import secrets
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import bcrypt
import yaml

from cx.core import settings
from cx.core.roles import DASHBOARD_READERS, MANAGERS, OWN_DASHBOARDS, ROLES, USER_ADMINS
from cx.core.scope import Scope

USERS_FILE = "users.yaml"
BCRYPT_ROUNDS = 12
MIN_PASSWORD = 12
COMMON_PASSWORDS = Path(__file__).resolve().parents[1] / "config/passwords/common-passwords.txt.gz"
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,79}$")


class UserError(ValueError):
    """A bad user operation (unknown user, bad role, bad scope, bad name, weak password)."""


class UserForbidden(UserError, PermissionError):
    """The acting user may not manage this account."""


@dataclass(frozen=True)
class User:
    username: str
    name: str
    email: str
    roles: tuple[str, ...]
    scope: Scope
    stamp: str = ""
    disabled: bool = False
    demo: bool = False

    def has(self, *roles: str) -> bool:
        return any(r in self.roles for r in roles)

    @property
    def is_manager(self) -> bool:
        return self.has(*MANAGERS)


def analytics_scope(user: User) -> Scope:
    """The rows a user's dashboards are computed from: their scope; for an advisor only the
    customers they served (the scope's ``advisor:<id>`` entries), and nothing when the account
    has no advisor id (never the agency's figures shown as theirs).

    >>> adv = User("a", "A", "", ("advisor",), Scope.parse("agency:Madrid,advisor:MAD-03"))
    >>> str(analytics_scope(adv))
    'agency:Madrid,advisor:MAD-03'
    >>> analytics_scope(User("b", "B", "", ("advisor",), Scope.parse("agency:Madrid"))).is_empty
    True
    """
    if user.has(*OWN_DASHBOARDS) and not user.has(*DASHBOARD_READERS) and not user.scope.staff:
        return Scope()
    return user.scope


def users_file(path: str | Path | None = None) -> Path:
    """``path``, else ``CX_USERS_FILE``, else ``users.yaml`` in the data folder."""
    if path or os.environ.get("CX_USERS_FILE"):
        return Path(path or os.environ["CX_USERS_FILE"])
    from cx.core.data import data_dir

    return data_dir() / USERS_FILE


def _empty() -> dict[str, Any]:
    return {"credentials": {"usernames": {}}}


def load_config(path: str | Path | None = None) -> dict[str, Any]:
    """The whole users file as a dict."""
    p = users_file(path)
    if not p.exists():
        return _empty()
    loaded = yaml.safe_load(p.read_text(encoding="utf-8"))
    return loaded if isinstance(loaded, dict) else _empty()


def _save(config: dict[str, Any], p: Path) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".users-", dir=p.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            yaml.safe_dump(config, fh, allow_unicode=True, sort_keys=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def _editing(path: str | Path | None) -> Iterator[dict[str, dict[str, Any]]]:
    """The ``usernames`` mapping, locked from read to write; saved when the block succeeds."""
    p = users_file(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with open(p.with_name(p.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        config = load_config(p)
        usernames = config.setdefault("credentials", {}).setdefault("usernames", {})
        yield usernames
        _save(config, p)


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
        stamp=str(raw.get("stamp") or ""),
        disabled=bool(raw.get("disabled")),
        demo=bool(raw.get("demo")),
    )


def get(username: str | None, path: str | Path | None = None) -> User | None:
    """The user, or None when unknown."""
    if not username:
        return None
    raw = load_config(path).get("credentials", {}).get("usernames", {}).get(username)
    return _to_user(username, raw) if isinstance(raw, dict) else None


def all_users(path: str | Path | None = None) -> list[User]:
    users = load_config(path).get("credentials", {}).get("usernames", {})
    return [_to_user(u, raw) for u, raw in sorted(users.items()) if isinstance(raw, dict)]


def bcrypt_rounds() -> int:
    """The bcrypt cost (``CX_BCRYPT_ROUNDS``, default 12; the test suite lowers it for speed)."""
    return settings.whole("CX_BCRYPT_ROUNDS", BCRYPT_ROUNDS, minimum=4, maximum=16)


def hash_password(password: str, rounds: int | None = None) -> str:
    """A bcrypt hash, as streamlit-authenticator's ``Hasher.hash`` makes it."""
    salt = bcrypt.gensalt(rounds=rounds or bcrypt_rounds())
    return bcrypt.hashpw(password.encode(), salt).decode()


@cache
def _dummy_hash(rounds: int) -> bytes:
    """A hash of a random password at the same cost as real ones: an unknown username is
    checked against it, so it costs the same bcrypt time as a known one."""
    return hash_password(secrets.token_urlsafe(24), rounds).encode()


def verify(username: str, password: str, path: str | Path | None = None) -> User | None:
    """The user when ``password`` is theirs, else None; one bcrypt check either way."""
    raw = load_config(path).get("credentials", {}).get("usernames", {}).get(username)
    stored = raw.get("password") if isinstance(raw, dict) else None
    try:
        hashed = str(stored).encode() if stored else _dummy_hash(bcrypt_rounds())
        ok = bcrypt.checkpw(password.encode()[:72], hashed)
    except ValueError:  # a malformed stored hash: refuse, at the same cost
        bcrypt.checkpw(password.encode()[:72], _dummy_hash(bcrypt_rounds()))
        ok = False
    if not ok or not isinstance(raw, dict):
        return None
    return _to_user(username, raw)


@cache
def _common_passwords() -> frozenset[str]:
    with gzip.open(COMMON_PASSWORDS, "rt", encoding="utf-8") as fh:
        return frozenset(line.strip().lower() for line in fh if line.strip())


def check_password(password: str, username: str = "") -> None:
    """Refuse a weak password with a one-line reason.

    >>> check_password("correct horse battery")
    >>> check_password("short")
    Traceback (most recent call last):
    ...
    cx.core.users.UserError: password too short: at least 12 characters
    >>> check_password("password1234")
    Traceback (most recent call last):
    ...
    cx.core.users.UserError: password refused: it is in the list of common passwords
    """
    if len(password) < MIN_PASSWORD:
        raise UserError(f"password too short: at least {MIN_PASSWORD} characters")
    low = password.lower()
    core = low.rstrip("0123456789!?.*#$@_- ")
    if low in _common_passwords() or core in _common_passwords():
        raise UserError("password refused: it is in the list of common passwords")
    if username and username.lower() in low:
        raise UserError("password refused: it contains the username")
    if len(set(password)) < 5:
        raise UserError("password refused: too few different characters")


def _check_roles(roles: list[str]) -> list[str]:
    if not roles:
        raise UserError(f"a user needs at least one role: {', '.join(ROLES)}")
    bad = [r for r in roles if r not in ROLES]
    if bad:
        raise UserError(f"unknown role {bad[0]!r}; roles are {', '.join(ROLES)}")
    return list(dict.fromkeys(roles))


def _scope_entries(scope: list[str]) -> list[str]:
    try:
        parsed = Scope.parse(scope)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if parsed.staff and parsed.is_empty:
        raise UserError("an advisor: entry narrows a geography: give the agency too")
    return parsed.specs()


def authorize(by: User | None, target_scope: list[str] | Scope, username: str = "") -> None:
    """Deny by default: only an administrator whose scope holds the account's scope manages it
    (a user may change their own password). ``by=None`` is the shell operator of ``cx users``,
    who holds the files already."""
    if by is None:
        return
    scope = target_scope if isinstance(target_scope, Scope) else Scope.parse(target_scope)
    if username and username == by.username and not by.disabled and scope == by.scope:
        return  # one's own password
    if not by.has(*USER_ADMINS) or by.disabled:
        raise UserForbidden(f"{by.username} may not manage accounts")
    from cx.core import org
    from cx.core.data import data_dir

    if not org.within(scope, by.scope, org.load(data_dir())):
        raise UserForbidden(f"{by.username} may not manage an account of {scope or 'no scope'}")


def add(
    username: str,
    *,
    password: str,
    name: str,
    email: str,
    roles: list[str],
    scope: list[str],
    demo: bool = False,
    by: User | None = None,
    path: str | Path | None = None,
) -> User:
    """Add a user with a bcrypt-hashed password; refuse an existing or malformed name and a
    weak password (demo accounts excepted: they exist only in demo mode)."""
    if not _USERNAME.match(username):
        raise UserError(f"bad username {username!r}: 2-80 of a-z 0-9 . _ @ -")
    authorize(by, _scope_entries(scope))
    if get(username, path) is not None:
        raise UserError(f"user {username!r} already exists")
    if not demo:
        check_password(password, username)
    record: dict[str, Any] = {
        "name": name,
        "email": email,
        "password": hash_password(password),
        "roles": _check_roles(roles),
        "scope": _scope_entries(scope),
        "stamp": secrets.token_hex(8),
    }
    if demo:
        record["demo"] = True
    with _editing(path) as users:
        if username in users:
            raise UserError(f"user {username!r} already exists")
        users[username] = record
    return _to_user(username, record)


def _change(
    username: str,
    path: str | Path | None,
    edit: Callable[[dict[str, Any]], None],
    by: User | None = None,
    self_service: bool = False,
) -> User:
    with _editing(path) as users:
        raw = users.get(username)
        if not isinstance(raw, dict):
            raise UserError(f"unknown user {username!r}")
        current = _to_user(username, raw)
        authorize(by, current.scope, username if self_service else "")
        edit(raw)
    return _to_user(username, raw)


def set_scope(
    username: str, scope: list[str], path: str | Path | None = None, *, by: User | None = None
) -> User:
    entries = _scope_entries(scope)
    authorize(by, entries)
    return _change(username, path, lambda raw: raw.__setitem__("scope", entries), by)


def set_roles(
    username: str, roles: list[str], path: str | Path | None = None, *, by: User | None = None
) -> User:
    checked = _check_roles(roles)
    if by is not None and "admin" in checked and not by.has("admin"):
        raise UserForbidden(f"{by.username} may not make administrators")
    return _change(username, path, lambda raw: raw.__setitem__("roles", checked), by)


def set_password(
    username: str, password: str, path: str | Path | None = None, *, by: User | None = None
) -> User:
    """A new password (policy checked); the new stamp ends every session of the user."""
    check_password(password, username)
    hashed = hash_password(password)

    def edit(raw: dict[str, Any]) -> None:
        raw.update(password=hashed, stamp=secrets.token_hex(8))
        raw.pop("demo", None)

    return _change(username, path, edit, by, self_service=True)


def set_disabled(
    username: str, disabled: bool, path: str | Path | None = None, *, by: User | None = None
) -> User:
    """Disable (or enable again) an account; either way its sessions end."""

    def edit(raw: dict[str, Any]) -> None:
        raw["stamp"] = secrets.token_hex(8)
        if disabled:
            raw["disabled"] = True
        else:
            raw.pop("disabled", None)

    return _change(username, path, edit, by)


def remove(username: str, path: str | Path | None = None, *, by: User | None = None) -> None:
    with _editing(path) as users:
        raw = users.get(username)
        if not isinstance(raw, dict):
            raise UserError(f"unknown user {username!r}")
        authorize(by, _to_user(username, raw).scope)
        del users[username]


DEMO_MARKER = ".cx-demo"


def demo_mode(root: str | Path | None = None) -> bool:
    """True when the app runs on the demo dataset it generated (its marker file is in the data
    folder) or ``CX_DEMO=1``: only then do demo accounts sign in."""
    if os.environ.get("CX_DEMO") == "1":
        return True
    from cx.core.data import data_dir

    return (data_dir(root) / DEMO_MARKER).exists()
