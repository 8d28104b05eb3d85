"""World zones: a map of countries coloured by NPS, CSAT or an attribute, beside the zone table."""

import streamlit as st

from cx import charts, ui
from cx.analytics import overview, zones

user = ui.require_user(*ui.MANAGERS)
scope, filters = user.scope, ui.filters()
ui.header("World zones", user, filters)
if scope.top_level not in ("world", "region"):
    st.info("World zones compare regions and countries: it is open to world and region scopes.")
    st.stop()

options = zones.metric_options(overview.columns_of(ui.responses()))
pick, _ = st.columns([1, 2])
metric = pick.selectbox(
    "Colour the map by",
    list(options),
    format_func=options.get,
    key="zone_metric",
    bind="query-params",
)
table = ui.query(zones.zone_table, scope, filters, metric=metric or "nps")
ui.takeaway(zones.zones_takeaway(table))

if table.is_empty():
    st.info("No responses for this scope, wave and filters.")
    st.stop()
map_col, table_col = st.columns([3, 2], gap="large")
with map_col:
    st.altair_chart(charts.world_map_chart(table), width="stretch")
with table_col:
    ui.table(
        zones.zone_view(table),
        name=f"zones {metric} {filters.wave or ''}",
        key="zones",
        height=35 * (table.height + 1) + 3,
    )
st.caption(
    "Grey countries have no responses in this scope. Pale colours mark low bases (n < 30); cells under 5 answers are hidden."
)
