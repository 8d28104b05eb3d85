"""Charts of complaint cases: pure ``<noun>_chart(df) -> alt.Chart`` on the cx theme."""

from __future__ import annotations

import altair as alt
import polars as pl

from cx.charts.theme import PALETTE, records

CASE_STATES = {
    "open": PALETTE["detractor"],
    "resolved": PALETTE["passive"],
    "closed": PALETTE["promoter"],
}


def case_status_chart(stats: pl.DataFrame, by: str = "agency", label: str = "Agency") -> alt.Chart:
    """Cases per agency (or advisor): open, resolved and closed as stacked horizontal bars."""
    long = (
        stats.select(pl.col(by), *CASE_STATES)
        .unpivot(index=by, variable_name="state", value_name="cases")
        .filter(pl.col("cases") > 0)
        .with_columns(
            order=pl.col("state").replace_strict(
                {s: i for i, s in enumerate(CASE_STATES)}, return_dtype=pl.Int64
            )
        )
    )
    order = stats.sort("open", "cases", descending=True)[by].to_list()
    return (
        alt.Chart(records(long), title="Cases by status")
        .mark_bar(cornerRadiusEnd=3)
        .encode(
            y=alt.Y(f"{by}:N", sort=order, title=None, axis=alt.Axis(labelLimit=320)),
            x=alt.X("cases:Q", title="Cases", axis=alt.Axis(tickMinStep=1)),
            color=alt.Color(
                "state:N",
                scale=alt.Scale(domain=list(CASE_STATES), range=list(CASE_STATES.values())),
                legend=alt.Legend(title=None),
            ),
            order=alt.Order("order:Q"),
            tooltip=[
                alt.Tooltip(f"{by}:N", title=label),
                alt.Tooltip("state:N"),
                alt.Tooltip("cases:Q"),
            ],
        )
        .properties(height=alt.Step(40))
    )


def reach_rate_chart(
    calls: pl.DataFrame, by: str = "advisor", label: str = "Advisor"
) -> alt.LayerChart | alt.FacetChart:
    """Share of call attempts that reached the customer, per advisor (or agency), with the attempts."""
    shown = (
        calls.filter(pl.col("attempts") > 0)
        .with_columns(
            text=pl.format(
                "{}% of {}", pl.col("reach_rate").round(0).cast(pl.Int64), pl.col("attempts")
            ),
        )
        .sort("reach_rate", descending=True)
    )
    order = shown[by].to_list()
    base = alt.Chart(records(shown), title="Calls that reached the customer").encode(
        y=alt.Y(f"{by}:N", sort=order, title=None, axis=alt.Axis(labelLimit=320)),
    )
    bars = base.mark_bar(cornerRadiusEnd=3, color=PALETTE["brand"]).encode(
        x=alt.X("reach_rate:Q", title="Reach rate (%)", scale=alt.Scale(domain=[0, 100])),
        tooltip=[
            alt.Tooltip(f"{by}:N", title=label),
            alt.Tooltip("reach_rate:Q", format=".0f", title="Reach rate %"),
            alt.Tooltip("attempts:Q"),
            alt.Tooltip("reached:Q"),
        ],
    )
    text = base.mark_text(
        align="left", dx=6, fontSize=15, fontWeight=600, color=PALETTE["ink"]
    ).encode(x="reach_rate:Q", text="text:N")
    return alt.layer(bars, text).properties(height=alt.Step(40))
