"""Real-browser helpers: a Streamlit server on a free loopback port and Debian's headless Chromium.

Use the fixtures ``app_url`` and ``page`` (in tests/browser/conftest.py) and :func:`login`.
Screenshots go to ``artifacts/screenshots/`` (git-ignored) so a person can look at them.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.net import wait_for_port

ROOT = Path(__file__).resolve().parents[2]
# CX_SHOTS_DIR keeps one run's pictures apart (e.g. before/after a change) from the default folder.
SHOTS = Path(os.environ.get("CX_SHOTS_DIR") or ROOT / "artifacts" / "screenshots")
CHROMIUM = "/usr/bin/chromium"
SIGNING_KEY = secrets.token_hex(32)  # one random key per test session, like a real deployment
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def streamlit_server(
    data_root: Path, port: int, env: dict[str, str] | None = None
) -> Iterator[str]:
    """Start ``streamlit run app.py`` on ``port`` with ``CX_DATA_DIR=data_root``; stop it afterwards.

    Without Streamlit's file watcher: a module edited while the tests run must not be re-imported
    (re-importing cx.store would redefine its tables and fail).
    """
    full_env = {
        **os.environ,
        "CX_DATA_DIR": str(data_root),
        "CX_SIGNING_KEY": SIGNING_KEY,
        "CX_WARM": "on",  # a served app warms its caches (the suite's AppTest runs do not)
        **(env or {}),
    }
    log = open(data_root / f"streamlit-{port}.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "app.py"),
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
        ],
        cwd=ROOT,
        env=full_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, timeout=90)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def login(page: object, username: str, password: str = "cx-demo") -> None:
    """Fill the sign-in form and submit it."""
    page.get_by_role("textbox", name="Username").fill(username, timeout=120_000)  # type: ignore[attr-defined]
    page.get_by_role("textbox", name="Password").fill(password)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]


def wait_idle(page: object, timeout: float = 120.0) -> None:
    """Wait until Streamlit has finished running the script (and stays idle for a second)."""
    idle = '[data-testid="stApp"][data-test-script-state="notRunning"]'
    deadline = time.monotonic() + timeout
    quiet_since: float | None = None
    time.sleep(0.3)
    while time.monotonic() < deadline:
        if page.locator(idle).count():  # type: ignore[attr-defined]
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= 1.0:
                return
        else:
            quiet_since = None
        time.sleep(0.2)
    raise TimeoutError("the Streamlit script did not become idle")


def shot(page: object, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path
