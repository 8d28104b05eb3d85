"""Shared fixtures: the demo dataset (fixed seed), a data folder, real SQLite and PostgreSQL stores and
a real SMTP server; the browser ones are in tests/browser/. Plain helpers live in tests/support/."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy.engine import Engine

from cx import store
from cx.core import data
from cx.demo import complaints
from cx.demo.dataset import write_demo
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, streamlit_server
from tests.support.chat import ChatLog, fake_telegram
from tests.support.datadir import write_org, write_waves
from tests.support.frames import routing_answers
from tests.support.net import free_port
from tests.support.smtp import Sink

# bcrypt at its lowest cost in the suite (the cost is a setting; the timing test sets 12 itself)
os.environ.setdefault("CX_BCRYPT_ROUNDS", "4")
# no warm-up thread behind each of the suite's AppTest runs (every run is a new session); the real
# servers of the suite (tests.support.browser.streamlit_server) warm as in production
os.environ.setdefault("CX_WARM", "off")


_MAIN = sys.modules["__main__"]
"""The interpreter's own ``__main__``, before any AppTest ran a page as ``__main__``."""


@pytest.fixture
def spawn_safe(monkeypatch: pytest.MonkeyPatch) -> None:
    """A process started with "spawn" first runs its parent's ``__main__`` again; after an
    AppTest in the same worker that is a Streamlit page (dashboard.py), which then signs in and
    creates the store in the child. The test's processes get the interpreter's own back."""
    monkeypatch.setitem(sys.modules, "__main__", _MAIN)


@pytest.fixture(scope="session", autouse=True)
def demo_accounts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The demo's people (ceo, es.manager…, password ``cx-demo``) as ordinary accounts in a users
    file of their own: the default users file of every test (``CX_USERS_FILE``), whatever data
    folder the test uses, unless a test sets another one."""
    from cx.demo.accounts import write_demo_users

    folder = tmp_path_factory.mktemp("accounts")
    saved = os.environ.get("CX_USERS_FILE")
    os.environ["CX_USERS_FILE"] = str(folder / "users.yaml")
    write_demo_users(folder, demo=False)
    yield folder / "users.yaml"
    if saved is None:
        os.environ.pop("CX_USERS_FILE", None)
    else:
        os.environ["CX_USERS_FILE"] = saved


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The full demo dataset (200,000 responses, seed 42), written once per test session."""
    root = tmp_path_factory.mktemp("demo")
    write_demo(root)
    return root


@pytest.fixture(scope="session")
def responses(demo_root: Path) -> pl.LazyFrame:
    return data.scan_responses(demo_root)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """An empty data folder holding only the demo organisation (``org.yaml``)."""
    return write_org(tmp_path / "data")


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
    port = free_port()
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


@pytest.fixture(scope="module")
def app_store(demo_root: Path) -> Engine:
    """The store the app reads (``<demo data>/cx.db``, not ``DATABASE_URL``), with the demo's Madrid
    and Paris detractor cases opened; once per test module."""
    os.environ.pop("DATABASE_URL", None)
    engine = store.init(store.make_engine(f"sqlite:///{demo_root / 'cx.db'}"))
    complaints.seed_demo_cases(engine, data.scan_responses(demo_root))
    return engine


# ---------------------------------------------------------------- mail


@pytest.fixture
def smtp() -> Iterator[tuple[Sink, int, list[Controller]]]:
    """A real SMTP server (aiosmtpd) on a free loopback port: its sink, its port, and the running
    controllers (a test that restarts the server appends the new one, so all are stopped)."""
    sink, port = Sink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    running = [controller]
    yield sink, port, running
    for c in running:
        with contextlib.suppress(Exception):
            c.stop()


# ---------------------------------------------------------------- survey pages on a real server


@pytest.fixture(scope="module")
def survey_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from cx.capture import surveys

    root = write_waves(write_org(tmp_path_factory.mktemp("survey") / "data"), routing_answers())
    surveys.ensure_default(root)
    return root


@pytest.fixture(scope="module")
def mailbox() -> Iterator[tuple[Sink, int]]:
    """A real SMTP server on loopback for the module's server: its sink and port."""
    sink, port = Sink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()


@pytest.fixture(scope="module")
def team_chat() -> Iterator[tuple[ChatLog, str]]:
    """A fake Telegram Bot API on loopback for the module's server: its log and its URL."""
    with fake_telegram() as found:
        yield found


@pytest.fixture(scope="module")
def survey_url(
    survey_root: Path, mailbox: tuple[Sink, int], team_chat: tuple[ChatLog, str]
) -> Iterator[str]:
    """The real server on :func:`survey_root`: a fold every second, its mail to :func:`mailbox`,
    its team-chat posts to :func:`team_chat` (chat ``-100``, the whole world)."""
    from cx.core import keys

    env = {
        "CX_SIGNING_KEY": keys.signing_key(),  # the tests make links with the server's key
        "CX_FOLD_SECONDS": "1",
        "CX_NOTIFY_INTERVAL": "1",
        "CX_SMTP_HOST": "127.0.0.1",
        "CX_SMTP_PORT": str(mailbox[1]),
        "CX_SMTP_TLS": "none",
        "CX_SMTP_ALLOW_PLAIN": "1",
        "CX_SMTP_FROM": "cx@cx-demo.example",
        "DATABASE_URL": "",
        "CX_TELEGRAM_TOKEN": "123:fake",
        "CX_TELEGRAM_API": team_chat[1],
        "CX_TELEGRAM_CHAT_ID": "-100",
    }
    with streamlit_server(survey_root, free_port(), env) as url:
        yield url


# ---------------------------------------------------------------- headless Chromium


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's headless Chromium, one per worker: Playwright's sync API allows one at a time in
    a process, so the browser tests and the replica tests share it."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Debian chromium is missing: .ci/run must apt-get install chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
