"""Relational vs transactional: the relationship's NPS beside each touchpoint's, which touchpoints
drag the relationship, and the attribute profile of each survey."""

import streamlit as st

from cx import ui
from cx.analytics import touchpoints
from cx.charts import touchpoints as tp_charts

user = ui.require_user(*ui.MANAGERS)
scope, filters = user.scope, ui.filters()
ui.header("Relational vs transactional", user, filters)

side = ui.query(touchpoints.side_by_side, scope, filters)
dragged = ui.query(touchpoints.drag, scope, filters)
profile = ui.query(touchpoints.attribute_profile, scope, filters)
ui.takeaway(touchpoints.takeaway(side, dragged))
ignored = (
    "The touchpoint filter is ignored here: every touchpoint is compared with the relationship."
)
if filters.touchpoints:
    st.info(ignored)
if side.is_empty():
    st.info("No survey answers with a touchpoint column in this scope and wave.")
    st.stop()

st.subheader("NPS of the relationship and of each touchpoint")
st.altair_chart(tp_charts.touchpoint_nps_chart(side), width="stretch")
one = st.column_config.NumberColumn(format="%.1f")
signed = st.column_config.NumberColumn(format="%+.1f")
decimals = {"NPS": one, "± MoE": one, "Previous wave": one, "Change": signed}
ui.table(
    touchpoints.side_table(side),
    name=f"relational vs transactional {filters.wave}",
    key="side",
    column_config=decimals,
)
st.caption(
    "Relational: answers with no touchpoint (the relationship survey); transactional: answers at a "
    "touchpoint. Change vs the previous wave: significant when |ΔNPS| / √(SE₁² + SE₂²) > 1.96. "
    "Low base: n < 30 (grey, never marked); n < 5: no score."
    + ("" if filters.touchpoints else " " + ignored)
)

st.subheader("Which touchpoints drag the relationship")
if not touchpoints.has_drag(dragged):
    st.info("Fewer than 30 customers answered both surveys at every touchpoint: no drag figure.")
else:
    st.altair_chart(tp_charts.drag_chart(dragged), width="stretch")
ui.table(
    touchpoints.drag_table(dragged),
    name=f"touchpoint drag {filters.wave}",
    key="drag",
    column_config={
        "Correlation r": st.column_config.NumberColumn(format="%.2f"),
        "Relational NPS after a detractor answer": one,
        "after a promoter answer": one,
        "Drag (gap)": one,
    },
)
st.caption(
    f"A customer is paired at a touchpoint when their latest relational answer of {filters.wave} "
    "follows an answer at that touchpoint given in the same wave or the wave before (the latest one "
    "counts). Drag = relational NPS of customers whose touchpoint answer was a promoter (9–10) "
    "minus that of customers whose answer was a detractor (0–6); r = weighted Pearson correlation "
    "of the two scores. Fewer than 30 paired customers: no figure and no rank; fewer than 5: only "
    "the count. A gap is tested (z, 95 %) only when both groups hold 30 customers or more."
)

st.subheader("Attribute profile (mean, 0–10)")
if profile.is_empty():
    st.info("No attribute ratings in this data.")
else:
    st.altair_chart(tp_charts.attribute_profile_chart(profile), width="stretch")
    st.caption(
        "Weighted mean of each attribute per survey; a cell of fewer than 5 ratings shows only its count."
    )
