"""Shared fixtures: the demo dataset (fixed seed), tiny frames, real SQLite and PostgreSQL stores."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy.engine import Engine

from cx import store
from cx.core import data
from cx.demo.dataset import write_demo

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The full demo dataset (200,000 responses, seed 42), written once per test session."""
    root = tmp_path_factory.mktemp("demo")
    write_demo(root)
    return root


@pytest.fixture(scope="session")
def responses(demo_root: Path) -> pl.LazyFrame:
    return data.scan_responses(demo_root)


def write_waves(root: Path, frame: pl.DataFrame) -> Path:
    """Write a literal responses frame as wave partitions under ``root`` (for tiny datasets)."""
    for (wave,), part in frame.partition_by("wave", as_dict=True).items():
        d = root / "waves" / f"wave={wave}"
        d.mkdir(parents=True, exist_ok=True)
        part.write_parquet(d / "part-0.parquet")
    return root


# ---------------------------------------------------------------- operational store


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = store.init(store.make_engine(f"sqlite:///{tmp_path / 'cx.db'}"))
    yield engine
    engine.dispose()


def _pg_bindir() -> Path | None:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throwaway PostgreSQL server on loopback (Debian's postgresql, installed by .ci/run).

    Yields an admin URL; tests get their own database from :func:`pg_engine`.
    """
    bindir = _pg_bindir()
    if bindir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL binaries not found: .ci/run must install Debian's postgresql")
        pytest.skip("PostgreSQL not installed here (apt-get install postgresql)")
    # Outside pytest's 0700 temp root, so the unprivileged postgres user can reach it.
    base = Path(tempfile.mkdtemp(prefix="cx-pg-"))
    base.chmod(0o755)
    pgdata = base / "data"
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(base, "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    subprocess.run(
        [
            *as_postgres,
            str(bindir / "initdb"),
            "-D",
            str(pgdata),
            "-U",
            "cx",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *as_postgres,
            str(bindir / "pg_ctl"),
            "-D",
            str(pgdata),
            "-l",
            str(base / "log"),
            "-w",
            "-o",
            f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://cx@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_postgres, str(bindir / "pg_ctl"), "-D", str(pgdata), "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg_engine(postgres_server: str) -> Iterator[Engine]:
    """A fresh database on the throwaway server, with every table created."""
    from sqlalchemy import create_engine, text

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = store.init(store.make_engine(postgres_server.rsplit("/", 1)[0] + f"/{name}"))
    yield engine
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> Engine:
    """The same test on SQLite and on PostgreSQL."""
    return request.getfixturevalue("sqlite_engine" if request.param == "sqlite" else "pg_engine")


def wait_for_port(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listening on port {port} after {timeout}s")


# ---------------------------------------------------------------- browser


@pytest.fixture(scope="session")
def app_url(demo_root: Path) -> Iterator[str]:
    """One Streamlit server for the browser tests, on the session's demo data."""
    from tests.support.browser import streamlit_server

    with streamlit_server(demo_root, _free_port()) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    from tests.support.browser import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists():
        pytest.fail("Debian chromium is missing: .ci/run must apt-get install chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    """A fresh browser context (no cookies) and page, 1600x1800 like a projector capture."""
    context = browser.new_context(viewport={"width": 1600, "height": 1800})  # type: ignore[attr-defined]
    pg = context.new_page()
    pg.set_default_timeout(90_000)
    yield pg
    context.close()
