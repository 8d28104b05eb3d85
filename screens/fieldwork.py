"""Fieldwork: response and delivery rates by channel and agency, pace against target, laggards;
and the live survey funnel (invited → completed) of captured surveys."""

import streamlit as st

from cx import charts, store, ui
from cx.analytics import fieldwork
from cx.capture import funnel
from cx.ui import indices as indices_ui

user = ui.require_user(*ui.MANAGERS)
scope, filters = user.scope, ui.filters()
ui.header("Fieldwork monitoring", user, filters)
root = str(ui.data_root())
with store.session(ui.engine()) as s:
    live = funnel.funnel(s, scope, filters) if funnel.has_activity(s, scope) else None

if not fieldwork.has_fieldwork(root):
    st.info(
        "No fieldwork counts yet. An analyst can import them on the Import data screen or with `cx import-fieldwork FILE`."
    )
    if live is not None:
        ui.fieldwork_funnel(live, filters.wave)
    indices_ui.indices_section(scope, filters, key="fieldwork_indices")
    indices_ui.served_form(user)
    st.stop()

try:
    summary = ui.query(fieldwork.summary, scope, filters, root=root)
    agencies = ui.query(fieldwork.agency_progress, scope, filters, root=root)
    channels = ui.query(fieldwork.channel_rates, scope, filters, root=root)
    daily = ui.query(fieldwork.daily_progress, scope, filters, root=root)
except fieldwork.FieldworkError as exc:
    st.error(f"{exc}. Pick another wave or import fieldwork counts.")
    if live is not None:
        ui.fieldwork_funnel(live, filters.wave)
    st.stop()

ui.takeaway(fieldwork.takeaway(summary, filters.wave))
ui.fieldwork_figures(summary.row(0, named=True))

st.altair_chart(charts.daily_progress_chart(daily), width="stretch")

left, right = st.columns(2, gap="large")
with left:
    st.altair_chart(charts.rate_chart(channels, "channel", "Channel"), width="stretch")
with right:
    st.altair_chart(
        charts.rate_chart(channels, "channel", "Channel", "delivery_rate", "Delivery rate"),
        width="stretch",
    )

left, right = st.columns(2, gap="large")
with left:
    st.altair_chart(charts.rate_chart(agencies, "agency", "Agency"), width="stretch")
with right:
    ui.fieldwork_agencies(agencies, filters.wave)
st.caption(
    "Response rate = responses ÷ delivered invitations; delivery rate = delivered ÷ sent. "
    f"An agency lags when its response rate is under {fieldwork.LAG_RATE:.0%} of its scope's rate "
    f"or its responses are under {fieldwork.LAG_ATTAINMENT:.0%} of the target expected by now."
)

if live is not None:
    ui.fieldwork_funnel(live, filters.wave)

indices_ui.indices_section(scope, filters, key="fieldwork_indices")
indices_ui.served_form(user)
