"""Webhooks screen: the form that subscribes a receiver, and the secret shown once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

from cx.ui.actions import flash


def subscription_form(event_types: Sequence[str]) -> dict[str, Any] | None:
    """The "add a subscription" form: URL, event types and scope once submitted; a refusal is
    flashed in the form (slot ``add_webhook``)."""
    with st.form("add_webhook"):
        st.markdown("#### Add a subscription")
        url = st.text_input("Receiver URL", placeholder="https://example.com/cx-webhooks")
        events = st.multiselect("Events", list(event_types), default=list(event_types[:1]))
        scope = st.text_input(
            "Scope", value="world", help="world, region:<name>, country:<code> or agency:<name>"
        )
        submitted = st.form_submit_button("Add subscription", type="primary")
        flash("add_webhook")
    if not submitted:
        return None
    return {"url": url, "events": events, "scope": scope}


def secret_notice(sub_id: str, secret: str) -> None:
    """The new subscription's signing secret, shown once (it verifies the deliveries)."""
    st.success(f"Subscription {sub_id} added. Its signing secret (shown once):")
    st.code(secret, language=None)
