"""API tokens (user admin): every token with its scope, role and last use; make one (shown
once), revoke one (after confirming)."""

import streamlit as st

from cx import store, ui
from cx.core import roles
from cx.store import tokens
from cx.ui import tokens as tokens_ui

user = ui.require_user(*roles.USER_ADMINS)
ui.header("API tokens", user)

with store.session(ui.engine()) as s:
    rows = tokens.list_tokens(s)
ui.table(tokens_ui.tokens_frame(rows), name="API tokens", key="tokens")

if made := st.session_state.pop(tokens_ui.NEW_TOKEN, None):
    tokens_ui.token_notice(*made)
if form := tokens_ui.token_form():
    ui.act(
        lambda s: (form["name"], tokens.create(s, **form, by=user)),
        None,
        refused=(tokens.TokenError, tokens.TokenForbidden),
        failed="{exc}. No token was made.",
        then=lambda made: st.session_state.update({tokens_ui.NEW_TOKEN: made}),
        slot="add_token",
    )

if chosen := tokens_ui.revoke_picker([t.name for t in rows if t.revoked_at is None]):
    ui.act(
        lambda s: tokens.revoke(s, chosen, by=user),
        f"Token {chosen} revoked.",
        refused=(tokens.TokenError, tokens.TokenForbidden),
    )
ui.flash()
