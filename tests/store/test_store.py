"""The operational store on SQLite and PostgreSQL: audit log is append-only, versions refuse lost updates."""

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import select

from cx import store
from cx.core.scope import Scope


def test_audit_log_refuses_update_and_delete(engine: Engine) -> None:
    with store.session(engine) as s:
        store.audit(s, actor="ceo", action="create", entity="case", entity_id=1, agency="Madrid")
    for statement in ("UPDATE auditlog SET actor = 'x'", "DELETE FROM auditlog"):
        with pytest.raises(Exception, match="append-only"), store.session(engine) as s:
            s.execute(text(statement))
    with store.session(engine) as s:
        assert [r.actor for r in s.exec(select(store.AuditLog))] == ["ceo"]


def test_audit_trail_follows_scope(engine: Engine) -> None:
    with store.session(engine) as s:
        store.audit(
            s,
            actor="a",
            action="create",
            entity="case",
            entity_id=1,
            region="Europe",
            country="ES",
            agency="Madrid",
        )
        store.audit(
            s,
            actor="b",
            action="create",
            entity="case",
            entity_id=2,
            region="Europe",
            country="FR",
            agency="Paris",
        )
    with store.session(engine) as s:
        assert [r.entity_id for r in store.audit_trail(s, Scope.parse("country:ES"))] == ["1"]
        assert store.audit_trail(s, Scope()) == []
        assert len(store.audit_trail(s, Scope.world())) == 2


def test_timestamps_come_back_time_zone_aware(engine: Engine) -> None:
    with store.session(engine) as s:
        row = store.audit(s, actor="a", action="x", entity="e", entity_id=1)
    with store.session(engine) as s:
        got = s.exec(select(store.AuditLog)).one()
    assert got.at.tzinfo is not None
    assert abs((got.at - row.at).total_seconds()) < 1


def test_outbox_deduplicates_on_key(engine: Engine) -> None:
    with store.session(engine) as s:
        assert (
            store.enqueue(s, recipient="a@x", subject="s", body="b", dedupe_key="rule:1:resp:9")
            is not None
        )
    with store.session(engine) as s:
        assert (
            store.enqueue(s, recipient="a@x", subject="s", body="b", dedupe_key="rule:1:resp:9")
            is None
        )
    with store.session(engine) as s:
        assert len(s.exec(select(store.Notification)).all()) == 1
