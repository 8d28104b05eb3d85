"""The sign-in route group: ``GET/POST /signin`` and ``POST /signout``, plus the gate that sends
a browser without a live session to the sign-in page before any dashboard is served.

The form is plain HTML (it works without the websocket and without JavaScript) with a signed
form token; a successful sign-in sets the ``cx_session`` cookie (HttpOnly, SameSite=Lax,
Secure behind TLS) holding only a random token. Everything about the session lives in the
store (:mod:`cx.store.sessions`).
"""

from __future__ import annotations

import asyncio
import os
from functools import cache
from urllib.parse import quote, urlsplit

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection, Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from cx import store
from cx.core import keys, users
from cx.core.data import data_dir
from cx.core.text import escape_html
from cx.server import sso
from cx.server.html import page
from cx.store import sessions

FORM_PURPOSE = "signin"
MAX_FORM_BYTES = 4096
PUBLIC_PREFIXES = (
    "/signin",
    "/signout",
    "/s/",
    "/api/",
    "/hooks/",
    "/_stcore/",
    "/static/",
    "/media/",
    "/component/",
    "/auth/",
    "/oauth2callback",
    "/favicon",
    "/robots.txt",
)


@cache
def _engine_for(url: str) -> Engine:
    return store.init(store.make_engine(url))


def engine() -> Engine:
    """The store of the configured data folder (one engine per URL and process)."""
    return _engine_for(store.database_url(data_dir()))


def client_address(conn: HTTPConnection) -> str:
    """The client's address: the peer, or the first ``X-Forwarded-For`` hop when the peer is a
    proxy listed in ``CX_TRUSTED_PROXIES`` (comma-separated addresses)."""
    peer = conn.client.host if conn.client else ""
    trusted = {p.strip() for p in os.environ.get("CX_TRUSTED_PROXIES", "").split(",") if p.strip()}
    forwarded = conn.headers.get("x-forwarded-for", "")
    if peer in trusted and forwarded:
        return forwarded.split(",")[0].strip()[:64]
    return peer


def _secure(conn: HTTPConnection) -> bool:
    if os.environ.get("CX_COOKIE_SECURE") == "1":
        return True
    proto = conn.url.scheme
    if client_address(conn) != (conn.client.host if conn.client else ""):
        proto = conn.headers.get("x-forwarded-proto", proto)
    return proto == "https"


def safe_next(value: str | None) -> str:
    """A same-site path to go back to after sign-in (never another host).

    >>> safe_next("/plans?wave=2026-Q2"), safe_next("//evil.example/x"), safe_next("https://e.x")
    ('/plans?wave=2026-Q2', '/', '/')
    """
    value = (value or "/").strip()
    parts = urlsplit(value)
    if not value.startswith("/") or value.startswith("//") or parts.scheme or parts.netloc:
        return "/"
    if "\\" in value or any(ord(c) < 32 for c in value):
        return "/"
    return value[:2000]


def _form(next_path: str, message: str = "", note: str = "", username: str = "") -> str:
    token = keys.form_token(FORM_PURPOSE)
    parts = ["<h1>CX Review</h1>", '<p class="lead">Sign in to see your scope.</p>']
    if note:
        parts.append(f'<p class="note" role="status">{escape_html(note)}</p>')
    if message:
        parts.append(f'<p class="error" role="alert">{escape_html(message)}</p>')
    if not users.all_users() and not users.demo_mode():
        parts.append(
            '<p class="note">No account yet: create the first administrator with '
            "<code>cx users add NAME --role admin --scope world</code>.</p>"
        )
    parts.append(
        '<form method="post" action="/signin">'
        f'<input type="hidden" name="csrf" value="{escape_html(token)}">'
        f'<input type="hidden" name="next" value="{escape_html(next_path)}">'
        '<label for="username">Username</label>'
        f'<input id="username" name="username" type="text" autocomplete="username" '
        f'autocapitalize="none" spellcheck="false" required value="{escape_html(username)}">'
        '<label for="password">Password</label>'
        '<input id="password" name="password" type="password" '
        'autocomplete="current-password" required>'
        '<button type="submit">Sign in</button></form>'
    )
    provider = sso.provider()
    if provider:
        parts.append(
            '<p class="or">or</p>'
            f'<form method="get" action="/"><input type="hidden" name="sso" value="1">'
            f'<button class="secondary" type="submit">Sign in with '
            f"{escape_html(provider.label)}</button></form>"
        )
    return "".join(parts)


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


async def signin_page(request: Request) -> Response:
    next_path = safe_next(request.query_params.get("next"))
    note = "You are signed out." if request.query_params.get("out") else ""
    if request.method == "GET":
        return page("Sign in", _form(next_path, note=note))
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return page("Sign in", _form("/", "The form was too large."), status=413)
    form = await request.form()
    next_path = safe_next(str(form.get("next") or "/"))
    username = str(form.get("username") or "").strip().lower()
    if not _same_origin(request) or not keys.check_form_token(
        str(form.get("csrf") or ""), FORM_PURPOSE
    ):
        return page(
            "Sign in",
            _form(next_path, "The sign-in form expired: please try again.", username=username),
            status=400,
        )
    password = str(form.get("password") or "")
    address = client_address(request)
    result = await run_in_threadpool(sessions.sign_in, engine(), username, password, address)
    if result.user is None:
        await asyncio.sleep(result.delay)
        status = 429 if result.retry_after else 401
        headers = {"Retry-After": str(int(result.retry_after) + 1)} if result.retry_after else None
        return page(
            "Sign in",
            _form(next_path, result.reason, username=username),
            status=status,
            headers=headers,
        )
    token = await run_in_threadpool(
        sessions.open_session,
        engine(),
        result.user,
        address=address,
        user_agent=request.headers.get("user-agent", ""),
    )
    response = RedirectResponse(next_path, status_code=303)
    set_session_cookie(response, request, token)
    return response


def set_session_cookie(response: Response, conn: HTTPConnection, token: str) -> None:
    response.set_cookie(
        sessions.COOKIE,
        token,
        max_age=int(sessions.lifetime().total_seconds()),
        path="/",
        httponly=True,
        secure=_secure(conn),
        samesite="lax",
    )


async def signout(request: Request) -> Response:
    """End the session (the cookie's token is worthless from now on) and clear the cookie."""
    form = await request.form()
    if not _same_origin(request) or not keys.check_form_token(
        str(form.get("csrf") or ""), "signout", max_age=24 * 3600
    ):
        return page("Sign out", '<p class="error">The sign-out form expired.</p>', status=400)
    token = request.cookies.get(sessions.COOKIE)
    await run_in_threadpool(sessions.end_session, engine(), token)
    response = RedirectResponse("/signin?out=1", status_code=303)
    response.delete_cookie(sessions.COOKIE, path="/")
    return response


ROUTES = [
    Route("/signin", signin_page, methods=["GET", "POST"]),
    Route("/signout", signout, methods=["POST"]),
]


class SessionGate:
    """ASGI middleware: a page load (GET of an HTML page) without a live session is redirected
    to ``/signin?next=…``; the Streamlit script checks the session again on every run."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            conn = HTTPConnection(scope)
            path = conn.url.path
            wants_html = "text/html" in conn.headers.get("accept", "")
            if (
                wants_html
                and not path.startswith(PUBLIC_PREFIXES)
                and not await self._allowed(conn)
            ):
                target = path + (f"?{conn.url.query}" if conn.url.query else "")
                response = RedirectResponse(f"/signin?next={quote(target)}", status_code=303)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _allowed(self, conn: HTTPConnection) -> bool:
        if sso.provider() and (sso.COOKIE in conn.cookies or conn.query_params.get("sso")):
            return True  # single sign-on: Streamlit checks its signed cookie, the script the rest
        token = conn.cookies.get(sessions.COOKIE)
        return (
            bool(token) and await run_in_threadpool(sessions.resolve, engine(), token) is not None
        )
