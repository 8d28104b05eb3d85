"""Evolution: NPS and every attribute across all waves, significant changes marked, and a
two-wave comparison."""

import streamlit as st

from cx import charts, ui
from cx.analytics import evolution

user = ui.require_user(*ui.MANAGERS)
scope, filters = user.scope, ui.filters()
ui.header("Evolution", user, filters)

nps = ui.query("nps_trend", scope, filters)
trend = ui.query(evolution.attribute_trend, scope, filters)
ui.takeaway(evolution.takeaway(nps, trend, filters.wave))

st.altair_chart(charts.nps_trend_chart(nps), width="stretch")
st.subheader("Attributes across waves (▲ ▼ significant change vs the wave before)")
if trend.is_empty():
    st.info("No attribute ratings in this data.")
else:
    st.altair_chart(charts.attribute_trend_chart(trend), width="stretch")

st.subheader("Compare two waves")
all_waves = ui.waves(ui.version())
c1, c2 = st.columns(2)
wave_a = c1.selectbox(
    "From wave", all_waves, index=max(len(all_waves) - 2, 0), key="cmp_from", bind="query-params"
)
wave_b = c2.selectbox(
    "To wave", all_waves, index=len(all_waves) - 1, key="cmp_to", bind="query-params"
)
compare = ui.query(evolution.compare_waves, scope, filters, wave_a=wave_a, wave_b=wave_b)
left, right = st.columns([1, 1], gap="large")
with left:
    st.altair_chart(charts.comparison_chart(compare), width="stretch")
with right:
    ui.table(evolution.comparison_table(compare), name=f"waves {wave_a} vs {wave_b}", key="compare")
st.caption(
    "Significant: two-sample z test at 95 % (NPS: adjusted-Wald margins; attributes: SE = sd / √n_eff). "
    "Low bases (n < 30) are never marked significant; cells with n < 5 are hidden."
)
