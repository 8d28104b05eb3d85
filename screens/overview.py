"""Overview: NPS with its margin of error, shares, change, trend and the level below the scope."""

import streamlit as st

from cx import charts, ui
from cx.analytics import overview, takeaways
from cx.core import labels

user = ui.require_user()
scope, filters = ui.data_scope(user), ui.filters()
ui.header("NPS overview", user, filters)

head = ui.overview_query("headline", scope, filters)
levels = overview.breakdown_levels(scope, peers=user.has(*ui.MANAGERS))
breakdowns = [ui.overview_query("breakdown", scope, filters, level=level) for level in levels]
ui.takeaway(takeaways.overview_takeaway(head, breakdowns[0] if breakdowns else None))
ui.kpi_row(head)

left, right = st.columns([3, 2], gap="large")
with left:
    st.altair_chart(
        charts.nps_trend_chart(ui.overview_query("nps_trend", scope, filters)), width="stretch"
    )
with right:
    st.markdown("#### Promoters, passives, detractors")
    st.altair_chart(charts.shares_chart(head), width="stretch")
    ui.base_note(head)

for level, table in zip(levels, breakdowns, strict=True):
    label = labels.LEVEL_LABELS[level]
    st.subheader(f"By {label.lower()}")
    if table.is_empty():
        st.info(f"No {label.lower()} data in this scope.")
        continue
    table = labels.shown_values(table, level)
    chart_col, table_col = st.columns([1, 1], gap="large")
    with chart_col:
        st.altair_chart(charts.nps_bar_chart(table, level, label), width="stretch")
    with table_col:
        ui.breakdown_table(table, level)
