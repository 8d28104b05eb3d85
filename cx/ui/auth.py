"""Authentication: the cookie signing key, the sign-in gate, the signed-in user and their scope,
and the check every page starts with (which also leaves Streamlit's legacy ``pages/`` mode)."""

from __future__ import annotations

import copy
import os
import secrets
from pathlib import Path
from typing import Any

import streamlit as st

from cx.core import users
from cx.core.scope import Scope
from cx.core.users import User
from cx.ui.components import style
from cx.ui.navigation import hidden_navigation

COOKIE_KEY_FILE = Path(".streamlit/.cookie_key")


def cookie_key() -> str:
    """Cookie signing key: secrets.toml, else CX_COOKIE_KEY, else a generated, git-ignored file."""
    try:
        key = st.secrets.get("auth", {}).get("cookie_key")
    except Exception:  # no secrets.toml at all
        key = None
    key = key or os.environ.get("CX_COOKIE_KEY")
    if key:
        return str(key)
    if not COOKIE_KEY_FILE.exists():
        COOKIE_KEY_FILE.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(COOKIE_KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return COOKIE_KEY_FILE.read_text().strip()


def _authenticator() -> Any:
    import streamlit_authenticator as stauth

    config = users.load_config()
    cookie = config.get("cookie", {})
    return stauth.Authenticate(
        copy.deepcopy(config["credentials"]),
        cookie.get("name", "cx_review_auth"),
        cookie_key(),
        float(cookie.get("expiry_days", 7)),
        auto_hash=False,
    )


def current_user() -> User | None:
    """The authenticated user (from session state), or None."""
    if st.session_state.get("authentication_status") is not True:
        return None
    return users.get(st.session_state.get("username"))


def login_gate() -> User:
    """Show the login form until a known user is authenticated; stop the script otherwise."""
    _leave_pages_directory_mode()
    auth = _authenticator()
    if current_user() is None:
        # Register every page (hidden) so a deep link such as /overview?wave=… is recognised and
        # kept while the user signs in; no page runs until the login succeeds. Without this,
        # Streamlit would fall back to running pages/*.py directly on a fresh server.
        hidden_navigation()
        style()
        st.markdown("## CX Review")
        st.caption(
            "Customer-experience analytics for leadership reviews. Sign in to see your scope."
        )
        try:
            auth.login(
                location="main",
                fields={
                    "Form name": "Sign in",
                    "Username": "Username",
                    "Password": "Password",
                    "Login": "Sign in",
                },
            )
        except Exception as exc:  # the authenticator raises on malformed input
            st.error(f"Sign-in failed: {exc}")
        if st.session_state.get("authentication_status") is False:
            st.error("Username or password is incorrect.")
    user = current_user()
    if user is None:
        st.stop()
    with st.sidebar:
        st.markdown(f"**{user.name}**  \n{', '.join(user.roles)} · {user.scope or 'no scope'}")
        auth.logout("Log out", location="sidebar", key="cx_logout")
    return user  # type: ignore[return-value]


def _leave_pages_directory_mode() -> bool:
    """Switch a fresh server out of Streamlit's legacy ``pages/`` mode; True if it was in it.

    On a freshly started server, a deep link such as ``/overview`` runs ``pages/overview.py``
    directly (Streamlit's v1 multipage mode) instead of ``app.py``, skipping the login form and
    the navigation. We turn that mode off so every later run goes through ``app.py``.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # pragma: no cover - layout of a future Streamlit
        return False
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        return True
    return False


def require_user(*roles: str) -> User:
    """Every page starts here: refuse to render without an authenticated (and allowed) user."""
    user = current_user()
    if user is None:
        if _leave_pages_directory_mode():
            st.rerun()  # run again through app.py, which shows the sign-in form on this URL
        st.warning("Please sign in from the home page to see this screen.")
        st.stop()
    if roles and not user.has(*roles):  # type: ignore[union-attr]
        st.error("Your role does not give access to this screen.")
        st.stop()
    return user  # type: ignore[return-value]


def scope() -> Scope:
    user = current_user()
    return user.scope if user else Scope()
