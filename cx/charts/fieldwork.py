"""Fieldwork charts: rates per channel or agency, and cumulative responses against the target."""

from __future__ import annotations

import altair as alt
import polars as pl

from cx.charts.theme import MIN_FONT, PALETTE, records


def rate_chart(
    df: pl.DataFrame,
    level: str,
    label: str,
    rate: str = "response_rate",
    title: str = "Response rate",
) -> alt.LayerChart:
    """Horizontal bars of one rate (in %) per channel or agency; lagging agencies in red."""
    lagging = df["lagging"] if "lagging" in df.columns else pl.Series([False] * df.height)
    shown = df.select(
        pl.col(level).alias("entity"),
        (pl.col(rate) * 100).round(1).alias("pct"),
        pl.col("responses"),
        pl.col("delivered"),
        pl.col("invitations"),
        status=pl.when(lagging).then(pl.lit("lagging")).otherwise(pl.lit("on track")),
    ).filter(pl.col("pct").is_not_null())
    order = shown.sort("pct", descending=True)["entity"].to_list()
    base = alt.Chart(records(shown)).encode(
        y=alt.Y(
            "entity:N",
            sort=order,
            title=None,
            axis=alt.Axis(labelLimit=260),
            scale=alt.Scale(paddingInner=0.3),
        )
    )
    legend = (
        alt.Legend(title=None) if "lagging" in df.columns else None
    )  # channels are never "lagging"
    bars = base.mark_bar(cornerRadiusEnd=3).encode(
        x=alt.X("pct:Q", title=f"{title} (%)"),
        color=alt.Color(
            "status:N",
            scale=alt.Scale(
                domain=["on track", "lagging"], range=[PALETTE["brand"], PALETTE["down"]]
            ),
            legend=legend,
        ),
        tooltip=[
            alt.Tooltip("entity:N", title=label),
            alt.Tooltip("pct:Q", format=".1f", title=f"{title} %"),
            alt.Tooltip("responses:Q", format=","),
            alt.Tooltip("delivered:Q", format=","),
            alt.Tooltip("invitations:Q", format=","),
        ],
    )
    text = base.mark_text(
        align="left", dx=6, fontSize=15, fontWeight=600, color=PALETTE["ink"]
    ).encode(x="pct:Q", text=alt.Text("pct:Q", format=".1f"))
    return alt.LayerChart(
        layer=[bars, text], height=alt.Step(40), title=f"{title} by {label.lower()}"
    )


def daily_progress_chart(df: pl.DataFrame) -> alt.Chart:
    """Cumulative responses per day (solid) against the even-pace target (dashed)."""
    long = (
        df.select(
            pl.col("day").cast(pl.String),
            pl.col("cumulative").cast(pl.Float64).alias("Responses"),
            pl.col("target_cumulative").alias("Target (even pace)"),
        )
        .unpivot(index="day", variable_name="series", value_name="count")
        .drop_nulls("count")
    )
    domain = ["Responses", "Target (even pace)"]
    return (
        alt.Chart(records(long))
        .mark_line(strokeWidth=3)
        .encode(
            x=alt.X("day:T", title=None, axis=alt.Axis(format="%d %b", labelAngle=0)),
            y=alt.Y("count:Q", title="Cumulative responses"),
            color=alt.Color(
                "series:N",
                scale=alt.Scale(domain=domain, range=[PALETTE["brand"], PALETTE["muted"]]),
                legend=alt.Legend(title=None),
            ),
            strokeDash=alt.StrokeDash(
                "series:N", scale=alt.Scale(domain=domain, range=[[1, 0], [8, 6]]), legend=None
            ),
            tooltip=[
                alt.Tooltip("day:T", format="%d %b %Y"),
                "series:N",
                alt.Tooltip("count:Q", format=",.0f"),
            ],
        )
        .properties(height=380, title="Responses per day against the wave's target")
    )


FUNNEL_STAGES = ("invited", "sent", "opened", "started", "completed")
"""The funnel's steps, in order (the stages of :mod:`cx.capture.funnel`)."""


def funnel_chart(df: pl.DataFrame, by: str = "channel") -> alt.LayerChart:
    """The live survey funnel: one group of bars per stage (invited → completed), one bar per
    ``by`` value (channel or agency), its count written at its end. Takes the long frame of
    ``funnel.stages`` (``by``, ``stage``, ``count``)."""
    shown = df.select(
        pl.col(by).cast(pl.String).alias("group"), pl.col("stage"), pl.col("count").cast(pl.Int64)
    )
    stages = [s for s in FUNNEL_STAGES if s in set(shown["stage"].to_list())]
    base = alt.Chart(records(shown)).encode(
        x=alt.X("stage:N", sort=stages, title=None, axis=alt.Axis(labelAngle=0)),
        xOffset=alt.XOffset("group:N"),
    )
    bars = base.mark_bar(cornerRadiusEnd=3).encode(
        y=alt.Y("count:Q", title="People"),
        color=alt.Color(
            "group:N",
            title=None,
            scale=alt.Scale(
                range=[PALETTE["brand"], PALETTE["band"], PALETTE["ink"], PALETTE["muted"]]
            ),
        ),
        tooltip=[
            alt.Tooltip("group:N", title=by.capitalize()),
            alt.Tooltip("stage:N", title="Stage"),
            alt.Tooltip("count:Q", format=",", title="Count"),
        ],
    )
    text = base.mark_text(dy=-8, fontSize=MIN_FONT, fontWeight=600, color=PALETTE["ink"]).encode(
        y="count:Q", text=alt.Text("count:Q", format=",")
    )
    return alt.LayerChart(
        layer=[bars, text],
        height=340,
        title=f"Survey funnel by {by}: invited → completed",
    )
