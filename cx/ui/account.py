"""The Account screen: who you are, your active sessions (sign out everywhere else, or
everywhere), and a password change for local accounts (which ends every session)."""

from __future__ import annotations

import polars as pl
import streamlit as st

from cx.core import users
from cx.core.text import escape_markdown
from cx.core.users import User, UserError
from cx.store import sessions
from cx.ui.auth import session_token, sign_out
from cx.ui.components import table
from cx.ui.data import engine


def _browser(agent: str) -> str:
    for name in ("Edg", "Firefox", "Chrome", "Safari"):
        if name in agent:
            label = {"Edg": "Edge"}.get(name, name)
            system = next(
                (s for s in ("Android", "iPhone", "Windows", "Mac OS", "Linux") if s in agent), ""
            )
            return f"{label} on {system}" if system else label
    return agent[:40] or "unknown"


def sessions_table(user: User) -> None:
    rows = sessions.sessions_of(engine(), user.username, current=session_token())
    st.subheader("Where you are signed in")
    frame = pl.DataFrame(
        {
            "This browser": ["yes" if r.current else "" for r in rows],
            "Signed in": [r.created_at.strftime("%Y-%m-%d %H:%M UTC") for r in rows],
            "Last active": [r.last_seen_at.strftime("%Y-%m-%d %H:%M UTC") for r in rows],
            "From": [r.address or "unknown" for r in rows],
            "Browser": [_browser(r.user_agent) for r in rows],
            "Ends": [r.expires_at.strftime("%Y-%m-%d %H:%M UTC") for r in rows],
        },
        schema={
            c: pl.String
            for c in ("This browser", "Signed in", "Last active", "From", "Browser", "Ends")
        },
    )
    table(frame, name="sessions", key="sessions")
    left, right = st.columns(2)
    if left.button("Sign out everywhere else", disabled=len(rows) <= 1, width="stretch"):
        ended = sessions.end_user_sessions(
            engine(), user.username, actor=user.username, keep=session_token(), reason="elsewhere"
        )
        st.success(f"Signed out of {ended} other session{'s' if ended != 1 else ''}.")
    right.button(
        "Sign out everywhere",
        type="primary",
        width="stretch",
        on_click=_everywhere,
        args=(user,),
    )


def _everywhere(user: User) -> None:
    sessions.end_user_sessions(engine(), user.username, actor=user.username, reason="all")
    sign_out(user)


def password_form(user: User) -> None:
    if users.get(user.username) is None:  # a single sign-on account: its provider owns it
        st.caption("Your password is managed by your organisation's single sign-on.")
        return
    st.subheader("Change your password")
    with st.form("password", clear_on_submit=True):
        current = st.text_input("Current password", type="password")
        new = st.text_input(
            f"New password (at least {users.MIN_PASSWORD} characters)", type="password"
        )
        again = st.text_input("New password again", type="password")
        submitted = st.form_submit_button("Change password")
    if not submitted:
        return
    if new != again:
        st.error("The two new passwords differ.")
        return
    check = sessions.sign_in(engine(), user.username, current, st.context.ip_address or "")
    if check.user is None:
        st.error(check.reason.replace("Username or password", "The current password"))
        return
    try:
        users.set_password(user.username, new, by=user)
    except UserError as exc:
        st.error(f"{exc}.")
        return
    sessions.end_user_sessions(engine(), user.username, actor=user.username, reason="password")
    st.success("Password changed: every session has ended, sign in again with the new one.")


def render(user: User) -> None:
    st.markdown(
        f"## Your account\n**{escape_markdown(user.name)}** · {escape_markdown(user.username)}"
    )
    st.caption(f"Roles: {', '.join(user.roles)} · scope: {user.scope or 'none'}")
    sessions_table(user)
    password_form(user)
