"""Charts of the voice-of-the-customer screens: pure ``<noun>_chart(df) -> alt.Chart``.

Colours and fonts come from :mod:`cx.charts` (the one theme and PALETTE).
"""

from __future__ import annotations

import altair as alt
import polars as pl

from cx.charts.theme import PALETTE, records


def theme_volume_chart(summary: pl.DataFrame) -> alt.LayerChart | alt.FacetChart:
    """Share of comments mentioning each theme (%), biggest first; low bases greyed."""
    shown = (
        summary.filter(~pl.col("suppressed") & (pl.col("mentions") > 0))
        .with_columns(
            pct=100 * pl.col("share"),
            base=pl.when(pl.col("low_base"))
            .then(pl.lit("low base (n < 30)"))
            .otherwise(pl.lit("n ≥ 30")),
        )
        .sort(["mentions", "theme"], descending=[True, False])
    )
    order = shown["label"].to_list()
    base = alt.Chart(records(shown)).encode(
        y=alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelLimit=260)),
    )
    bars = base.mark_bar(cornerRadiusEnd=3).encode(
        x=alt.X("pct:Q", title="% of comments mentioning the theme"),
        color=alt.Color(
            "base:N",
            scale=alt.Scale(
                domain=["n ≥ 30", "low base (n < 30)"],
                range=[PALETTE["brand"], PALETTE["low_base"]],
            ),
            legend=None,
        ),
        tooltip=[
            alt.Tooltip("label:N", title="Theme"),
            alt.Tooltip("mentions:Q", title="Mentions"),
            alt.Tooltip("pct:Q", format=".1f", title="% of comments"),
        ],
    )
    text = base.mark_text(align="left", dx=6, fontSize=15, fontWeight=600).encode(
        x="pct:Q", text=alt.Text("pct:Q", format=".0f")
    )
    return alt.layer(bars, text).properties(title="What customers talk about", height=alt.Step(40))


def theme_impact_chart(summary: pl.DataFrame) -> alt.LayerChart | alt.FacetChart:
    """NPS points each theme adds to / takes from commenters' NPS (ranked themes only, n ≥ 30)."""
    shown = (
        summary.filter(pl.col("rank_impact").is_not_null())
        .with_columns(
            direction=pl.when(pl.col("nps_impact") >= 0)
            .then(pl.lit("lifts NPS"))
            .otherwise(pl.lit("costs NPS")),
        )
        .sort(["nps_impact", "theme"])
    )
    order = shown["label"].to_list()
    base = alt.Chart(records(shown)).encode(
        y=alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelLimit=260)),
    )
    bars = base.mark_bar(cornerRadiusEnd=3).encode(
        x=alt.X("nps_impact:Q", title="NPS points vs comments without the theme"),
        color=alt.Color(
            "direction:N",
            scale=alt.Scale(
                domain=["lifts NPS", "costs NPS"], range=[PALETTE["up"], PALETTE["down"]]
            ),
            legend=alt.Legend(title=None),
        ),
        tooltip=[
            alt.Tooltip("label:N", title="Theme"),
            alt.Tooltip("nps_impact:Q", format="+.1f", title="Impact (points)"),
            alt.Tooltip("nps_with:Q", format=".1f", title="NPS with"),
            alt.Tooltip("nps_without:Q", format=".1f", title="NPS without"),
            alt.Tooltip("mentions:Q", title="Mentions"),
        ],
    )
    rule = alt.Chart(alt.Data(values=[{"x": 0}])).mark_rule(color=PALETTE["muted"]).encode(x="x:Q")
    # Values sit on the other side of the zero line, so long bars never hide them.
    label = dict(x="zero:Q", text=alt.Text("nps_impact:Q", format="+.1f"))
    zero = base.transform_calculate(zero="0")
    pos = (
        zero.transform_filter("datum.nps_impact >= 0")
        .mark_text(fontSize=15, fontWeight=600, align="right", dx=-6)
        .encode(**label)
    )
    neg = (
        zero.transform_filter("datum.nps_impact < 0")
        .mark_text(fontSize=15, fontWeight=600, align="left", dx=6)
        .encode(**label)
    )
    return alt.layer(bars, rule, pos, neg).properties(
        title="What it costs: NPS impact", height=alt.Step(40)
    )


def theme_trend_chart(trend: pl.DataFrame) -> alt.LayerChart | alt.FacetChart:
    """Heatmap theme x wave of the share of comments; ▲/▼ where the change is significant."""
    shown = trend.filter(~pl.col("suppressed")).with_columns(
        pct=100 * pl.col("share"),
        label_text=pl.format(
            "{}{}",
            (100 * pl.col("share")).round(0).cast(pl.Int64),
            pl.when(pl.col("significant") & (pl.col("change") > 0))
            .then(pl.lit(" ▲"))
            .when(pl.col("significant") & (pl.col("change") < 0))
            .then(pl.lit(" ▼"))
            .otherwise(pl.lit("")),
        ),
    )
    wave_order = shown.sort("order")["wave"].unique(maintain_order=True).to_list()
    volume = (
        shown.group_by("label")
        .agg(pl.col("mentions").sum())
        .sort(["mentions", "label"], descending=[True, False])
    )
    base = alt.Chart(records(shown)).encode(
        x=alt.X("wave:N", sort=wave_order, title=None, axis=alt.Axis(labelAngle=0, orient="top")),
        y=alt.Y(
            "label:N", sort=volume["label"].to_list(), title=None, axis=alt.Axis(labelLimit=260)
        ),
    )
    cells = base.mark_rect(stroke="white", strokeWidth=2).encode(
        color=alt.Color(
            "pct:Q", scale=alt.Scale(scheme="blues"), legend=alt.Legend(title="% of comments")
        ),
        tooltip=[
            alt.Tooltip("label:N", title="Theme"),
            alt.Tooltip("wave:N"),
            alt.Tooltip("pct:Q", format=".1f", title="% of comments"),
            alt.Tooltip("mentions:Q"),
            alt.Tooltip("n_comments:Q", title="comments"),
            alt.Tooltip("z:Q", format=".2f"),
        ],
    )
    text = base.mark_text(fontSize=14, fontWeight=600).encode(
        text="label_text:N",
        color=alt.condition("datum.pct > 15", alt.value("white"), alt.value(PALETTE["ink"])),
    )
    return alt.layer(cells, text).properties(
        title="How it moves: share of comments per wave (▲▼ significant)", height=alt.Step(38)
    )
