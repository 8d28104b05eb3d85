"""The operational store on SQLite and PostgreSQL: audit log is append-only, versions refuse lost updates."""

from pathlib import Path

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
            store.enqueue(
                s,
                recipient="c0000009@customers.example",
                subject="s",
                body="b",
                dedupe_key="rule:1:resp:9",
                audience="customer",
            )
            is not None
        )
    with store.session(engine) as s:
        assert (
            store.enqueue(
                s,
                recipient="c0000009@customers.example",
                subject="s",
                body="b",
                dedupe_key="rule:1:resp:9",
                audience="customer",
            )
            is None
        )
    with store.session(engine) as s:
        assert len(s.exec(select(store.Notification)).all()) == 1


def test_a_store_made_by_an_older_release_gets_the_new_columns(
    engine: Engine, tmp_path: Path
) -> None:
    """The outbox's attachment columns came with the weekly mailer; a store created before them
    is upgraded by ``init`` and queued rows keep their attachment."""
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE notification DROP COLUMN attachment_path"))
        conn.execute(text("ALTER TABLE notification DROP COLUMN attachment_name"))
    with pytest.raises(Exception, match="attachment_path"), store.session(engine) as s:
        store.enqueue(
            s,
            recipient="a@x.example",
            subject="s",
            body="b",
            dedupe_key="k0",
            audience="customer",
        )
    assert store.add_missing_columns(engine) == [
        "notification.attachment_path",
        "notification.attachment_name",
    ]
    store.init(engine)  # idempotent: nothing left to add
    pdf = tmp_path / "weekly.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    with store.session(engine) as s:
        store.enqueue(
            s,
            recipient="a@x.example",
            subject="s",
            body="b",
            dedupe_key="k1",
            attachment=pdf,
            audience="customer",
        )
    with store.session(engine) as s:
        row = s.exec(select(store.Notification)).one()
    assert (row.attachment_path, row.attachment_name) == (str(pdf.resolve()), "weekly.pdf")
