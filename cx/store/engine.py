"""Engine and sessions: SQLite ``<data>/cx.db`` by default (WAL, busy timeout), PostgreSQL when
``DATABASE_URL`` is set; one session per action, committed or rolled back at the edge."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, create_engine

from cx.core.data import data_dir
from cx.store import models  # noqa: F401  (registers every table on SQLModel.metadata)


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
        file = url not in ("sqlite://", "sqlite:///:memory:")
        engine = create_engine(  # a file: as many connections as the server's threads (40)
            url,
            connect_args={"check_same_thread": False, "timeout": 10},
            **({"pool_size": 10, "max_overflow": 40} if file else {}),
        )
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    return engine


INIT_LOCK = 727_274
"""PostgreSQL advisory lock key taken by :func:`init`: replicas starting at once on one database
create its tables and triggers one after the other (otherwise two ``CREATE`` race)."""


def init(engine: Engine) -> Engine:
    """Create every registered table, add columns a newer release defines to tables an older one
    created, and install the append-only guard of the audit log. On PostgreSQL under an advisory
    lock, so that processes starting together do it one at a time."""
    if engine.dialect.name != "postgresql":
        return _init(engine)
    with engine.connect() as holder:
        holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": INIT_LOCK})
        try:
            return _init(engine)
        finally:
            holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": INIT_LOCK})
            holder.commit()


def _init(engine: Engine) -> Engine:
    SQLModel.metadata.create_all(engine)
    add_missing_columns(engine)
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            for op in ("UPDATE", "DELETE"):
                conn.execute(
                    text(
                        f"CREATE TRIGGER IF NOT EXISTS auditlog_no_{op.lower()} BEFORE {op} ON auditlog "
                        "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
                    )
                )
        elif engine.dialect.name == "postgresql":
            conn.execute(
                text(
                    "CREATE OR REPLACE FUNCTION auditlog_append_only() RETURNS trigger AS $$ "
                    "BEGIN RAISE EXCEPTION 'the audit log is append-only'; END; $$ LANGUAGE plpgsql"
                )
            )
            conn.execute(text("DROP TRIGGER IF EXISTS auditlog_append_only ON auditlog"))
            conn.execute(
                text(
                    "CREATE TRIGGER auditlog_append_only BEFORE UPDATE OR DELETE ON auditlog "
                    "FOR EACH ROW EXECUTE FUNCTION auditlog_append_only()"
                )
            )
    return engine


def add_missing_columns(engine: Engine) -> list[str]:
    """``ALTER TABLE … ADD COLUMN`` for each nullable model column an existing table lacks (a store
    made by an older release); returns ``table.column`` of each column added.

    A missing column that is NOT NULL cannot be added to rows that exist: that raises, naming it.
    """
    added: list[str] = []
    existing = inspect(engine)
    for table in SQLModel.metadata.sorted_tables:
        have = {c["name"] for c in existing.get_columns(table.name)}
        for column in table.columns:
            if column.name in have:
                continue
            if not column.nullable:
                raise RuntimeError(
                    f"the store's table {table.name!r} lacks the required column {column.name!r}; "
                    "migrate it by hand or start from a new store"
                )
            kind = column.type.compile(dialect=engine.dialect)
            with engine.begin() as conn:
                conn.execute(text(f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {kind}'))
            added.append(f"{table.name}.{column.name}")
    return added


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
