"""Support and criticality indices: both per 1,000 customers served, one row per agency.

A pure ``<noun>_chart(df) -> alt.Chart`` on the result of :mod:`cx.analytics.indices`, with the
one theme and palette of :mod:`cx.charts`.
"""

from __future__ import annotations

import altair as alt
import polars as pl

from cx.charts.theme import PALETTE, records

SUPPORT = "support index (positive ratings)"
CRITICALITY = "criticality index (negative ratings)"
LOW = "low count, not ranked"
MEASURES = [SUPPORT, CRITICALITY, LOW]
COLOURS = [PALETTE["promoter"], PALETTE["detractor"], PALETTE["low_base"]]


def _long(df: pl.DataFrame, name: str) -> pl.DataFrame:
    """One row per agency and index, for the cells that have an index."""
    shown = df.filter(pl.col("support_index").is_not_null())
    parts = []
    for measure, prefix, rank in (
        (SUPPORT, "support", "support_rank"),
        (CRITICALITY, "criticality", "criticality_rank"),
    ):
        parts.append(
            shown.select(
                pl.col(name).alias("name"),
                pl.lit(measure).alias("measure"),
                pl.when(pl.col("low_count"))
                .then(pl.lit(LOW))
                .otherwise(pl.lit(measure))
                .alias("colour"),
                pl.col(f"{prefix}_index").round(1).alias("value"),
                pl.col(f"{prefix}_low").round(1).alias("lo"),
                pl.col(f"{prefix}_high").round(1).alias("hi"),
                pl.col(rank).cast(pl.String).fill_null("–").alias("rank"),
                pl.col("served"),
                pl.col("responses"),
                (100 * pl.col("response_rate")).round(1).alias("response_pct"),
            )
        )
    return pl.concat(parts)


def indices_chart(
    df: pl.DataFrame, name: str = "agency", label: str = "Agency", plural: str = "Agencies"
) -> alt.LayerChart:
    """Each agency's support (green) and criticality (red) index with its 95 % interval, most
    critical first; low counts grey; cells without an index (suppressed, no served count) left out."""
    long = _long(df, name)
    order = (
        df.filter(pl.col("criticality_index").is_not_null())
        .sort(["criticality_index", name], descending=[True, False])[name]
        .to_list()
    )
    base = alt.Chart(records(long)).encode(
        y=alt.Y("name:N", sort=order, title=None, axis=alt.Axis(labelLimit=260, labelFontSize=16)),
        color=alt.Color(
            "colour:N",
            scale=alt.Scale(domain=MEASURES, range=COLOURS),
            legend=alt.Legend(title=None, orient="top", labelLimit=400, symbolOpacity=1),
        ),
    )
    tooltip = [
        alt.Tooltip("name:N", title=label),
        alt.Tooltip("measure:N", title="index"),
        alt.Tooltip("value:Q", format=".1f", title="per 1,000 served"),
        alt.Tooltip("lo:Q", format=".1f", title="95 % low"),
        alt.Tooltip("hi:Q", format=".1f", title="95 % high"),
        alt.Tooltip("rank:N", title="rank"),
        alt.Tooltip("served:Q", format=",", title="customers served"),
        alt.Tooltip("responses:Q", format=",", title="answers"),
        alt.Tooltip("response_pct:Q", format=".1f", title="response rate %"),
    ]
    interval = base.mark_rule(strokeWidth=4, opacity=0.55).encode(
        x=alt.X(
            "lo:Q",
            title="ratings per 1,000 customers served · bars: 95 % interval",
            scale=alt.Scale(zero=True, nice=True),
        ),
        x2="hi:Q",
    )
    points = base.mark_circle(size=240, opacity=1).encode(x="value:Q", tooltip=tooltip)
    text = base.mark_text(align="left", dx=9, dy=-12, fontSize=14, fontWeight=600).encode(
        x="value:Q", text=alt.Text("value:Q", format=".1f")
    )
    return alt.LayerChart(
        layer=[interval, points, text],
        height=alt.Step(40),
        title=f"{plural} by criticality index, most critical first" if len(order) > 1 else "",
    )
