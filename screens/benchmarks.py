"""Benchmarks: league tables with 95 % intervals and rank movement, or an agency vs its country."""

import streamlit as st

from cx import charts, ui
from cx.analytics import benchmarks
from cx.core.labels import LEVEL_LABELS
from cx.ui import indices as indices_ui

user = ui.require_user(*ui.MANAGERS)
scope, filters = user.scope, ui.filters()
ui.header("Benchmarks", user, filters)

levels = benchmarks.league_levels(scope)
leagues = {
    level: ui.query(benchmarks.league_table, scope, filters, level=level) for level in levels
}
own_label = (
    ", ".join(scope.values("agency") or scope.values("country") or scope.values("region"))
    or "World"
)
own_label = (
    benchmarks.entity_label("country", own_label) if scope.top_level == "country" else own_label
)
attrs = None if scope.is_world else ui.query(benchmarks.attribute_benchmark, scope, filters)

if levels:
    ui.takeaway(benchmarks.league_takeaway(leagues[levels[0]], levels[0]))
elif attrs is not None:
    ui.takeaway(benchmarks.attribute_takeaway(attrs, own_label))

for level, table in leagues.items():
    label = LEVEL_LABELS[level]
    parent = benchmarks.parent_label(table)
    st.subheader(f"{label} league vs {parent if parent != 'World' else 'the world'}")
    if table.is_empty():
        st.info(f"No {label.lower()} data in this scope for this wave.")
        continue
    chart_col, table_col = st.columns([1, 1], gap="large")
    with chart_col:
        st.altair_chart(charts.league_chart(table, level, label, parent), width="stretch")
    with table_col:
        ui.table(
            benchmarks.league_view(table, level, label),
            name=f"{label} league {filters.wave or ''}",
            key=f"league_{level}",
        )
    st.caption(
        "Dots: NPS; bars: 95 % interval; grey tick: the average compared with. Low bases (n < 30) "
        "are shown but never ranked; cells under 5 answers are hidden."
    )

if attrs is not None:
    parent = benchmarks.own_parent(attrs)
    st.subheader(f"{own_label} vs {parent or 'the world'}, attribute by attribute")
    if attrs.is_empty() or bool(attrs["suppressed"][0]):
        st.info("Too few responses in this wave to benchmark this scope.")
    else:
        ui.benchmark_figures(attrs.row(0, named=True), own_label, parent)
        chart_col, table_col = st.columns([3, 2], gap="large")
        with chart_col:
            st.altair_chart(
                charts.attribute_benchmark_chart(attrs, own_label, parent), width="stretch"
            )
        with table_col:
            ui.table(
                benchmarks.attribute_view(attrs, own_label),
                name=f"{own_label} attributes {filters.wave or ''}",
                key="attribute_benchmark",
            )
        wider = f"{parent} and world figures are" if parent else "World figures are"
        st.caption(f"{wider} aggregates only: no other site's name, rows or comments are shown.")

indices_ui.indices_section(scope, filters, key="benchmark_indices")
