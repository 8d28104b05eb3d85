"""Segments & RFM: NPS by customer segment and RFM tier, the tier x segment grid, and what
detractors cost (revenue share and revenue per customer).

The page's frame (headings, columns, caption) is drawn first and each chart's place says what is
being computed, so the screen is never blank while the CRM joins run."""

import streamlit as st

from cx import charts, ui
from cx.analytics import rfm, segments
from cx.core.data import DataError

user = ui.require_user(*ui.MANAGERS)
scope, filters = user.scope, ui.filters()
root = str(ui.data_root())
ui.header("Segments & RFM", user, filters)

summary = st.empty()  # the takeaway needs every query: its place is kept on top
summary.caption("Computing the takeaway…")
seg_col, trend_col = st.columns([2, 3], gap="large")
seg_col.subheader("NPS by segment")
trend_col.subheader("NPS by segment over waves")
crm = st.empty()  # the RFM half; one note instead when there is no CRM file
with crm.container():
    tier_col, grid_col = st.columns([2, 3], gap="large")
    tier_col.subheader("NPS by RFM tier")
    grid_col.subheader("RFM tier × segment (NPS)")
    st.subheader("What detractors cost")
    value_col, tier_value_col = st.columns(2, gap="large")
st.caption(
    "Revenue = each surveyed customer's CRM spend over the 12 months to the wave's last day (counted once). "
    "RFM tiers as of the wave's last day: recency, frequency and spend scored 1–5 by quintile, "
    "named by cx/config/rfm_tiers.yaml. Grey bars and grey cell numbers: low base (n < 30); hidden cells (n < 5, or revealing one by subtraction) show only their count."
)

try:
    with seg_col, st.spinner("Computing NPS by segment…"):
        seg = ui.query(segments.segment_nps, scope, filters)
    with seg_col:
        if seg.is_empty():
            st.info("No customer segment in this data.")
        else:
            st.altair_chart(charts.segment_nps_chart(seg, "segment", "Segment"), width="stretch")
    with trend_col, st.spinner("Computing NPS by segment over the waves…"):
        trend = ui.query(segments.segment_trend, scope, filters)
    if not trend.is_empty():
        trend_col.altair_chart(charts.segment_trend_chart(trend, title=None), width="stretch")
    with tier_col, st.spinner("Scoring RFM tiers from the CRM…"):
        tiers = ui.query(segments.tier_nps, scope, filters, root=root)
    if tiers.is_empty():
        value = ui.query(segments.value_by, scope, filters, root=root, by="nps_group")
        with summary:
            ui.takeaway(segments.takeaway(seg, trend, tiers, value))
        crm.info(
            "No CRM transactions (crm/transactions.parquet): RFM tiers and revenue are not available."
        )
        st.stop()
    tier_col.altair_chart(charts.segment_nps_chart(tiers, "rfm_tier", "RFM tier"), width="stretch")
    with grid_col, st.spinner("Crossing RFM tiers with segments…"):
        grid = ui.query(segments.tier_segment_grid, scope, filters, root=root)
    if not grid.is_empty():
        grid_col.altair_chart(
            charts.tier_segment_heatmap(grid, rfm.load_tiers().names), width="stretch"
        )
    with value_col, st.spinner("Computing revenue per customer…"):
        value = ui.query(segments.value_by, scope, filters, root=root, by="nps_group")
    value_col.altair_chart(
        charts.value_chart(value, "Promoters, passives, detractors"), width="stretch"
    )
    with tier_value_col, st.spinner("Computing revenue per RFM tier…"):
        tier_value = ui.query(segments.value_by, scope, filters, root=root, by="rfm_tier")
    tier_value_col.altair_chart(charts.value_chart(tier_value, "RFM tiers"), width="stretch")
except DataError as exc:
    summary.error(f"{exc}. Fix or re-import the file, then reload.")
    st.stop()

with summary:
    ui.takeaway(segments.takeaway(seg, trend, tiers, value))
