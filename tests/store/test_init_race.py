"""Replicas starting together on one new PostgreSQL database: each creates the store, none fails."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest
from sqlalchemy import create_engine, inspect, text

pytestmark = pytest.mark.postgres

START = "import sys; from cx import store; store.init(store.make_engine(sys.argv[1]))"


def test_four_processes_creating_one_new_store_at_once_all_succeed(postgres_server: str) -> None:
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = postgres_server.rsplit("/", 1)[0] + f"/{name}"
    try:
        starts = [
            subprocess.Popen([sys.executable, "-c", START, url], stderr=subprocess.PIPE, text=True)
            for _ in range(4)
        ]
        errors = [p.communicate(timeout=120)[1] for p in starts]
        assert [p.returncode for p in starts] == [0, 0, 0, 0], errors
        engine = create_engine(url)
        try:
            assert {"auditlog", "case", "authsession"} <= set(inspect(engine).get_table_names())
            with engine.connect() as conn:
                triggers = conn.execute(
                    text("SELECT count(*) FROM pg_trigger WHERE tgname = 'auditlog_append_only'")
                ).scalar()
            assert triggers == 1
        finally:
            engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
