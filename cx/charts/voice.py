"""Charts of the voice-of-the-customer screens: pure ``<noun>_chart(df) -> alt.Chart``.

Colours and fonts come from :mod:`cx.charts` (the one theme and PALETTE).
"""

from __future__ import annotations

import altair as alt
import polars as pl

from cx.charts.theme import PALETTE, records, wave_axis


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
        x=alt.X("wave:N", sort=wave_order, title=None, axis=wave_axis(wave_order, orient="top")),
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


def theme_polarity_chart(summary: pl.DataFrame) -> alt.LayerChart | alt.FacetChart:
    """Per theme, the share of negative mentions (left, red) and positive ones (right, green),
    each mention with its own polarity; biggest themes first, themes under 5 mentions left out."""
    shown = summary.filter(~pl.col("suppressed") & (pl.col("mentions") > 0)).sort(
        ["mentions", "theme"], descending=[True, False]
    )
    order = shown["label"].to_list()
    long = pl.concat(
        [
            shown.select(
                "label",
                "mentions",
                pl.lit("negative mentions").alias("polarity"),
                (-100 * pl.col("negative_share")).alias("pct"),
                (100 * pl.col("negative_share")).alias("share"),
            ),
            shown.select(
                "label",
                "mentions",
                pl.lit("positive mentions").alias("polarity"),
                (100 * pl.col("positive_share")).alias("pct"),
                (100 * pl.col("positive_share")).alias("share"),
            ),
        ]
    )
    base = alt.Chart(records(long)).encode(
        y=alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelLimit=260)),
    )
    bars = base.mark_bar().encode(
        x=alt.X(
            "pct:Q",
            title="% of mentions: negative | positive",
            scale=alt.Scale(domain=[-125, 125]),
            axis=alt.Axis(labelExpr="abs(datum.value)", values=[-100, -50, 0, 50, 100]),
        ),
        color=alt.Color(
            "polarity:N",
            scale=alt.Scale(
                domain=["negative mentions", "positive mentions"],
                range=[PALETTE["down"], PALETTE["up"]],
            ),
            legend=alt.Legend(title=None, orient="bottom"),
        ),
        tooltip=[
            alt.Tooltip("label:N", title="Theme"),
            alt.Tooltip("polarity:N", title="Polarity"),
            alt.Tooltip("share:Q", format=".0f", title="% of mentions"),
            alt.Tooltip("mentions:Q", title="Mentions"),
        ],
    )
    neg = (
        base.transform_filter("datum.pct < 0")
        .mark_text(align="right", dx=-6, fontSize=14, fontWeight=600)
        .encode(x="pct:Q", text=alt.Text("share:Q", format=".0f"))
    )
    pos = (
        base.transform_filter("datum.pct >= 0")
        .mark_text(align="left", dx=6, fontSize=14, fontWeight=600)
        .encode(x="pct:Q", text=alt.Text("share:Q", format=".0f"))
    )
    rule = alt.Chart(alt.Data(values=[{"x": 0}])).mark_rule(color=PALETTE["muted"]).encode(x="x:Q")
    return alt.layer(bars, rule, neg, pos).properties(
        title="How they feel about each theme", height=alt.Step(40)
    )


def theme_polarity_trend_chart(trend: pl.DataFrame) -> alt.LayerChart | alt.FacetChart:
    """Heatmap theme x wave of the net polarity of mentions (positive minus negative share, in
    points): red where complaints dominate, green where praise does; cells under 5 mentions blank."""
    shown = trend.filter(~pl.col("suppressed")).with_columns(
        net_pts=100 * pl.col("net"),
        pos_pct=100 * pl.col("positive_share"),
        neg_pct=100 * pl.col("negative_share"),
        label_text=pl.format(
            "{}{}",
            pl.when(pl.col("net") > 0).then(pl.lit("+")).otherwise(pl.lit("")),
            (100 * pl.col("net")).round(0).cast(pl.Int64),
        ),
    )
    wave_order = shown.sort("order")["wave"].unique(maintain_order=True).to_list()
    volume = (
        shown.group_by("label")
        .agg(pl.col("mentions").sum())
        .sort(["mentions", "label"], descending=[True, False])
    )
    base = alt.Chart(records(shown)).encode(
        x=alt.X("wave:N", sort=wave_order, title=None, axis=wave_axis(wave_order, orient="top")),
        y=alt.Y(
            "label:N", sort=volume["label"].to_list(), title=None, axis=alt.Axis(labelLimit=260)
        ),
    )
    cells = base.mark_rect(stroke="white", strokeWidth=2).encode(
        color=alt.Color(
            "net_pts:Q",
            scale=alt.Scale(scheme="redyellowgreen", domain=[-100, 100]),
            legend=alt.Legend(title="net (pts)"),
        ),
        tooltip=[
            alt.Tooltip("label:N", title="Theme"),
            alt.Tooltip("wave:N"),
            alt.Tooltip("pos_pct:Q", format=".0f", title="% positive"),
            alt.Tooltip("neg_pct:Q", format=".0f", title="% negative"),
            alt.Tooltip("mentions:Q"),
        ],
    )
    text = base.mark_text(fontSize=14, fontWeight=600).encode(
        text="label_text:N",
        color=alt.condition(
            "abs(datum.net_pts) > 60", alt.value("white"), alt.value(PALETTE["ink"])
        ),
    )
    return alt.layer(cells, text).properties(title="Net polarity per wave", height=alt.Step(38))
