"""The sign-in route group on its own (Starlette's test client drives the real ASGI routes)."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from cx.server import signin


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.setenv("CX_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CX_USERS_FILE", str(tmp_path / "users.yaml"))
    monkeypatch.delenv("CX_DEMO", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return TestClient(Starlette(routes=signin.ROUTES), follow_redirects=False)


def test_a_deployment_without_accounts_says_how_to_create_the_first_administrator(
    client: TestClient,
) -> None:
    page = client.get("/signin")
    assert page.status_code == 200
    assert "cx users add NAME --role admin --scope world" in page.text
    assert page.headers["x-frame-options"] == "DENY" and "no-store" in page.headers["cache-control"]


def test_an_oversize_form_is_refused_without_a_traceback(client: TestClient) -> None:
    reply = client.post(
        "/signin",
        content=b"username=" + b"x" * 10_000,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert reply.status_code == 413 and "too large" in reply.text and "Traceback" not in reply.text


def test_user_text_on_the_sign_in_page_is_escaped(client: TestClient) -> None:
    form = client.get("/signin").text
    token = form.split('name="csrf" value="')[1].split('"')[0]
    reply = client.post(
        "/signin",
        data={"csrf": token, "username": '"><script>alert(1)</script>', "password": "x"},
    )
    assert reply.status_code == 401
    assert "<script>alert(1)" not in reply.text and "&lt;script&gt;" in reply.text


def test_another_origin_cannot_post_the_form(client: TestClient) -> None:
    form = client.get("/signin").text
    token = form.split('name="csrf" value="')[1].split('"')[0]
    reply = client.post(
        "/signin",
        data={"csrf": token, "username": "a", "password": "b"},
        headers={"origin": "https://evil.example"},
    )
    assert reply.status_code == 400 and "expired" in reply.text


@pytest.mark.parametrize(
    ("proxied", "secure"),
    [
        (False, False),  # plain HTTP on loopback: the cookie could not come back if Secure
        (True, True),  # behind the TLS proxy (a trusted one, saying https): Secure
    ],
)
def test_the_session_cookie_is_httponly_lax_and_secure_behind_tls(
    client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, proxied: bool, secure: bool
) -> None:
    from cx.core import users

    users.add(
        "ana.lopez",
        password="violet harbour 2026",
        name="Ana",
        email="",
        roles=["ceo"],
        scope=["world"],
        path=tmp_path / "users.yaml",
    )
    monkeypatch.setenv("CX_TRUSTED_PROXIES", "testclient")
    headers = {"x-forwarded-for": "203.0.113.9", "x-forwarded-proto": "https"} if proxied else {}
    form = client.get("/signin", headers=headers).text
    token = form.split('name="csrf" value="')[1].split('"')[0]
    reply = client.post(
        "/signin",
        data={"csrf": token, "username": "ana.lopez", "password": "violet harbour 2026"},
        headers=headers,
    )
    assert reply.status_code in (302, 303), reply.text
    cookie = reply.headers["set-cookie"]
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "path"} <= attributes and "samesite=lax" in cookie.lower()
    assert ("secure" in attributes) is secure
