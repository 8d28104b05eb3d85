"""Fieldwork: response and delivery rates by channel and agency, pace against target, laggards;
and the live survey funnel (invited → completed) of captured surveys."""

import streamlit as st

from cx import charts, store, ui
from cx.analytics import fieldwork
from cx.capture import funnel
from cx.charts.fieldwork import funnel_chart

user = ui.require_user(*ui.MANAGERS)
scope, filters = user.scope, ui.filters()
ui.header("Fieldwork monitoring", user, filters)
root = str(ui.data_root())
with store.session(ui.engine()) as s:
    live = funnel.funnel(s, scope, filters) if funnel.has_activity(s, scope) else None


def live_funnel() -> None:
    """The section of captured surveys, from the store (not from the imported counts)."""
    st.markdown("### Survey funnel (live capture)")
    if live is None or live.is_empty():
        st.info(f"No survey link was opened or invitation sent in {filters.wave or 'this period'}.")
        return
    st.altair_chart(funnel_chart(funnel.stages(live, "channel")), width="stretch")
    rate = st.column_config.NumberColumn(format="percent")
    st.dataframe(
        funnel.totals(live, "agency"),
        hide_index=True,
        width="stretch",
        column_config={c: rate for c in ("open_rate", "completion_rate", "response_rate")},
    )
    st.caption(
        "Personal invitations count invited → sent → opened → started → completed; open links "
        "(QR codes, kiosks) count visits, starts and answers. Open rate = opened ÷ invited."
    )


if not fieldwork.has_fieldwork(root):
    st.info(
        "No fieldwork counts yet. An analyst can import them on the Import data screen or with `cx import-fieldwork FILE`."
    )
    if live is not None:
        live_funnel()
    st.stop()

try:
    summary = ui.query(fieldwork.summary, scope, filters, root=root)
    agencies = ui.query(fieldwork.agency_progress, scope, filters, root=root)
    channels = ui.query(fieldwork.channel_rates, scope, filters, root=root)
    daily = ui.query(fieldwork.daily_progress, scope, filters, root=root)
except fieldwork.FieldworkError as exc:
    st.error(f"{exc}. Pick another wave or import fieldwork counts.")
    if live is not None:
        live_funnel()
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
    st.markdown("#### Agencies by response rate")
    st.dataframe(
        fieldwork.agency_table(agencies),
        hide_index=True,
        width="stretch",
        column_config={
            "Response %": st.column_config.NumberColumn(format="%.1f"),
            "Delivered %": st.column_config.NumberColumn(format="%.1f"),
            "vs target %": st.column_config.NumberColumn(format="%.0f"),
            "Responses": st.column_config.NumberColumn(format="localized"),
        },
    )
st.caption(
    "Response rate = responses ÷ delivered invitations; delivery rate = delivered ÷ sent. "
    f"An agency lags when its response rate is under {fieldwork.LAG_RATE:.0%} of its scope's rate "
    f"or its responses are under {fieldwork.LAG_ATTAINMENT:.0%} of the target expected by now."
)

if live is not None:
    live_funnel()
