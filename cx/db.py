"""The operational store: engine, sessions, time-zone-aware timestamps, the append-only audit
log, optimistic versioning and the notification outbox table.

SQLite ``<data>/cx.db`` by default (WAL, busy timeout); PostgreSQL when ``DATABASE_URL`` is set.
Tables of other concepts (cases, plans, alerts, rules) live in their own modules and register
on the same ``SQLModel.metadata``; :func:`init` creates them all.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, event, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, Session, SQLModel, create_engine, select

from cx.data import data_dir
from cx.scope import Scope, restrict_statement


class StaleEdit(RuntimeError):
    """Someone else saved this record since you opened it; reload and apply your change again."""


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC, always returns aware datetimes (SQLite keeps no time zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def ts_field(**kwargs: Any) -> Any:
    """A time-zone-aware timestamp column."""
    return Field(sa_type=UTCDateTime, **kwargs)  # type: ignore[call-overload]


def database_url(root: Path | None = None) -> str:
    """``DATABASE_URL`` if set, else SQLite ``<data>/cx.db``."""
    url = os.environ.get("DATABASE_URL")
    if url:
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        return url
    root = root or data_dir()
    root.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{root / 'cx.db'}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def make_engine(url: str | None = None) -> Engine:
    """Create an engine (callers cache it: ``cx.ui`` with ``st.cache_resource``)."""
    url = url or database_url()
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    return engine


def init(engine: Engine) -> Engine:
    """Create every registered table and the append-only guard of the audit log."""
    import cx.models_registry  # noqa: F401  (imports every module that defines tables)

    SQLModel.metadata.create_all(engine)
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            for op in ("UPDATE", "DELETE"):
                conn.execute(text(
                    f"CREATE TRIGGER IF NOT EXISTS auditlog_no_{op.lower()} BEFORE {op} ON auditlog "
                    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
                ))
        elif engine.dialect.name == "postgresql":
            conn.execute(text(
                "CREATE OR REPLACE FUNCTION auditlog_append_only() RETURNS trigger AS $$ "
                "BEGIN RAISE EXCEPTION 'the audit log is append-only'; END; $$ LANGUAGE plpgsql"
            ))
            conn.execute(text("DROP TRIGGER IF EXISTS auditlog_append_only ON auditlog"))
            conn.execute(text(
                "CREATE TRIGGER auditlog_append_only BEFORE UPDATE OR DELETE ON auditlog "
                "FOR EACH ROW EXECUTE FUNCTION auditlog_append_only()"
            ))
    return engine


@contextmanager
def session(engine: Engine) -> Iterator[Session]:
    """One session per action: commit on success, roll back on error."""
    with Session(engine, expire_on_commit=False) as s:
        try:
            yield s
            s.commit()
        except Exception:
            s.rollback()
            raise


class GeoFields(SQLModel):
    """Where a record belongs; a country-level record has ``agency`` NULL, a world one all NULL."""

    region: str | None = Field(default=None, index=True)
    country: str | None = Field(default=None, index=True)
    agency: str | None = Field(default=None, index=True)


class AuditLog(GeoFields, table=True):
    """Append-only trail of every change (a database trigger refuses UPDATE and DELETE)."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = ts_field(default_factory=utcnow, index=True)
    actor: str = Field(index=True)
    action: str
    entity: str = Field(index=True)
    entity_id: str = Field(index=True)
    detail: str = "{}"


def audit(s: Session, *, actor: str, action: str, entity: str, entity_id: str | int, detail: dict[str, Any] | None = None, region: str | None = None, country: str | None = None, agency: str | None = None) -> AuditLog:
    """Append an audit row in the caller's transaction."""
    row = AuditLog(
        actor=actor, action=action, entity=entity, entity_id=str(entity_id),
        detail=json.dumps(detail or {}, default=str, ensure_ascii=False),
        region=region, country=country, agency=agency,
    )
    s.add(row)
    return row


def audit_trail(s: Session, scope: Scope, *, entity: str | None = None, entity_id: str | int | None = None, limit: int = 500) -> list[AuditLog]:
    """Audit rows inside the scope, newest first."""
    stmt = restrict_statement(select(AuditLog), scope, AuditLog)
    if entity:
        stmt = stmt.where(AuditLog.entity == entity)
    if entity_id is not None:
        stmt = stmt.where(AuditLog.entity_id == str(entity_id))
    return list(s.exec(stmt.order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(limit)))  # type: ignore[attr-defined,arg-type,union-attr]


def update_versioned(s: Session, model: type[SQLModel], row_id: int, expected_version: int, values: dict[str, Any]) -> int:
    """UPDATE ... SET values, version = version + 1 WHERE id AND version = expected.

    Raises :class:`StaleEdit` when another save came first (no lost update). Returns the new version.
    """
    table = model.__table__  # type: ignore[attr-defined]
    result = s.execute(
        update(table)
        .where(table.c.id == row_id, table.c.version == expected_version)
        .values(**values, version=expected_version + 1)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise StaleEdit(
            f"{model.__name__} {row_id} was changed by someone else since you opened it "
            f"(your version {expected_version}); reload it and apply your change again"
        )
    return expected_version + 1


class Notification(GeoFields, table=True):
    """Transactional outbox: written in the same transaction as the event that causes it."""

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = ts_field(default_factory=utcnow, index=True)
    channel: str = "email"  # email | telegram
    recipient: str
    subject: str = ""
    body: str = ""
    dedupe_key: str = Field(unique=True, index=True)
    status: str = Field(default="pending", index=True)  # pending | sent | dead
    attempts: int = 0
    next_attempt_at: datetime = ts_field(default_factory=utcnow, index=True)
    last_error: str | None = None
    sent_at: datetime | None = ts_field(default=None)


def enqueue(s: Session, *, recipient: str, subject: str, body: str, dedupe_key: str, channel: str = "email", region: str | None = None, country: str | None = None, agency: str | None = None) -> Notification | None:
    """Add a notification to the outbox unless one with the same ``dedupe_key`` exists."""
    existing = s.exec(select(Notification).where(Notification.dedupe_key == dedupe_key)).first()
    if existing is not None:
        return None
    row = Notification(
        channel=channel, recipient=recipient, subject=subject, body=body, dedupe_key=dedupe_key,
        region=region, country=country, agency=agency,
    )
    s.add(row)
    return row
