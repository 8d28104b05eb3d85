"""Benchmark and world-zone charts: league tables with 95 % intervals, attribute gaps, the map.

Pure ``<noun>_chart(df) -> alt.Chart`` functions on the results of :mod:`cx.analytics.benchmarks` and
:mod:`cx.analytics.zones`, using the one theme and palette of :mod:`cx.charts`.
"""

from __future__ import annotations

import altair as alt
import polars as pl

from cx.charts.theme import PALETTE, records
from cx.core.geo import topology

ABOVE = "significantly above"
BELOW = "significantly below"
SAME = "not significantly different"
LOW = "low base (n < 30)"
VERDICTS = [ABOVE, SAME, BELOW, LOW]
VERDICT_COLOURS = [PALETTE["up"], PALETTE["brand"], PALETTE["down"], PALETTE["low_base"]]


def _verdict(diff: str, significant: str) -> pl.Expr:
    return (
        pl.when(pl.col("low_base"))
        .then(pl.lit(LOW))
        .when(pl.col(significant) & (pl.col(diff) > 0))
        .then(pl.lit(ABOVE))
        .when(pl.col(significant) & (pl.col(diff) < 0))
        .then(pl.lit(BELOW))
        .otherwise(pl.lit(SAME))
    )


def league_chart(
    df: pl.DataFrame, level: str, label: str, parent_label: str = "average"
) -> alt.LayerChart:
    """Entities by NPS with 95 % interval bars, coloured by significance vs their parent.

    A grey tick marks each entity's parent NPS; the text gives the NPS and the rank movement.
    Suppressed cells (n < 5) have no point.
    """
    shown = (
        df.filter(~pl.col("suppressed") & pl.col("nps").is_not_null())
        .with_columns(
            verdict=_verdict("vs_parent", "vs_parent_significant"),
            move=pl.when(pl.col("rank_change") > 0)
            .then(pl.format("  ▲{}", pl.col("rank_change")))
            .when(pl.col("rank_change") < 0)
            .then(pl.format("  ▼{}", -pl.col("rank_change")))
            .when(pl.col("rank_change") == 0)
            .then(pl.lit("  ="))
            .otherwise(pl.lit("")),
            rank_label=pl.when(pl.col("rank").is_null())
            .then(pl.lit("–"))
            .otherwise(pl.col("rank").cast(pl.String)),
        )
        .with_columns(text=pl.format("{}{}", pl.col("nps").round(1), pl.col("move")))
    )
    order = shown["name"].to_list()
    base = alt.Chart(records(shown)).encode(
        y=alt.Y("name:N", sort=order, title=None, axis=alt.Axis(labelLimit=260, labelFontSize=16)),
    )
    tooltip = [
        alt.Tooltip("name:N", title=label),
        alt.Tooltip("rank_label:N", title="rank"),
        alt.Tooltip("nps:Q", format=".1f", title="NPS"),
        alt.Tooltip("nps_moe:Q", format=".1f", title="± MoE"),
        alt.Tooltip("n:Q", title="n"),
        alt.Tooltip("parent_nps:Q", format=".1f", title=parent_label),
        alt.Tooltip("vs_parent:Q", format="+.1f", title=f"vs {parent_label}"),
        alt.Tooltip("verdict:N", title="vs parent"),
    ]
    interval = base.mark_rule(strokeWidth=3).encode(
        x=alt.X(
            "lo:Q",
            title=f"NPS (points) with 95 % interval · tick = {parent_label}",
            scale=alt.Scale(zero=False, padding=30),
            axis=alt.Axis(format=".0f"),
        ),
        x2="hi:Q",
        color=alt.Color(
            "verdict:N",
            scale=alt.Scale(domain=VERDICTS, range=VERDICT_COLOURS),
            legend=alt.Legend(title=None, labelLimit=320, orient="bottom", columns=2),
        ),
    )
    parent = base.mark_tick(color=PALETTE["muted"], thickness=3, size=30, opacity=0.8).encode(
        x="parent_nps:Q"
    )
    points = base.mark_circle(size=260, opacity=1).encode(
        x="nps:Q",
        color=alt.Color(
            "verdict:N", scale=alt.Scale(domain=VERDICTS, range=VERDICT_COLOURS), legend=None
        ),
        tooltip=tooltip,
    )
    text = base.mark_text(
        align="left", dx=8, dy=-14, fontSize=15, fontWeight=600, color=PALETTE["ink"]
    ).encode(x="nps:Q", text="text:N")
    return alt.LayerChart(layer=[interval, parent, points, text], height=alt.Step(52))


def attribute_benchmark_chart(
    df: pl.DataFrame, own_label: str, parent_label: str | None
) -> alt.LayerChart:
    """Each attribute's mean (0-10) for the scope, its parent and the world; NPS row left out.

    The scope's point is coloured by significance vs the parent; attributes sorted by that gap.
    """
    rows = df.filter((pl.col("attribute") != "nps") & ~pl.col("suppressed"))
    diff, sig = (
        ("diff_parent", "significant_parent")
        if parent_label
        else ("diff_world", "significant_world")
    )
    rows = rows.with_columns(verdict=_verdict(diff, sig)).sort([diff, "label"], nulls_last=True)
    order = rows["label"].to_list()
    series = [
        (own_label, "own_mean"),
        *([(parent_label, "parent_mean")] if parent_label else []),
        ("World", "world_mean"),
    ]
    long = pl.concat(
        [
            rows.select(
                "label",
                "verdict",
                pl.lit(name).alias("series"),
                pl.col(col).alias("mean"),
                pl.col(diff).alias("gap"),
            )
            for name, col in series
        ],
        how="vertical_relaxed",
    ).filter(pl.col("mean").is_not_null())
    names = [name for name, _ in series]
    y = alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelFontSize=16, labelLimit=240))
    x = alt.X("mean:Q", title="Mean score (0-10)", scale=alt.Scale(zero=False, padding=30))
    span = (
        alt.Chart(records(long))
        .mark_rule(color=PALETTE["grid"], strokeWidth=6)
        .encode(y=y, x=alt.X("min(mean):Q"), x2="max(mean):Q")
    )
    others = (
        alt.Chart(records(long.filter(pl.col("series") != own_label)))
        .mark_point(
            size=200, strokeWidth=3, filled=True, fill="white", stroke=PALETTE["muted"], opacity=1
        )
        .encode(
            y=y,
            x=x,
            shape=alt.Shape(
                "series:N",
                scale=alt.Scale(domain=names[1:], range=["diamond", "square"][: len(names) - 1]),
                legend=alt.Legend(title=None),
            ),
            tooltip=[
                alt.Tooltip("label:N", title="attribute"),
                alt.Tooltip("series:N", title="who"),
                alt.Tooltip("mean:Q", format=".2f"),
            ],
        )
    )
    own = alt.Chart(records(long.filter(pl.col("series") == own_label))).encode(y=y, x=x)
    own_points = own.mark_circle(size=320, opacity=1).encode(
        color=alt.Color(
            "verdict:N",
            scale=alt.Scale(domain=VERDICTS, range=VERDICT_COLOURS),
            legend=alt.Legend(
                title=f"{own_label} vs {parent_label or 'World'}",
                labelLimit=320,
                orient="bottom",
                columns=2,
            ),
        ),
        tooltip=[
            alt.Tooltip("label:N", title="attribute"),
            alt.Tooltip("mean:Q", format=".2f", title=own_label),
            alt.Tooltip("gap:Q", format="+.2f", title=f"vs {parent_label or 'World'}"),
            alt.Tooltip("verdict:N"),
        ],
    )
    own_text = own.mark_text(dy=-18, fontSize=15, fontWeight=600, color=PALETTE["ink"]).encode(
        text=alt.Text("mean:Q", format=".1f")
    )
    return alt.LayerChart(
        layer=[span, others, own_points, own_text], height=alt.Step(48)
    ).resolve_scale(color="independent", shape="independent")


def world_map_chart(table: pl.DataFrame) -> alt.LayerChart:
    """Countries coloured by the chosen metric on a world map (TopoJSON inlined from the package).

    Countries without data (or suppressed, n < 5) stay grey; low bases are drawn paler.
    """
    countries = (
        table.filter(
            (pl.col("level") == "country")
            & pl.col("iso_numeric").is_not_null()
            & pl.col("value").is_not_null()
        )
        .with_columns(
            base=pl.when(pl.col("low_base"))
            .then(pl.lit("low base (n < 30)"))
            .otherwise(pl.lit("n ≥ 30")),
        )
        .select("iso_numeric", "name", "region", "value", "n", "base")
    )
    label = table["metric_label"][0] if table.height else "value"
    fmt = ".0f" if table.height and table["metric"][0] == "csat" else ".1f"
    shapes = alt.Data(
        values=topology(), format=alt.DataFormat(type="topojson", feature="countries")
    )
    land = alt.Chart(shapes).mark_geoshape(fill="#eceef2", stroke="white", strokeWidth=0.5)
    filled = (
        alt.Chart(shapes)
        .mark_geoshape(stroke="white", strokeWidth=0.8)
        .transform_lookup(
            lookup="id",
            from_=alt.LookupData(
                records(countries),
                key="iso_numeric",
                fields=["name", "region", "value", "n", "base"],
            ),
        )
        .transform_filter("isValid(datum.value)")
        .encode(
            color=alt.Color(
                "value:Q",
                title=label,
                scale=alt.Scale(scheme="redyellowgreen"),
                legend=alt.Legend(
                    orient="bottom", gradientLength=420, gradientThickness=16, format=fmt
                ),
            ),
            opacity=alt.Opacity(
                "base:N",
                scale=alt.Scale(domain=["n ≥ 30", "low base (n < 30)"], range=[1.0, 0.45]),
                legend=None,
            ),
            tooltip=[
                alt.Tooltip("name:N", title="country"),
                alt.Tooltip("region:N"),
                alt.Tooltip("value:Q", format=fmt, title=label),
                alt.Tooltip("n:Q"),
                alt.Tooltip("base:N"),
            ],
        )
    )
    return alt.LayerChart(layer=[land, filled], height=420).project(type="equalEarth")
