"""The operational store on SQLite and PostgreSQL: audit log is append-only, versions refuse lost updates."""

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import select

from cx import db
from cx.scope import Scope


def test_audit_log_refuses_update_and_delete(engine: Engine) -> None:
    with db.session(engine) as s:
        db.audit(s, actor="ceo", action="create", entity="case", entity_id=1, agency="Madrid")
    for statement in ("UPDATE auditlog SET actor = 'x'", "DELETE FROM auditlog"):
        with pytest.raises(Exception, match="append-only"), db.session(engine) as s:
            s.execute(text(statement))
    with db.session(engine) as s:
        assert [r.actor for r in s.exec(select(db.AuditLog))] == ["ceo"]


def test_audit_trail_follows_scope(engine: Engine) -> None:
    with db.session(engine) as s:
        db.audit(s, actor="a", action="create", entity="case", entity_id=1, region="Europe", country="ES", agency="Madrid")
        db.audit(s, actor="b", action="create", entity="case", entity_id=2, region="Europe", country="FR", agency="Paris")
    with db.session(engine) as s:
        assert [r.entity_id for r in db.audit_trail(s, Scope.parse("country:ES"))] == ["1"]
        assert db.audit_trail(s, Scope()) == []
        assert len(db.audit_trail(s, Scope.world())) == 2


def test_timestamps_come_back_time_zone_aware(engine: Engine) -> None:
    with db.session(engine) as s:
        row = db.audit(s, actor="a", action="x", entity="e", entity_id=1)
    with db.session(engine) as s:
        got = s.exec(select(db.AuditLog)).one()
    assert got.at.tzinfo is not None
    assert abs((got.at - row.at).total_seconds()) < 1


def test_outbox_deduplicates_on_key(engine: Engine) -> None:
    with db.session(engine) as s:
        assert db.enqueue(s, recipient="a@x", subject="s", body="b", dedupe_key="rule:1:resp:9") is not None
    with db.session(engine) as s:
        assert db.enqueue(s, recipient="a@x", subject="s", body="b", dedupe_key="rule:1:resp:9") is None
    with db.session(engine) as s:
        assert len(s.exec(select(db.Notification)).all()) == 1
