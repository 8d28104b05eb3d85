"""Charts of the close-the-loop screens: the alert sparkline (uses the one theme of cx.charts)."""

from __future__ import annotations

import altair as alt
import polars as pl

from cx.charts.theme import MIN_FONT, PALETTE, records

MIN_SPAN = 2.0
"""Smallest y range of a sparkline, in points of the 0-10 scale."""


def sparkline_chart(history: pl.DataFrame, *, height: int = 90) -> alt.LayerChart | alt.FacetChart:
    """An attribute's mean per wave (``wave``, ``mean``, ``latest``): a line with the latest point in red."""
    order = history["wave"].to_list()
    values = [v for v in history["mean"].to_list() if v is not None] or [0.0, 10.0]
    lo, hi = min(values), max(values)
    if hi - lo < MIN_SPAN:  # a flat series must look flat: noise of 0.2 point is not a cliff
        mid = (lo + hi) / 2
        lo, hi = mid - MIN_SPAN / 2, mid + MIN_SPAN / 2
    df = history.with_columns(label=pl.format("{}", pl.col("mean").round(1)))
    base = alt.Chart(records(df)).encode(
        x=alt.X(
            "wave:N",
            sort=order,
            title=None,
            axis=alt.Axis(labels=False, ticks=False, domain=False, grid=False),
        ),
        y=alt.Y(
            "mean:Q",
            title=None,
            scale=alt.Scale(domain=[round(lo - 0.2, 2), round(hi + 0.2, 2)], nice=False),
            axis=alt.Axis(tickCount=3, labelFontSize=MIN_FONT, grid=False),
        ),
        tooltip=[alt.Tooltip("wave:N"), alt.Tooltip("mean:Q", format=".2f", title="mean (0-10)")],
    )
    line = base.mark_line(color=PALETTE["brand"], strokeWidth=2.5)
    points = base.mark_point(filled=True, size=50).encode(
        color=alt.Color(
            "latest:N",
            scale=alt.Scale(domain=[False, True], range=[PALETTE["brand"], PALETTE["down"]]),
            legend=None,
        ),
        size=alt.Size(
            "latest:N", scale=alt.Scale(domain=[False, True], range=[40, 140]), legend=None
        ),
    )
    last = (
        base.transform_filter(alt.datum.latest)
        .mark_text(dx=-4, dy=-14, align="right", fontSize=15, fontWeight=700, color=PALETTE["down"])
        .encode(text="label:N")
    )
    return alt.layer(line, points, last).properties(height=height)
