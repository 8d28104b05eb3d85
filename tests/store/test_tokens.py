"""API tokens: shown once, stored hashed, resolved while live, revoked for good."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from cx import store
from cx.core.scope import Scope
from cx.core.users import User
from cx.store import tokens
from cx.store.models import ApiToken, AuditLog, utcnow


def person(roles: tuple[str, ...], scope: str) -> User:
    return User(username="pat", name="Pat", email="", roles=roles, scope=Scope.parse(scope))


def test_create_stores_only_the_hash_and_resolves(sqlite_engine: Engine) -> None:
    with store.session(sqlite_engine) as s:
        token = tokens.create(s, "crm", "country:ES", "analyst", by=tokens.SHELL)
        row = s.exec(select(ApiToken)).one()
        assert token.startswith("cxt_") and token not in row.token_hash
        assert row.scope == "country:ES" and row.created_by == "cli"
        found = tokens.resolve(s, token)
        assert found is not None and found.name == "crm" and found.last_used_at is not None
        assert tokens.resolve(s, token + "x") is None
        assert tokens.resolve(s, "not-a-token") is None


def test_last_used_is_written_at_most_once_a_minute(sqlite_engine: Engine) -> None:
    with store.session(sqlite_engine) as s:
        token = tokens.create(s, "bi", "world", "analyst", by=tokens.SHELL)
        now = utcnow()
        first = tokens.resolve(s, token, now=now)
        assert first is not None and first.last_used_at == now
        again = tokens.resolve(s, token, now=now + timedelta(seconds=30))
        assert again is not None and again.last_used_at == now
        later = tokens.resolve(s, token, now=now + timedelta(minutes=2))
        assert later is not None and later.last_used_at == now + timedelta(minutes=2)


def test_revoked_token_is_refused_and_names_are_unique(sqlite_engine: Engine) -> None:
    with store.session(sqlite_engine) as s:
        token = tokens.create(s, "old", "world", "analyst", by=tokens.SHELL)
        with pytest.raises(tokens.TokenError, match="exists already"):
            tokens.create(s, "old", "world", "analyst", by=tokens.SHELL)
        tokens.revoke(s, "old", by=tokens.SHELL)
        assert tokens.resolve(s, token) is None
        assert [t.name for t in tokens.list_tokens(s)] == ["old"]
        with pytest.raises(tokens.TokenError, match="unknown token"):
            tokens.revoke(s, "nobody", by=tokens.SHELL)


@pytest.mark.parametrize(
    ("name", "scope", "role", "reason"),
    [
        ("Bad Name", "world", "analyst", "bad token name"),
        ("ok", "", "analyst", "needs a scope"),
        ("ok", "planet:x", "analyst", "bad scope"),
        ("ok", "world", "wizard", "unknown role"),
    ],
)
def test_bad_tokens_are_refused(
    sqlite_engine: Engine, name: str, scope: str, role: str, reason: str
) -> None:
    with store.session(sqlite_engine) as s, pytest.raises(tokens.TokenError, match=reason):
        tokens.create(s, name, scope, role, by=tokens.SHELL)


def test_only_a_user_admin_makes_or_ends_a_token_and_both_are_audited(
    sqlite_engine: Engine,
) -> None:
    admin = person(("admin",), "world")
    with store.session(sqlite_engine) as s:
        for who in (person(("analyst",), "world"), person(("ceo",), "world"), "someone"):
            with pytest.raises(tokens.TokenForbidden):
                tokens.create(s, "crm", "world", "analyst", by=who)
        assert s.exec(select(ApiToken)).first() is None
        tokens.create(s, "crm", "world", "analyst", by=admin)
        with pytest.raises(tokens.TokenForbidden, match="may not manage"):
            tokens.revoke(s, "crm", by=person(("analyst",), "world"))
        assert tokens.revoke(s, "crm", by=admin).revoked_at is not None
        row = s.exec(select(ApiToken)).one()
        assert row.created_by == "pat"
        trail = [(a.actor, a.action, a.entity_id) for a in s.exec(select(AuditLog))]
        assert trail == [("pat", "token.create", "crm"), ("pat", "token.revoke", "crm")]


def test_an_admin_of_one_country_makes_tokens_only_inside_it(
    sqlite_engine: Engine, root: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CX_DATA_DIR", str(root))
    spain = person(("admin",), "country:ES")
    with store.session(sqlite_engine) as s:
        tokens.create(s, "madrid", "agency:Madrid", "analyst", by=spain)
        for outside in ("world", "country:FR", "agency:Paris"):
            with pytest.raises(tokens.TokenForbidden, match="outside their scope"):
                tokens.create(s, "x", outside, "analyst", by=spain)
        tokens.create(s, "all", "world", "analyst", by=tokens.SHELL)
        with pytest.raises(tokens.TokenForbidden, match="outside their scope"):
            tokens.revoke(s, "all", by=spain)
