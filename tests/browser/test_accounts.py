"""Accounts and sessions in a real browser against the real server: what an attacker tries."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cx.core import users
from cx.demo.accounts import write_demo_users
from tests.support.browser import ROOT, login, shot, streamlit_server, wait_idle
from tests.support.datadir import write_org
from tests.support.net import free_port

PASSWORD = "violet harbour 2026"


@pytest.fixture(scope="module")
def real_folder(demo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder that is not the demo's (no marker): the demo's waves, the demo accounts
    carried over in its users file, and two real accounts."""
    root = write_org(tmp_path_factory.mktemp("real"))
    (root / "waves").symlink_to(demo_root / "waves")
    write_demo_users(root)
    (root / users.DEMO_MARKER).unlink()
    for name in ("lena.garcia", "omar.ruiz"):
        users.add(
            name,
            password=PASSWORD,
            name=name,
            email="",
            roles=["country_manager"],
            scope=["country:ES"],
            path=root / "users.yaml",
        )
    return root


@pytest.fixture(scope="module")
def real_url(real_folder: Path) -> Iterator[str]:
    """The server on that folder, with a lock of six seconds so the test can outwait it."""
    env = {
        "CX_USERS_FILE": str(real_folder / "users.yaml"),
        "CX_SIGNIN_LOCK_MINUTES": "0.1",
    }
    with streamlit_server(real_folder, free_port(), env=env) as url:
        yield url


def _error(page: object) -> str:
    return page.locator(".error").inner_text()  # type: ignore[attr-defined]


def test_a_copied_cookie_is_refused_after_sign_out(app_url: str, browser: object) -> None:
    victim = browser.new_context()  # type: ignore[attr-defined]
    page = victim.new_page()
    page.goto(app_url + "/")
    login(page, "es.manager")
    wait_idle(page)
    cookies = victim.cookies()
    session = next(c for c in cookies if c["name"] == "cx_session")
    assert session["httpOnly"] and session["sameSite"] == "Lax"
    page.get_by_role("button", name="Sign out").click()
    page.get_by_text("You are signed out").wait_for()
    victim.close()
    thief = browser.new_context()  # type: ignore[attr-defined]
    thief.add_cookies(cookies)
    stolen = thief.new_page()
    stolen.goto(app_url + "/overview")
    assert "/signin" in stolen.url  # the server sends the copied cookie to the sign-in page
    thief.close()
    reply = httpx.get(
        app_url + "/overview",
        cookies={"cx_session": session["value"]},
        headers={"Accept": "text/html"},
    )
    assert reply.status_code == 303 and reply.headers["location"].startswith("/signin")


def test_removing_a_signed_in_user_shows_the_sign_in_at_the_next_click(
    real_url: str, real_folder: Path, page: object
) -> None:
    page.goto(real_url + "/")  # type: ignore[attr-defined]
    login(page, "omar.ruiz", PASSWORD)
    wait_idle(page)
    assert page.get_by_text("NPS overview").count()  # type: ignore[attr-defined]
    removed = subprocess.run(
        [
            sys.executable,
            "-m",
            "cx.cli",
            "users",
            "remove",
            "omar.ruiz",
            "--data",
            str(real_folder),
        ],
        cwd=ROOT,
        env={**os.environ, "CX_USERS_FILE": str(real_folder / "users.yaml")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert removed.returncode == 0, removed.stderr
    page.get_by_role("link", name="Benchmarks").click()  # type: ignore[attr-defined]
    page.get_by_text("Your session has ended").wait_for()  # type: ignore[attr-defined]
    page.get_by_role("link", name="Sign in").wait_for()  # type: ignore[attr-defined]
    assert not page.get_by_text("Benchmarks against").count()  # type: ignore[attr-defined]
    shot(page, "accounts-session-ended")


def test_five_wrong_passwords_lock_the_account_and_the_lock_ends_on_its_own(
    real_url: str, page: object
) -> None:
    page.goto(real_url + "/signin")  # type: ignore[attr-defined]
    for _ in range(5):
        login(page, "lena.garcia", "not the password")
        page.wait_for_load_state()  # type: ignore[attr-defined]
    assert "locked for 1 minute" in _error(page)
    login(page, "lena.garcia", PASSWORD)  # the right password, refused while locked
    page.wait_for_load_state()  # type: ignore[attr-defined]
    assert "locked for" in _error(page) and "/signin" in page.url  # type: ignore[attr-defined]
    shot(page, "accounts-locked")
    time.sleep(7)  # the lock of this server is six seconds
    login(page, "lena.garcia", PASSWORD)
    wait_idle(page)
    assert "/signin" not in page.url  # type: ignore[attr-defined]
    assert page.get_by_text("NPS overview").count()  # type: ignore[attr-defined]


def test_a_data_folder_that_is_not_the_demo_refuses_the_demo_password(
    real_url: str, page: object
) -> None:
    page.goto(real_url + "/signin")  # type: ignore[attr-defined]
    login(page, "ceo", "cx-demo")
    page.wait_for_load_state()  # type: ignore[attr-defined]
    assert _error(page) == "Username or password is incorrect."


def test_the_sign_in_form_refuses_a_missing_form_token_and_never_redirects_off_site(
    app_url: str,
) -> None:
    refused = httpx.post(app_url + "/signin", data={"username": "ceo", "password": "cx-demo"})
    assert refused.status_code == 400 and "expired" in refused.text
    assert "Traceback" not in refused.text
    form = httpx.get(app_url + "/signin?next=//evil.example/x").text
    token = form.split('name="csrf" value="')[1].split('"')[0]
    assert 'name="next" value="/"' in form
    signed = httpx.post(
        app_url + "/signin",
        data={
            "csrf": token,
            "next": "https://evil.example/",
            "username": "ceo",
            "password": "cx-demo",
        },
    )
    assert signed.status_code == 303 and signed.headers["location"] == "/"
    cookie = signed.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


def test_the_quickstart_on_an_empty_folder_signs_in_with_a_demo_account(
    tmp_path: Path,
) -> None:
    """The README's first command on a fresh machine: an empty data folder, the server writes the
    demo and its accounts before the first page, and the documented demo sign-in works."""
    empty = tmp_path / "data"
    empty.mkdir()
    env = {"CX_USERS_FILE": "", "DATABASE_URL": ""}
    with streamlit_server(empty, free_port(), env=env) as url:
        form = httpx.get(url + "/signin", timeout=60).text
        assert "create the first administrator" not in form
        token = form.split('name="csrf" value="')[1].split('"')[0]
        signed = httpx.post(
            url + "/signin",
            data={"csrf": token, "next": "/", "username": "ceo", "password": "cx-demo"},
            timeout=60,
        )
    assert signed.status_code == 303 and "cx_session=" in signed.headers["set-cookie"]
    assert (empty / users.DEMO_MARKER).exists() and (empty / "users.yaml").exists()
    log = next(empty.glob("streamlit-*.log")).read_text(encoding="utf-8")
    link = re.search(r"survey of the Madrid agency: (http://\S+/s/\S+) \(QR poster: (\S+)\)", log)
    assert link, log[-2000:]  # the first start says where a customer answers, and prints the poster
    assert (
        Path(link.group(2)) == empty / "posters" / "madrid-qr.pdf" and Path(link.group(2)).exists()
    )
