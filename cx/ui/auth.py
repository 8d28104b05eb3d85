"""Authentication in the script: the signed-in user of this run (from the server-side session
whose token the browser's HttpOnly cookie carries), the gate every run passes, the sidebar's
account box, and the check every page starts with.

The sign-in form itself is a server route (``/signin`` in :mod:`cx.server.signin`): only an
HTTP response can set an HttpOnly cookie. The session is looked up in the store on every run,
so a sign-out elsewhere, ``cx users remove|disable`` or a password change ends it at the next
click. With single sign-on configured, Streamlit's ``st.login`` signs the user in and
:mod:`cx.server.sso` maps the provider's claims to a role and a scope.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

import streamlit as st

from cx.core import users
from cx.core.scope import Scope
from cx.core.text import escape_html
from cx.core.users import User
from cx.server import sso
from cx.store import sessions
from cx.ui.components import style
from cx.ui.data import engine
from cx.ui.navigation import hidden_navigation

TOKEN_KEY = "cx_session_token"  # a session token handed to a run without a cookie (tests)


def session_token() -> str | None:
    """The session token of this browser: its cookie, else one set in session state."""
    try:
        cookie = st.context.cookies.get(sessions.COOKIE)
    except Exception:  # no request context (bare mode)
        cookie = None
    if isinstance(cookie, str) and cookie:  # (AppTest's stand-in request has no real cookies)
        return cookie
    token = st.session_state.get(TOKEN_KEY)
    return token if isinstance(token, str) else None


def _sso_user() -> tuple[User | None, str | None]:
    """The single sign-on user of this run and their session token, when signed in that way."""
    provider = sso.provider()
    if provider is None or not getattr(st.user, "is_logged_in", False):
        return None, None
    token = st.context.cookies.get(sso.COOKIE)
    if not isinstance(token, str) or not token:
        return None, None
    user = sso.map_claims(st.user.to_dict(), provider.rules)
    if user is not None and not sessions.is_known(engine(), token):
        sessions.open_session(
            engine(),
            user,
            kind="sso",
            token=token,
            address=st.context.ip_address or "",
            user_agent=st.context.headers.get("user-agent", ""),
        )
    return user, token


def current_user() -> User | None:
    """The user of this run's live session, or None."""
    sso_user, sso_token = _sso_user()
    if sso_token:
        return sessions.resolve(engine(), sso_token, sso_user=sso_user)
    return sessions.resolve(engine(), session_token())


def _here() -> str:
    """This page's path and query, to come back to after signing in."""
    try:
        url = urlsplit(st.context.url or "/")
    except Exception:
        return "/"
    return (url.path or "/") + (f"?{url.query}" if url.query else "")


def _sign_in_view() -> None:
    hidden_navigation()
    style()
    provider = sso.provider()
    if provider and st.query_params.get("sso"):
        st.login(provider.name)  # off to the identity provider; back on /oauth2callback
        st.stop()
    st.markdown("## CX Review")
    if st.session_state.pop("cx_signed_out", False):
        st.success("You are signed out. This browser's session has ended everywhere it was copied.")
    elif session_token() or (provider and getattr(st.user, "is_logged_in", False)):
        st.warning("Your session has ended: sign in again to go on.")
    else:
        st.caption(
            "Customer-experience analytics for leadership reviews. Sign in to see your scope."
        )
    if provider and getattr(st.user, "is_logged_in", False):
        st.error(f"Your {provider.label} account has no role in CX Review: ask an administrator.")
        if st.button("Sign out of single sign-on"):
            st.logout()
    st.link_button(
        "Sign in", f"/signin?next={quote(_here())}", type="primary", icon=":material/login:"
    )
    st.stop()


def login_gate() -> User:
    """Show the sign-in link until this run has a live session; stop the script otherwise."""
    user = current_user()
    if user is None:
        _sign_in_view()
        raise AssertionError("unreachable")  # st.stop() ended the run
    with st.sidebar:
        st.markdown(
            f"**{escape_html(user.name)}**  \n"
            f"{escape_html(', '.join(user.roles))} · {escape_html(str(user.scope) or 'no scope')}"
        )
        st.button(
            "Sign out",
            key="cx_sign_out",
            icon=":material/logout:",
            on_click=sign_out,
            args=(user,),
        )
    return user


def sign_out(user: User) -> None:
    """End this browser's session in the store (its cookie is worthless from now on). A button
    callback: the script runs again right after it, and shows the sign-in."""
    _, sso_token = _sso_user()
    sessions.end_session(engine(), sso_token or session_token(), actor=user.username)
    st.session_state.pop(TOKEN_KEY, None)
    st.session_state["cx_signed_out"] = True
    if sso_token:
        st.logout()


def require_user(*roles: str) -> User:
    """Every page starts here: refuse to render without a signed-in (and allowed) user. (The
    screens live in ``screens/``, not ``pages/``: Streamlit's legacy multipage mode, which would
    run a page file without the gate on a fresh server, never starts.)"""
    user = current_user()
    if user is None:
        st.warning("Please sign in from the home page to see this screen.")
        st.stop()
        raise AssertionError("unreachable")
    if roles and not user.has(*roles):
        st.error("Your role does not give access to this screen.")
        st.stop()
    return user


def data_scope(user: User) -> Scope:
    """The scope a dashboard computes from (an advisor's: only the customers they served)."""
    return users.analytics_scope(user)


def scope() -> Scope:
    user = current_user()
    return user.scope if user else Scope()
