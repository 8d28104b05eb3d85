"""Server-side sessions and sign-in throttling on the real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine

from cx import store
from cx.core import keys, users
from cx.core.scope import Scope
from cx.store import sessions
from cx.store.models import AuthSession, SignInAttempt

PASSWORD = "violet harbour 2026"


@pytest.fixture
def people(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A real (non-demo) users file with one account, the default for this test."""
    path = tmp_path / "users.yaml"
    monkeypatch.setenv("CX_USERS_FILE", str(path))
    monkeypatch.setenv("CX_DATA_DIR", str(tmp_path))
    users.add(
        "ana.lopez",
        password=PASSWORD,
        name="Ana",
        email="ana@example.test",
        roles=["agency_manager"],
        scope=["agency:Madrid"],
    )
    return path


def _signed_in(engine: Engine) -> str:
    result = sessions.sign_in(engine, "ana.lopez", PASSWORD, "10.0.0.1")
    assert result.user is not None, result.reason
    return sessions.open_session(engine, result.user, address="10.0.0.1")


def test_a_session_lives_in_the_store_and_a_copied_token_is_worthless_after_sign_out(
    engine: Engine, people: Path
) -> None:
    token = _signed_in(engine)
    assert sessions.resolve(engine, token).username == "ana.lopez"  # type: ignore[union-attr]
    with store.session(engine) as s:
        row = s.get(AuthSession, sessions._hash(token))
        assert row is not None and token not in row.token_hash  # only a keyed hash is stored
    sessions.end_session(engine, token)
    assert sessions.resolve(engine, token) is None
    assert sessions.resolve(engine, "a" * 43) is None and sessions.resolve(engine, None) is None


def test_remove_disable_and_a_new_password_end_every_session_of_the_user(
    engine: Engine, people: Path
) -> None:
    first, second = _signed_in(engine), _signed_in(engine)
    users.set_password("ana.lopez", "another long passphrase")
    assert sessions.resolve(engine, first) is None and sessions.resolve(engine, second) is None
    token = sessions.open_session(engine, users.get("ana.lopez"))  # type: ignore[arg-type]
    users.set_disabled("ana.lopez", True)
    assert sessions.resolve(engine, token) is None
    users.set_disabled("ana.lopez", False)
    token = sessions.open_session(engine, users.get("ana.lopez"))  # type: ignore[arg-type]
    users.remove("ana.lopez")
    assert sessions.resolve(engine, token) is None


def test_a_username_removed_and_added_again_does_not_inherit_the_old_sessions(
    engine: Engine, people: Path
) -> None:
    old = users.get("ana.lopez")
    assert old is not None
    token = sessions.open_session(engine, old)
    users.remove("ana.lopez")
    users.add(
        "ana.lopez",
        password="someone else entirely",
        name="Another Ana",
        email="",
        roles=["ceo"],
        scope=["world"],
    )
    assert sessions.resolve(engine, token) is None


def test_scope_and_role_changes_apply_at_the_next_lookup(engine: Engine, people: Path) -> None:
    token = _signed_in(engine)
    users.set_scope("ana.lopez", ["agency:Paris"])
    users.set_roles("ana.lopez", ["advisor"])
    user = sessions.resolve(engine, token)
    assert user is not None and str(user.scope) == "agency:Paris" and user.roles == ("advisor",)


def test_an_idle_or_expired_session_ends(
    engine: Engine, people: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    idle, old = _signed_in(engine), _signed_in(engine)
    with store.session(engine) as s:
        s.execute(
            update(AuthSession)
            .where(AuthSession.token_hash == sessions._hash(idle))  # type: ignore[arg-type]
            .values(last_seen_at=store.utcnow() - timedelta(hours=3))
        )
        s.execute(
            update(AuthSession)
            .where(AuthSession.token_hash == sessions._hash(old))  # type: ignore[arg-type]
            .values(expires_at=store.utcnow() - timedelta(seconds=1))
        )
    assert sessions.resolve(engine, idle) is None and sessions.resolve(engine, old) is None


def test_rotating_the_signing_key_ends_every_session(
    engine: Engine, people: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = _signed_in(engine)
    keys.signing_key.cache_clear()
    monkeypatch.setenv("CX_SIGNING_KEY", secrets.token_hex(32))  # another key of full strength
    try:
        assert sessions.resolve(engine, token) is None
    finally:
        keys.signing_key.cache_clear()


def _age_attempts(engine: Engine, minutes: float) -> None:
    with store.session(engine) as s:
        for row in s.query(SignInAttempt).all():
            row.at = row.at - timedelta(minutes=minutes)
            s.add(row)


@pytest.mark.parametrize("username", ["ana.lopez", "nobody.here"])
def test_five_failures_lock_the_username_even_for_the_right_password_until_the_window_passes(
    engine: Engine, people: Path, username: str
) -> None:
    delays = []
    for _ in range(4):
        result = sessions.sign_in(engine, username, "wrong password!!", "10.0.0.2")
        assert result.user is None and result.reason == "Username or password is incorrect."
        delays.append(result.delay)
    assert delays == [0.5, 1.0, 2.0, 4.0]  # a growing wait before each answer
    fifth = sessions.sign_in(engine, username, "wrong password!!", "10.0.0.2")
    assert "locked for 15 minutes" in fifth.reason and fifth.retry_after > 14 * 60
    right = sessions.sign_in(engine, username, PASSWORD, "10.0.0.3")
    assert right.user is None and "locked for 15 minutes" in right.reason  # same for unknown names
    _age_attempts(engine, 16)
    after = sessions.sign_in(engine, username, PASSWORD, "10.0.0.3")
    assert (after.user is not None) is (username == "ana.lopez")
    with store.session(engine) as s:
        actions = [a.action for a in store.audit_trail(s, Scope.world(), entity="user")]
    assert actions.count("sign_in_failed") >= 5 and "sign_in_locked" in actions


def test_an_administrator_unlocks_an_account(engine: Engine, people: Path) -> None:
    for _ in range(5):
        sessions.sign_in(engine, "ana.lopez", "wrong password!!", "10.0.0.4")
    assert sessions.lock_left(engine, "ana.lopez") > 0
    assert sessions.unlock(engine, "ana.lopez", actor="cli:root") == 5
    assert sessions.lock_left(engine, "ana.lopez") == 0
    assert sessions.sign_in(engine, "ana.lopez", PASSWORD, "10.0.0.4").user is not None


def test_one_address_is_refused_before_any_bcrypt_work_past_its_limit(
    engine: Engine, people: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CX_SIGNIN_ADDRESS_LIMIT", "3")
    for name in ("a.one", "b.two", "c.three"):
        sessions.sign_in(engine, name, "wrong password!!", "10.9.9.9")
    checks: list[str] = []
    monkeypatch.setattr(users, "verify", lambda *a, **k: checks.append("bcrypt"))
    limited = sessions.sign_in(engine, "ana.lopez", PASSWORD, "10.9.9.9")
    assert limited.limited and limited.user is None and checks == []
    assert "Too many sign-in attempts from your address" in limited.reason


def test_a_demo_account_signs_in_only_on_the_demo_data(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cx.demo.accounts import DEMO_PASSWORD, write_demo_users

    monkeypatch.delenv("CX_USERS_FILE")
    monkeypatch.setenv("CX_DATA_DIR", str(tmp_path))
    write_demo_users(tmp_path)
    assert sessions.sign_in(engine, "ceo", DEMO_PASSWORD, "10.0.0.5").user is not None
    token = sessions.open_session(engine, users.get("ceo"))  # type: ignore[arg-type]
    (tmp_path / users.DEMO_MARKER).unlink()  # the same folder, now holding real data
    assert sessions.sign_in(engine, "ceo", DEMO_PASSWORD, "10.0.0.5").user is None
    assert sessions.resolve(engine, token) is None
