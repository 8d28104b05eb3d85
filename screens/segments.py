"""Segments & RFM: NPS by customer segment and RFM tier, the tier x segment grid, and what
detractors cost (revenue share and revenue per customer)."""

import streamlit as st

from cx import charts, ui
from cx.analytics import rfm, segments
from cx.core.data import DataError

user = ui.require_user(*ui.MANAGERS)
scope, filters = user.scope, ui.filters()
root = str(ui.data_root())
ui.header("Segments & RFM", user, filters)

try:
    seg = ui.query(segments.segment_nps, scope, filters)
    trend = ui.query(segments.segment_trend, scope, filters)
    tiers = ui.query(segments.tier_nps, scope, filters, root=root)
    grid = ui.query(segments.tier_segment_grid, scope, filters, root=root)
    value = ui.query(segments.value_by, scope, filters, root=root, by="nps_group")
    tier_value = ui.query(segments.value_by, scope, filters, root=root, by="rfm_tier")
except DataError as exc:
    st.error(f"{exc}. Fix or re-import the file, then reload.")
    st.stop()

ui.takeaway(segments.takeaway(seg, trend, tiers, value))

left, right = st.columns([2, 3], gap="large")
with left:
    st.subheader("NPS by segment")
    if seg.is_empty():
        st.info("No customer segment in this data.")
    else:
        st.altair_chart(charts.segment_nps_chart(seg, "segment", "Segment"), width="stretch")
with right:
    if not trend.is_empty():
        st.altair_chart(charts.segment_trend_chart(trend), width="stretch")

if tiers.is_empty():
    st.info(
        "No CRM transactions (crm/transactions.parquet): RFM tiers and revenue are not available."
    )
    st.stop()

left, right = st.columns([2, 3], gap="large")
with left:
    st.subheader("NPS by RFM tier")
    st.altair_chart(charts.segment_nps_chart(tiers, "rfm_tier", "RFM tier"), width="stretch")
with right:
    st.subheader("RFM tier × segment (NPS)")
    if not grid.is_empty():
        st.altair_chart(charts.tier_segment_heatmap(grid, rfm.load_tiers().names), width="stretch")

st.subheader("What detractors cost")
left, right = st.columns(2, gap="large")
with left:
    st.altair_chart(charts.value_chart(value, "Promoters, passives, detractors"), width="stretch")
with right:
    st.altair_chart(charts.value_chart(tier_value, "RFM tiers"), width="stretch")
st.caption(
    "Revenue = each surveyed customer's CRM spend over the 12 months to the wave's last day (counted once). "
    "RFM tiers as of the wave's last day: recency, frequency and spend scored 1–5 by quintile, "
    "named by cx/config/rfm_tiers.yaml. Grey bars and grey cell numbers: low base (n < 30); hidden cells (n < 5, or revealing one by subtraction) show only their count."
)
