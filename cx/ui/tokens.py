"""API tokens screen: the tokens table, the "make a token" form, the token shown once, and the
revoke confirmation. Every write goes through :mod:`cx.store.tokens` as the acting user."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import polars as pl
import streamlit as st

from cx.core.roles import ROLES
from cx.core.text import escape_markdown
from cx.store.models import ApiToken
from cx.ui.actions import flash

NEW_TOKEN = "api_token_new"
"""Session key of the token just made: popped by the next run, so it is shown once."""
COLUMNS = ("Name", "Scope", "Role", "Created", "Created by", "Last used", "Revoked")


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else ""


def tokens_frame(rows: Sequence[ApiToken]) -> pl.DataFrame:
    """One row per token (never its hash): scope, role, created, last used, revoked."""
    return pl.DataFrame(
        [
            (t.name, t.scope, t.role, _when(t.created_at), t.created_by, _when(t.last_used_at))
            + (_when(t.revoked_at),)
            for t in rows
        ],
        schema={c: pl.String for c in COLUMNS},
        orient="row",
    )


def token_form() -> dict[str, Any] | None:
    """The "make a token" form: name, scope and role once submitted; a refusal is flashed in the
    form (slot ``add_token``)."""
    with st.form("add_token"):
        st.markdown("#### Make a token")
        name = st.text_input(
            "Name", placeholder="crm-sync", help="lower-case letters, digits, . _ -"
        )
        scope = st.text_input(
            "Scope", value="world", help="world, region:<name>, country:<code> or agency:<name>"
        )
        role = st.selectbox("Role", ROLES, index=ROLES.index("analyst"))
        submitted = st.form_submit_button("Make token", type="primary")
        flash("add_token")
    if not submitted:
        return None
    return {"name": name, "scope": scope, "role": role}


def token_notice(name: str, token: str) -> None:
    """The new token, shown this once: the store keeps only its hash."""
    st.success(f"Token {escape_markdown(name)} made.")
    st.warning("Copy it now: it is shown only once and cannot be read again.")
    st.code(token, language=None)


def revoke_picker(live: Sequence[str]) -> str | None:
    """The token to revoke once its name is confirmed (a revoked token never works again)."""
    if not live:
        return None
    st.subheader("Revoke a token")
    chosen = st.selectbox("Token", list(live), key="revoke_token")
    sure = st.checkbox(
        f"Yes, revoke {chosen}: every call with it will be refused", key="revoke_sure"
    )
    if st.button("Revoke token", disabled=not sure):
        return str(chosen)
    return None
