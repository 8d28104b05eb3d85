"""Strengths & weaknesses: key drivers of NPS (Johnson relative weights), the importance-performance
quadrants, and the service promise (top 3 drivers) followed across waves."""

import streamlit as st

from cx import charts, ui
from cx.analytics import drivers, evolution

user = ui.require_user(*ui.MANAGERS, *ui.OWN)
scope, filters = ui.data_scope(user), ui.filters()
ui.header("Strengths & weaknesses", user, filters)

drv = ui.query(drivers.key_drivers, scope, filters)
trend = ui.query(evolution.attribute_trend, scope, filters)
ui.takeaway(drivers.takeaway(drv, trend, filters.wave))
if drv.is_empty() or drv["low_base"][0]:
    st.info(
        "Driver analysis needs at least 30 complete answers (NPS and every attribute). Widen the filters."
    )
    st.stop()

left, right = st.columns([3, 2], gap="large")
with left:
    st.altair_chart(charts.quadrant_chart(drv), width="stretch")
with right:
    st.markdown("#### Importance")
    st.altair_chart(charts.importance_chart(drv), width="stretch")
    c1, c2 = st.columns(2)
    c1.metric("R² (variance explained)", f"{100 * drv['r2'][0]:.0f} %")
    c2.metric("Complete answers (n)", f"{drv['n'][0]:,}")

lists = drivers.quadrant_lists(drv)
columns = st.columns(4, gap="medium")
for column, (title, items) in zip(columns, lists.items(), strict=True):
    with column:
        st.markdown(f"#### {title}")
        st.text("\n".join(items) if items else "—")

for attribute, label in drivers.improvement_areas(drv)[:2] if user.has(*ui.MANAGERS) else []:
    st.page_link(
        "screens/plans.py",
        label=f"Create an action plan for {label.lower()}",
        icon=":material/add_task:",
        query_params={"problem_kind": "improvement_area", "problem_ref": attribute},
    )

st.subheader("Service promise: the top 3 drivers across waves")
promise = ui.query(drivers.service_promise, scope, filters)
st.altair_chart(charts.attribute_trend_chart(promise, columns=3, width=340), width="stretch")
st.caption(
    "Importance: Johnson's relative weights of the attributes on the 0–10 recommendation score, weighted, "
    "normalised to 100 %; complete answers only. Faded / 'not significant': the driver's standardized "
    "coefficient fails a t-test at 95 %. Quadrants split at the mean importance and the mean score of the scope."
)
