"""REST API tokens: made once (the token is shown to its maker only), stored as a keyed hash,
scoped and given a role like a user, revoked by name.

A token is ``cxt_`` followed by 32 random bytes (URL-safe base64); the store keeps only
:func:`cx.core.keys.keyed_hash` of it, so a copy of the database does not open the API.
Making and ending one is a user admin's act (checked here, not only on the screen) or the
shell's (``cx tokens``, whose caller holds the database anyway); both are audited.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from cx.core import data
from cx.core import org as org_mod
from cx.core.roles import ROLES, USER_ADMINS
from cx.core.scope import Scope
from cx.core.users import User
from cx.store.audit import audit
from cx.store.models import ApiToken, utcnow

PREFIX = "cxt_"
PURPOSE = "api-token"
SHELL = "cli"
"""The one actor named by text: the ``cx tokens`` command of the deployment's shell."""
TOUCH_EVERY = timedelta(minutes=1)
"""``last_used_at`` is written at most once a minute per token (reads stay reads)."""
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


class TokenError(ValueError):
    """A bad token operation (name taken or malformed, unknown token, bad role or scope)."""


class TokenForbidden(PermissionError):
    """The acting user may not make or end this token (not a user admin, or outside their scope)."""


def _actor(by: User | str, scope: Scope | None = None) -> str:
    """The acting user's name once their right is checked: a user admin whose own scope holds
    the token's scope (``scope``: the token's, when making one), or the shell."""
    if isinstance(by, str):
        if by != SHELL:
            raise TokenForbidden(
                f"a token is made or ended by a user admin or {SHELL!r}, not {by!r}"
            )
        return by
    if not by.has(*USER_ADMINS):
        raise TokenForbidden(
            f"{by.username} may not manage API tokens (roles {', '.join(USER_ADMINS)})"
        )
    if (
        scope is not None
        and not by.scope.is_world
        and not org_mod.within(scope, by.scope, org_mod.load(data.data_dir()))
    ):
        raise TokenForbidden(f"{by.username} may not make a token for {scope}: outside their scope")
    return by.username


def token_hash(token: str) -> str:
    from cx.core import keys

    return keys.keyed_hash(token, PURPOSE)


def _check(name: str, scope: str, role: str) -> str:
    if not _NAME.match(name):
        raise TokenError(
            f"bad token name {name!r}: lower-case letters, digits, '.', '_' or '-' (at most 64)"
        )
    if role not in ROLES:
        raise TokenError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    try:
        parsed = Scope.parse(scope)
    except ValueError as exc:
        raise TokenError(str(exc)) from None
    if parsed.is_empty:
        raise TokenError(
            "a token needs a scope: world, region:<name>, country:<code> or agency:<name>"
        )
    return str(parsed)


def create(s: Session, name: str, scope: str, role: str = "analyst", *, by: User | str) -> str:
    """Store a new token named ``name`` and return it (the only time it is seen); ``by`` is the
    acting user (a user admin whose scope holds ``scope``) or :data:`SHELL`."""
    name = name.strip().lower()
    canonical = _check(name, scope, role)
    actor = _actor(by, Scope.parse(canonical))
    if s.exec(select(ApiToken).where(ApiToken.name == name)).first() is not None:
        raise TokenError(f"a token named {name!r} exists already; revoke it or choose another name")
    token = PREFIX + secrets.token_urlsafe(32)
    s.add(
        ApiToken(
            name=name, token_hash=token_hash(token), scope=canonical, role=role, created_by=actor
        )
    )
    audit(
        s,
        actor=actor,
        action="token.create",
        entity="api_token",
        entity_id=name,
        detail={"scope": canonical, "role": role},
    )
    try:
        s.commit()
    except IntegrityError:
        s.rollback()
        raise TokenError(f"a token named {name!r} exists already") from None
    return token


def revoke(s: Session, name: str, *, by: User | str, now: datetime | None = None) -> ApiToken:
    """End the token ``name`` (kept for the audit trail, never usable again); ``by`` as in
    :func:`create`, whose scope must hold the token's."""
    found = s.exec(select(ApiToken).where(ApiToken.name == name.strip().lower())).first()
    if found is None:
        raise TokenError(f"unknown token {name!r}")
    actor = _actor(by, scope_of(found))
    if found.revoked_at is None:
        found.revoked_at = now or utcnow()
        s.add(found)
        audit(s, actor=actor, action="token.revoke", entity="api_token", entity_id=found.name)
        s.commit()
        s.refresh(found)
    return found


def resolve(s: Session, token: str, now: datetime | None = None) -> ApiToken | None:
    """The live token matching ``token``, or None (unknown, malformed or revoked)."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    found = s.exec(
        select(ApiToken).where(
            ApiToken.token_hash == token_hash(token), col(ApiToken.revoked_at).is_(None)
        )
    ).first()
    if found is None:
        return None
    now = now or utcnow()
    if found.last_used_at is None or now - found.last_used_at >= TOUCH_EVERY:
        found.last_used_at = now
        s.add(found)
        s.commit()
        s.refresh(found)
    return found


def list_tokens(s: Session) -> list[ApiToken]:
    """Every token, live ones first, then by name."""
    rows = list(s.exec(select(ApiToken)))
    return sorted(rows, key=lambda t: (t.revoked_at is not None, t.name))


def scope_of(token: ApiToken) -> Scope:
    """The token's scope; an unreadable one sees nothing (deny by default)."""
    try:
        return Scope.parse(token.scope)
    except ValueError:
        return Scope()
