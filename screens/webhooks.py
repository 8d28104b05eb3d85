"""Webhooks (data admin): the subscriptions, their recent deliveries, add / remove, send a test event."""

import streamlit as st

from cx import store, ui
from cx.core import roles
from cx.loop import webhooks
from cx.ui import webhooks as webhooks_ui

user = ui.require_user(*roles.DATA_ADMINS)
ui.header("Webhooks", user)
engine = ui.engine()

with store.session(engine) as s:
    subs = webhooks.subscriptions_frame(s)
    sent = webhooks.deliveries_frame(s)
ui.table(subs, name="webhook subscriptions", key="webhooks")

if new := st.session_state.pop("webhook_secret", None):
    webhooks_ui.secret_notice(*new)
if form := webhooks_ui.subscription_form(webhooks.EVENT_TYPES):
    ui.act(
        lambda s: webhooks.add(s, actor=user.username, **form),
        lambda sub: f"Subscription {sub.id} added.",
        refused=(webhooks.WebhookError,),
        failed="{exc}. Nothing was saved.",
        then=lambda sub: st.session_state.update(webhook_secret=(sub.id, sub.secret)),
        slot="add_webhook",
    )

if subs.height:
    chosen = st.selectbox("Subscription", subs["id"].to_list())
    test, remove = st.columns(2)
    if test.button("Send test event", type="primary"):
        ui.act(
            lambda s: webhooks.send_test(s, chosen, actor=user.username),
            "Test event queued: it is delivered by the outbox within a minute.",
            refused=(webhooks.WebhookError,),
        )
    if remove.button("Remove subscription"):
        ui.act(
            lambda s: webhooks.remove(s, chosen, actor=user.username),
            f"Subscription {chosen} removed.",
            refused=(webhooks.WebhookError,),
        )
ui.flash()

st.subheader("Recent deliveries")
ui.table(sent, name="webhook deliveries", key="webhook_deliveries")
