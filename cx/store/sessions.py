"""Server-side sessions and sign-in throttling, in the operational store.

A session is a random token in an HttpOnly cookie; the store keeps only its keyed hash, the
user, the account stamp it was opened with, its expiry and its last use. :func:`resolve` checks
all of them on every script run, so a sign-out, ``cx users remove|disable``, a password change
or a key rotation ends the session at the user's next click, and a copied cookie is worth
nothing once its session has ended.

Sign-in: :func:`sign_in` counts failures per username and per client address. After
``LOCK_AFTER`` failures within :func:`window` the username is locked for :func:`lock_for` (even the
right password is refused, with the time left); each failure before that adds a growing delay
the server waits (without CPU) before answering; one address may try :func:`address_limit` times per
``ADDRESS_WINDOW`` before it is refused without any bcrypt work. Unknown usernames are counted
and locked the same way and cost the same bcrypt time, so neither timing nor lockout tells
whether a username exists. Every outcome is in the audit log.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, func, update
from sqlmodel import Session, select

from cx.core import keys, settings, users
from cx.core.users import User
from cx.store.audit import audit
from cx.store.engine import session
from cx.store.models import AuthSession, SignInAttempt, utcnow

COOKIE = "cx_session"
LOCK_AFTER = 5
ADDRESS_WINDOW = timedelta(minutes=5)
TOUCH_EVERY = timedelta(seconds=60)
_BCRYPT_SLOTS = threading.BoundedSemaphore(2)  # at most two bcrypt checks at once per process


def _minutes_env(name: str, default: float) -> timedelta:
    return timedelta(minutes=settings.number(name, default, minimum=0.0))


def window() -> timedelta:
    """Failures count within this window (``CX_SIGNIN_WINDOW_MINUTES``, default 15)."""
    return _minutes_env("CX_SIGNIN_WINDOW_MINUTES", 15)


def lock_for() -> timedelta:
    """How long a username stays locked (``CX_SIGNIN_LOCK_MINUTES``, default 15)."""
    return _minutes_env("CX_SIGNIN_LOCK_MINUTES", 15)


def address_limit() -> int:
    """Attempts one address may make per 5 minutes (``CX_SIGNIN_ADDRESS_LIMIT``, default 30)."""
    return settings.whole("CX_SIGNIN_ADDRESS_LIMIT", 30, minimum=1)


def lifetime() -> timedelta:
    """Absolute lifetime of a session (``CX_SESSION_HOURS``, default 12)."""
    return timedelta(hours=settings.number("CX_SESSION_HOURS", 12, minimum=0.0))


def idle_timeout() -> timedelta:
    """A session unused this long ends (``CX_SESSION_IDLE_MINUTES``, default 120)."""
    return timedelta(minutes=settings.number("CX_SESSION_IDLE_MINUTES", 120, minimum=0.0))


def _hash(token: str) -> str:
    return keys.keyed_hash(token, "session")


# ------------------------------------------------------------------------------------- sessions


def open_session(
    engine: Engine,
    user: User,
    *,
    address: str = "",
    user_agent: str = "",
    kind: str = "password",
    token: str | None = None,
) -> str:
    """Open a session for ``user``; returns the token for the browser (shown nowhere else)."""
    token = token or secrets.token_urlsafe(32)
    now = utcnow()
    with session(engine) as s:
        s.merge(
            AuthSession(
                token_hash=_hash(token),
                username=user.username,
                stamp=user.stamp,
                kind=kind,
                created_at=now,
                last_seen_at=now,
                expires_at=now + lifetime(),
                address=address[:64],
                user_agent=user_agent[:200],
            )
        )
        audit(
            s,
            actor=user.username,
            action="session_opened",
            entity="user",
            entity_id=user.username,
            detail={"kind": kind, "address": address[:64]},
        )
        s.commit()
    return token


def resolve(engine: Engine, token: str | None, sso_user: User | None = None) -> User | None:
    """The user of a live session, or None (and the session ended when it no longer holds).

    A single sign-on session's user is ``sso_user``, mapped from the provider's claims on this
    run (None when they no longer map to a role)."""
    if not token:
        return None
    key = _hash(token)
    now = utcnow()
    with session(engine) as s:
        row = s.get(AuthSession, key)
        if row is None:
            return None
        user = sso_user if row.kind == "sso" else users.get(row.username)
        if user is not None and user.username != row.username:
            user = None
        alive = (
            user is not None
            and not user.disabled
            and (not user.demo or users.demo_mode())
            and user.stamp == row.stamp
            and row.expires_at > now
            and now - row.last_seen_at <= idle_timeout()
        )
        if not alive:
            _end(s, row)
            s.commit()
            return None
        if now - row.last_seen_at >= TOUCH_EVERY:
            row.last_seen_at = now
            s.add(row)
            s.commit()
        return user


def _end(s: Session, row: AuthSession) -> None:
    """End one session. A single sign-on session is kept, expired, as a tombstone: the
    provider's signed cookie outlives it, and a copy of that cookie must not open it again."""
    if row.kind == "sso":
        row.expires_at = utcnow()
        s.add(row)
    else:
        s.delete(row)


def is_known(engine: Engine, token: str) -> bool:
    """True when a session (live or ended) was ever opened with this token."""
    with session(engine) as s:
        return s.get(AuthSession, _hash(token)) is not None


def end_session(engine: Engine, token: str | None, actor: str = "") -> None:
    """Sign out: the session is gone from the store, its cookie worthless."""
    if not token:
        return
    with session(engine) as s:
        row = s.get(AuthSession, _hash(token))
        if row is not None and row.expires_at > utcnow():
            _end(s, row)
            audit(
                s,
                actor=actor or row.username,
                action="session_ended",
                entity="user",
                entity_id=row.username,
            )
            s.commit()


def end_user_sessions(
    engine: Engine, username: str, *, actor: str, keep: str | None = None, reason: str = ""
) -> int:
    """End every session of ``username`` (but ``keep``, a token); returns how many ended."""
    with session(engine) as s:
        stmt = select(AuthSession).where(
            AuthSession.username == username, AuthSession.expires_at > utcnow()
        )
        if keep:
            stmt = stmt.where(AuthSession.token_hash != _hash(keep))
        rows = s.exec(stmt).all()
        for row in rows:
            _end(s, row)
        ended = len(rows)
        audit(
            s,
            actor=actor,
            action="sessions_ended",
            entity="user",
            entity_id=username,
            detail={"sessions": ended, "reason": reason},
        )
        s.commit()
    return int(ended or 0)


@dataclass(frozen=True)
class SessionInfo:
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    address: str
    user_agent: str
    kind: str
    current: bool


def sessions_of(engine: Engine, username: str, current: str | None = None) -> list[SessionInfo]:
    """The live sessions of one user (newest use first), the caller's own marked."""
    mine = _hash(current) if current else None
    now = utcnow()
    with session(engine) as s:
        rows = s.exec(
            select(AuthSession)
            .where(AuthSession.username == username, AuthSession.expires_at > now)
            .order_by(AuthSession.last_seen_at.desc())  # type: ignore[attr-defined]
        ).all()
        return [
            SessionInfo(
                r.created_at,
                r.last_seen_at,
                r.expires_at,
                r.address,
                r.user_agent,
                r.kind,
                r.token_hash == mine,
            )
            for r in rows
        ]


# -------------------------------------------------------------------------------------- sign-in


@dataclass(frozen=True)
class SignIn:
    """The outcome of one attempt: the user, or why not, and how long to wait."""

    user: User | None = None
    reason: str = ""
    retry_after: float = 0.0  # seconds before another attempt may succeed (lock or rate limit)
    delay: float = 0.0  # seconds the server waits before answering a failure
    limited: bool = False  # refused for the address's rate, before any password check


def _failures(s: object, username: str, since: datetime) -> list[datetime]:
    """Failure times of ``username`` since ``since`` and since its last success or unlock."""
    last_ok = s.exec(  # type: ignore[attr-defined]
        select(func.max(SignInAttempt.at)).where(
            SignInAttempt.username == username,
            SignInAttempt.ok == True,  # noqa: E712
        )
    ).one()
    start = max(since, last_ok) if last_ok else since
    rows = s.exec(  # type: ignore[attr-defined]
        select(SignInAttempt.at).where(
            SignInAttempt.username == username,
            SignInAttempt.ok == False,  # noqa: E712
            SignInAttempt.cleared == False,  # noqa: E712
            SignInAttempt.at > start,
        )
    ).all()
    return sorted(rows)


def _minutes(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _lock_left(fails: list[datetime], now: datetime) -> float:
    """Seconds left on a lock, from the username's failure times (0 when not locked): locked
    from the ``LOCK_AFTER``-th failure within one window, for :func:`lock_for`."""
    for i in range(len(fails) - LOCK_AFTER + 1):
        if fails[i + LOCK_AFTER - 1] - fails[i] <= window():
            until = fails[i + LOCK_AFTER - 1] + lock_for()
            if until > now:
                return (until - now).total_seconds()
    return 0.0


def lock_left(engine: Engine, username: str) -> float:
    """Seconds left on the username's lock (0 when not locked)."""
    now = utcnow()
    with session(engine) as s:
        return _lock_left(_failures(s, username, now - window() - lock_for()), now)


def sign_in(engine: Engine, username: str, password: str, address: str = "") -> SignIn:
    """Check a password with lockout, rate limit and equal cost for unknown usernames."""
    username = (username or "").strip().lower()[:80]
    now = utcnow()
    with session(engine) as s:
        tries = s.exec(
            select(func.count())
            .select_from(SignInAttempt)
            .where(SignInAttempt.address == address, SignInAttempt.at > now - ADDRESS_WINDOW)
        ).one()
    if address and tries >= address_limit():
        with session(engine) as s:
            audit(
                s,
                actor=username or "anonymous",
                action="sign_in_rate_limited",
                entity="user",
                entity_id=username,
                detail={"address": address},
            )
            s.commit()
        return SignIn(
            reason="Too many sign-in attempts from your address: wait a few minutes.",
            retry_after=ADDRESS_WINDOW.total_seconds(),
            limited=True,
        )
    left = lock_left(engine, username)
    with _BCRYPT_SLOTS:
        # the check runs even when locked: a locked username costs the same as any other
        user = users.verify(username, password) if username and password else None
    if user is not None and (user.disabled or (user.demo and not users.demo_mode())):
        user = None
    ok = user is not None and left == 0.0
    with session(engine) as s:
        s.add(SignInAttempt(username=username, address=address, ok=ok, at=now))
        s.flush()
        # this attempt included: the lock it may start, and how many failures the window holds
        fails = [] if ok else _failures(s, username, now - window() - lock_for())
        action = "sign_in" if ok else ("sign_in_locked" if left else "sign_in_failed")
        audit(
            s,
            actor=username or "anonymous",
            action=action,
            entity="user",
            entity_id=username,
            detail={"address": address},
        )
        s.commit()
    if ok:
        return SignIn(user=user)
    if left:
        return SignIn(
            reason=f"Too many failed attempts: this account is locked for {_minutes(left)}.",
            retry_after=left,
        )
    after = _lock_left(fails, now)
    if after:
        return SignIn(
            reason=f"Too many failed attempts: this account is locked for {_minutes(after)}.",
            retry_after=after,
            delay=1.0,
        )
    count = sum(1 for f in fails if f > now - window())
    return SignIn(
        reason="Username or password is incorrect.", delay=min(0.5 * 2 ** (count - 1), 4.0)
    )


def unlock(engine: Engine, username: str, *, actor: str) -> int:
    """An administrator clears the username's failures; returns how many were cleared."""
    with session(engine) as s:
        cleared = s.execute(
            update(SignInAttempt)
            .where(
                SignInAttempt.username == username,  # type: ignore[arg-type]
                SignInAttempt.ok == False,  # type: ignore[arg-type]  # noqa: E712
                SignInAttempt.cleared == False,  # type: ignore[arg-type]  # noqa: E712
            )
            .values(cleared=True)
        ).rowcount  # type: ignore[attr-defined]
        audit(
            s,
            actor=actor,
            action="unlocked",
            entity="user",
            entity_id=username,
            detail={"failures_cleared": cleared},
        )
        s.commit()
    return int(cleared or 0)


def prune(engine: Engine, older_than: timedelta = timedelta(days=30)) -> None:
    """Drop expired sessions and old attempts (the audit log keeps the history)."""
    now = utcnow()
    with session(engine) as s:
        s.execute(delete(AuthSession).where(AuthSession.expires_at < now - older_than))  # type: ignore[arg-type]
        s.execute(delete(SignInAttempt).where(SignInAttempt.at < now - older_than))  # type: ignore[arg-type]
        s.commit()
