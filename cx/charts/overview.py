"""Overview charts: the NPS trend with its band, NPS bars per entity, the promoter/passive/detractor shares."""

from __future__ import annotations

import altair as alt
import polars as pl

from cx.charts.theme import PALETTE, kept, records, slot_width, wave_axis


def nps_trend_chart(
    trend: pl.DataFrame, title: str = "NPS over waves"
) -> alt.LayerChart | alt.FacetChart:
    """NPS per wave with its 95 % band; hollow points for low bases, ▲/▼ for significant changes.

    Waves, and the NPS values above the points, are written every k-th wave back from the latest
    when there are too many to write all on the chart's width (:func:`cx.charts.theme.wave_axis`,
    values thinned by their own, shorter, width); every point keeps its tooltip.
    """
    shown = trend.filter(~pl.col("suppressed")).with_columns(
        base=pl.when(pl.col("low_base"))
        .then(pl.lit("low base (n < 30)"))
        .otherwise(pl.lit("n ≥ 30")),
        mark=pl.when(pl.col("significant") & (pl.col("change") > 0))
        .then(pl.lit("▲"))
        .when(pl.col("significant") & (pl.col("change") < 0))
        .then(pl.lit("▼"))
        .otherwise(pl.lit("")),
    )
    order = shown["wave"].to_list()
    value_texts = [f"{v:.1f}" for v in shown["nps"].drop_nulls().to_list()]
    shown = shown.with_columns(wave_index=pl.int_range(pl.len(), dtype=pl.Int64))
    base = alt.Chart(records(shown)).encode(
        x=alt.X("wave:N", sort=order, title=None, axis=wave_axis(order)),
    )
    band = base.mark_area(opacity=0.35, color=PALETTE["band"]).encode(
        y=alt.Y("lo:Q", title="NPS (points)", scale=alt.Scale(zero=False, padding=24)),
        y2="hi:Q",
        tooltip=[
            alt.Tooltip("wave:N"),
            alt.Tooltip("lo:Q", format=".1f", title="low"),
            alt.Tooltip("hi:Q", format=".1f", title="high"),
        ],
    )
    line = base.mark_line(color=PALETTE["brand"], strokeWidth=3).encode(y="nps:Q")
    points = base.mark_point(size=110, strokeWidth=2.5, color=PALETTE["brand"]).encode(
        y="nps:Q",
        fill=alt.Fill(
            "base:N",
            scale=alt.Scale(
                domain=["n ≥ 30", "low base (n < 30)"], range=[PALETTE["brand"], "white"]
            ),
            legend=None,
        ),
        tooltip=[
            alt.Tooltip("wave:N"),
            alt.Tooltip("nps:Q", format=".1f", title="NPS"),
            alt.Tooltip("nps_moe:Q", format=".1f", title="± MoE"),
            alt.Tooltip("n:Q", title="n"),
            alt.Tooltip("base:N", title="base"),
        ],
    )
    labels = (
        base.transform_filter(kept(len(order), slot_width(value_texts, 16), "datum.wave_index"))
        .mark_text(dy=-18, fontSize=16, fontWeight=600, color=PALETTE["ink"])
        .encode(y="nps:Q", text=alt.Text("nps:Q", format=".1f"))
    )
    arrows = base.mark_text(dy=22, fontSize=18).encode(
        y="nps:Q",
        text="mark:N",
        color=alt.Color(
            "mark:N",
            scale=alt.Scale(
                domain=["▲", "▼", ""], range=[PALETTE["up"], PALETTE["down"], PALETTE["muted"]]
            ),
            legend=None,
        ),
    )
    return alt.layer(band, line, points, labels, arrows).properties(title=title, height=340)


def nps_bar_chart(df: pl.DataFrame, level: str, label: str) -> alt.LayerChart | alt.FacetChart:
    """Horizontal NPS bars per entity with 95 % error bars; low bases greyed, suppressed rows left out."""
    shown = df.filter(~pl.col("suppressed")).with_columns(
        lo=pl.col("nps") - pl.col("nps_moe"),
        hi=pl.col("nps") + pl.col("nps_moe"),
        text_x=pl.max_horizontal(pl.col("nps") + pl.col("nps_moe"), pl.lit(0.0)),
        base=pl.when(pl.col("low_base"))
        .then(pl.lit("low base (n < 30)"))
        .otherwise(pl.lit("n ≥ 30")),
    )
    order = shown[level].to_list()
    base = alt.Chart(records(shown)).encode(
        y=alt.Y(
            f"{level}:N",
            sort=order,
            title=None,
            axis=alt.Axis(labelLimit=260),
            scale=alt.Scale(paddingInner=0.3),
        )
    )
    bars = base.mark_bar(cornerRadiusEnd=3).encode(
        x=alt.X("nps:Q", title="NPS (points), 95 % interval"),
        color=alt.Color(
            "base:N",
            scale=alt.Scale(
                domain=["n ≥ 30", "low base (n < 30)"],
                range=[PALETTE["brand"], PALETTE["low_base"]],
            ),
            legend=alt.Legend(title=None),
        ),
        tooltip=[
            alt.Tooltip(f"{level}:N", title=label),
            alt.Tooltip("nps:Q", format=".1f", title="NPS"),
            alt.Tooltip("nps_moe:Q", format=".1f", title="± MoE"),
            alt.Tooltip("n:Q"),
        ],
    )
    errors = base.mark_rule(color=PALETTE["ink"], strokeWidth=1.5).encode(x="lo:Q", x2="hi:Q")
    # The value right of the interval's end, or of the zero line for a negative NPS: never on
    # the bar, never over the names on the left.
    text = base.mark_text(
        align="left", dx=6, fontSize=15, fontWeight=600, color=PALETTE["ink"]
    ).encode(x="text_x:Q", text=alt.Text("nps:Q", format=".1f"))
    return alt.layer(bars, errors, text).properties(height=alt.Step(40))


def shares_chart(headline: pl.DataFrame) -> alt.LayerChart | alt.FacetChart:
    """One stacked bar: promoters, passives, detractors (weighted shares, %)."""
    row = headline.row(0, named=True)
    parts = [
        ("Promoters", row.get("promoter_share")),
        ("Passives", row.get("passive_share")),
        ("Detractors", row.get("detractor_share")),
    ]
    df = pl.DataFrame(
        {
            "group": [p for p, _ in parts],
            "share": [100 * (v or 0.0) for _, v in parts],
            "order": [0, 1, 2],
        }
    ).with_columns(label=pl.format("{}%", pl.col("share").round(0).cast(pl.Int64)))
    domain = ["Promoters", "Passives", "Detractors"]
    colours = [PALETTE["promoter"], PALETTE["passive"], PALETTE["detractor"]]
    base = alt.Chart(records(df)).encode(
        x=alt.X("share:Q", stack="zero", title=None, axis=None, scale=alt.Scale(domain=[0, 100])),
        order=alt.Order("order:Q"),
    )
    bar = base.mark_bar(height=44).encode(
        color=alt.Color(
            "group:N", scale=alt.Scale(domain=domain, range=colours), legend=alt.Legend(title=None)
        ),
        tooltip=[alt.Tooltip("group:N"), alt.Tooltip("share:Q", format=".1f", title="%")],
    )
    text = base.mark_text(dx=-8, align="right", color="white", fontSize=18, fontWeight=700).encode(
        x=alt.X("share:Q", stack="zero"),
        text="label:N",
    )
    return alt.layer(bar, text).properties(height=80)
