"""Charts of the Segments & RFM, Strengths & weaknesses and Evolution screens.

Pure ``<noun>_chart(df) -> alt.Chart`` functions on the one theme and :data:`cx.charts.PALETTE`.
Suppressed cells (n < 5) never become a chart point; low bases are greyed or hollow.
"""

from __future__ import annotations

import math

import altair as alt
import polars as pl

from cx.charts import placement
from cx.charts.overview import nps_bar_chart
from cx.charts.theme import PALETTE, label_angle, records, wave_axis
from cx.core.labels import QUADRANT_LABELS

AnyChart = alt.LayerChart | alt.FacetChart
QUADRANT_HEIGHT = 520
QUADRANT_FONT = 16
SEGMENT_TREND_HEIGHT = 360
HEATMAP_STEP = 120
DARK_CELL = 35
"""|NPS| from which a heatmap cell is dark enough to take white figures."""

QUADRANT_COLOURS = {
    "Key strength": PALETTE["promoter"],
    "Improvement area": PALETTE["detractor"],
    "Secondary strength": "#7fbf8e",
    "Secondary weakness": PALETTE["passive"],
}
GROUP_COLOURS = {
    "Promoters": PALETTE["promoter"],
    "Passives": PALETTE["passive"],
    "Detractors": PALETTE["detractor"],
}


def _stat(value: object, default: float) -> float:
    """A Series aggregate as a float (``default`` for an empty or all-null column)."""
    return float(value) if isinstance(value, int | float) else default


def _nice_ceiling(value: float) -> float:
    """The next multiple of 2, 5 or 10 (by size) at or above ``value``: an axis end that reads."""
    step = 2.0 if value <= 20 else 5.0 if value <= 50 else 10.0
    return max(step, math.ceil(value / step) * step)


def quadrant_chart(drivers: pl.DataFrame) -> AnyChart:
    """Importance (x, % of explained NPS) vs performance (y, mean 0-10), split at the scope's means.

    Each attribute's name sits in a slot of :mod:`cx.charts.placement` (nearest free one, the
    most important attributes first), so no two names overlap at any size the chart is drawn;
    a name moved away from its point is tied to it by a thin line.
    """
    shown = (
        drivers.filter(pl.col("importance").is_not_null() & pl.col("mean").is_not_null())
        .with_columns(
            importance_pct=100 * pl.col("importance"),
            quadrant_label=pl.col("quadrant").replace_strict(QUADRANT_LABELS, default=None),
            sig=pl.when(pl.col("significant"))
            .then(pl.lit("significant"))
            .otherwise(pl.lit("not significant")),
        )
        .sort(["importance_pct", "label"], descending=[True, False])
    )
    cut_x, cut_y = _stat(shown["importance_pct"].mean(), 0.0), _stat(shown["mean"].mean(), 0.0)
    lo_y = min(_stat(shown["mean"].min(), 0.0), cut_y) - 0.4
    hi_y = max(_stat(shown["mean"].max(), 10.0), cut_y) + 0.4
    hi_x = _nice_ceiling(1.1 * max(_stat(shown["importance_pct"].max(), 0.0), cut_x, 1.0))
    slots, least_plot = placement.place_within(
        [
            (x / hi_x, (hi_y - y) / (hi_y - lo_y))
            for x, y in shown.select("importance_pct", "mean").rows()
        ],
        [str(t) for t in shown["label"].to_list()],
        font_size=QUADRANT_FONT,
    )
    used = list(dict.fromkeys(slots))
    shown = shown.with_columns(
        cut_x=pl.lit(cut_x),
        cut_y=pl.lit(cut_y),
        label_slot=pl.Series([used.index(slot) for slot in slots], dtype=pl.Int64),
        label_align=pl.Series([slot.align for slot in slots], dtype=pl.String),
        label_dx=pl.Series([slot.dx for slot in slots], dtype=pl.Float64),
        label_dy=pl.Series([slot.dy for slot in slots], dtype=pl.Float64),
    )
    base = alt.Chart(records(shown)).encode(
        x=alt.X(
            "importance_pct:Q",
            title="Importance (% of the NPS variance explained)",
            scale=alt.Scale(domain=[0, hi_x], nice=False, zero=True),
        ),
        y=alt.Y(
            "mean:Q",
            title="Performance (mean score, 0–10)",
            scale=alt.Scale(domain=[lo_y, hi_y], zero=False, nice=False),
        ),
    )
    points = base.mark_circle(size=420, opacity=0.9).encode(
        color=alt.Color(
            "quadrant_label:N",
            title=None,
            scale=alt.Scale(domain=list(QUADRANT_COLOURS), range=list(QUADRANT_COLOURS.values())),
            legend=alt.Legend(columns=2, labelLimit=220),
        ),
        stroke=alt.condition("datum.significant", alt.value(PALETTE["ink"]), alt.value("white")),
        tooltip=[
            alt.Tooltip("label:N", title="Attribute"),
            alt.Tooltip("importance_pct:Q", format=".1f", title="Importance %"),
            alt.Tooltip("mean:Q", format=".2f", title="Mean"),
            alt.Tooltip("quadrant_label:N", title="Quadrant"),
            alt.Tooltip("sig:N", title="Driver"),
        ],
    )
    leaders: list[alt.Chart] = []
    names: list[alt.Chart] = []
    for k, slot in enumerate(used):  # one layer per slot: Vega-Lite offsets are per mark
        mine = base.transform_filter(f"datum.label_slot == {k}")
        if slot.leader:
            leaders.append(
                mine.mark_rule(
                    color=PALETTE["muted"], strokeWidth=1, x2Offset=slot.dx, y2Offset=slot.dy
                ).encode(x2="importance_pct:Q", y2="mean:Q")
            )
        names.append(
            mine.mark_text(
                align=slot.align,  # type: ignore[arg-type]
                baseline="middle",
                dx=slot.dx,
                dy=slot.dy,
                fontSize=QUADRANT_FONT,
                fontWeight=600,
                color=PALETTE["ink"],
            ).encode(text="label:N")
        )
    vline = base.mark_rule(strokeDash=[6, 4], color=PALETTE["muted"]).encode(
        x="cut_x:Q", y=alt.Y(), tooltip=alt.value(None)
    )
    hline = base.mark_rule(strokeDash=[6, 4], color=PALETTE["muted"]).encode(
        y="cut_y:Q", x=alt.X(), tooltip=alt.value(None)
    )
    return alt.layer(vline, hline, *leaders, points, *names).properties(
        height=QUADRANT_HEIGHT,
        title="Importance vs performance",
        # the smallest plot its labels hold apart at: a report draws it no smaller (cx.reports.images)
        usermeta={"least_plot": list(least_plot)},
    )


def importance_chart(drivers: pl.DataFrame) -> AnyChart:
    """Horizontal bars of importance (%), strongest first; non-significant drivers faded."""
    shown = drivers.filter(pl.col("importance").is_not_null()).with_columns(
        importance_pct=100 * pl.col("importance"),
        sig=pl.when(pl.col("significant"))
        .then(pl.lit("significant"))
        .otherwise(pl.lit("not significant")),
    )
    order = shown["label"].to_list()
    base = alt.Chart(records(shown)).encode(
        y=alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelLimit=260))
    )
    bars = base.mark_bar(cornerRadiusEnd=3).encode(
        x=alt.X("importance_pct:Q", title="Importance (% of explained NPS)"),
        color=alt.Color(
            "sig:N",
            title=None,
            scale=alt.Scale(
                domain=["significant", "not significant"],
                range=[PALETTE["brand"], PALETTE["low_base"]],
            ),
        ),
        tooltip=[
            alt.Tooltip("label:N", title="Attribute"),
            alt.Tooltip("importance_pct:Q", format=".1f", title="%"),
            alt.Tooltip("sig:N", title="Driver"),
        ],
    )
    text = base.mark_text(align="left", dx=6, fontSize=15, fontWeight=600).encode(
        x="importance_pct:Q", text=alt.Text("importance_pct:Q", format=".0f")
    )
    return alt.layer(bars, text).properties(height=alt.Step(40))


def attribute_trend_chart(trend: pl.DataFrame, columns: int = 4, width: int = 250) -> AnyChart:
    """One small panel per attribute: mean per wave, ▲/▼ where the change is significant.

    Panels keep the theme's type (horizontal wave labels, thinned to the panel's width) and the
    whole grid stays landscape (flatter panels when there are many rows), so it can be shown
    big without its text shrinking.
    """
    shown = trend.filter(~pl.col("suppressed") & pl.col("mean").is_not_null()).with_columns(
        mark=pl.when(pl.col("significant") & (pl.col("change") > 0))
        .then(pl.lit("▲"))
        .when(pl.col("significant") & (pl.col("change") < 0))
        .then(pl.lit("▼"))
        .otherwise(pl.lit("")),
    )
    waves = shown.sort("order")["wave"].unique(maintain_order=True).to_list()
    lo, hi = _stat(shown["mean"].min(), 0.5) - 0.5, _stat(shown["mean"].max(), 9.5) + 0.5
    panels = max(shown["label"].n_unique(), 1)
    rows = math.ceil(panels / max(min(columns, panels), 1))
    height = int(min(max(0.75 * width * min(columns, panels) / rows - 60, 100), 180))
    base = alt.Chart().encode(
        x=alt.X("wave:N", sort=waves, title=None, axis=wave_axis(waves, size="child_width")),
        y=alt.Y(
            "mean:Q",
            title="Mean (0–10)",
            scale=alt.Scale(domain=[lo, hi], zero=False),
            axis=alt.Axis(tickCount=4),
        ),
    )
    line = base.mark_line(
        color=PALETTE["brand"],
        strokeWidth=3,
        point=alt.OverlayMarkDef(size=60, color=PALETTE["brand"]),
    ).encode(
        tooltip=[
            alt.Tooltip("label:N", title="Attribute"),
            alt.Tooltip("wave:N"),
            alt.Tooltip("mean:Q", format=".2f"),
            alt.Tooltip("change:Q", format="+.2f"),
            alt.Tooltip("n:Q"),
        ],
    )
    arrows = base.mark_text(dy=-16, fontSize=17, fontWeight=700).encode(
        text="mark:N",
        color=alt.Color(
            "mark:N",
            legend=None,
            scale=alt.Scale(
                domain=["▲", "▼", ""], range=[PALETTE["up"], PALETTE["down"], PALETTE["muted"]]
            ),
        ),
    )
    return (
        alt.layer(line, arrows, data=records(shown))
        .properties(width=width, height=height)
        .facet(
            facet=alt.Facet(
                "label:N", title=None, header=alt.Header(labelFontSize=18, labelFontWeight=600)
            ),
            columns=columns,
        )
    )


def comparison_chart(compare: pl.DataFrame) -> AnyChart:
    """Change between two waves per attribute (b − a), coloured when significant."""
    shown = (
        compare.filter((pl.col("measure") != "nps") & pl.col("change").is_not_null())
        .with_columns(
            verdict=pl.when(~pl.col("significant"))
            .then(pl.lit("not significant"))
            .when(pl.col("change") > 0)
            .then(pl.lit("significant rise"))
            .otherwise(pl.lit("significant fall")),
        )
        .sort("change", "measure")
    )
    order = shown["label"].to_list()
    reach = max([abs(v) for v in shown["change"].to_list()] + [0.1])
    domain = [
        min(0.0, _stat(shown["change"].min(), 0.0)) - 0.35 * reach,
        max(0.0, _stat(shown["change"].max(), 0.0)) + 0.35 * reach,
    ]
    base = alt.Chart(records(shown)).encode(
        y=alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelLimit=260))
    )
    bars = base.mark_bar(cornerRadiusEnd=3).encode(
        x=alt.X(
            "change:Q",
            title="Change in mean score (points on 0–10)",
            scale=alt.Scale(domain=domain, nice=False),
        ),
        color=alt.Color(
            "verdict:N",
            title=None,
            legend=alt.Legend(orient="bottom", columns=2),
            scale=alt.Scale(
                domain=["significant rise", "significant fall", "not significant"],
                range=[PALETTE["up"], PALETTE["down"], PALETTE["low_base"]],
            ),
        ),
        tooltip=[
            alt.Tooltip("label:N", title="Attribute"),
            alt.Tooltip("a:Q", format=".2f", title="from"),
            alt.Tooltip("b:Q", format=".2f", title="to"),
            alt.Tooltip("change:Q", format="+.2f"),
            alt.Tooltip("verdict:N"),
        ],
    )
    right = base.transform_filter("datum.change >= 0").mark_text(
        align="left", dx=6, fontSize=15, fontWeight=600
    )
    left = base.transform_filter("datum.change < 0").mark_text(
        align="right", dx=-6, fontSize=15, fontWeight=600
    )
    text = [m.encode(x="change:Q", text=alt.Text("change:Q", format="+.2f")) for m in (right, left)]
    return alt.layer(bars, *text).properties(height=alt.Step(40))


def segment_nps_chart(df: pl.DataFrame, column: str, label: str) -> AnyChart:
    """NPS ± 95 % margin per segment (or RFM tier): the shared NPS bar chart."""
    return nps_bar_chart(df, column, label)


def segment_trend_chart(
    trend: pl.DataFrame, title: str | None = "NPS by segment over waves"
) -> AnyChart:
    """NPS per segment across waves, one coloured line each, named at the last wave (names
    pushed apart vertically when two segments end close together)."""
    shown = trend.filter(~pl.col("suppressed") & pl.col("nps").is_not_null())
    waves = shown["wave"].unique(maintain_order=True).to_list()
    last = shown.group_by("segment").agg(pl.all().last()).sort("nps", "segment")
    lo = _stat(shown["nps"].min(), 0.0)
    hi = _stat(shown["nps"].max(), 0.0)
    pad = max(0.08 * (hi - lo), 2.0)
    domain = [lo - pad, hi + pad]
    base = alt.Chart(records(shown)).encode(
        x=alt.X("wave:N", sort=waves, title=None, axis=wave_axis(waves))
    )
    lines = base.mark_line(strokeWidth=3, point=alt.OverlayMarkDef(size=70)).encode(
        y=alt.Y("nps:Q", title="NPS (points)", scale=alt.Scale(domain=domain, nice=False)),
        color=alt.Color("segment:N", title=None),
        tooltip=[
            alt.Tooltip("segment:N"),
            alt.Tooltip("wave:N"),
            alt.Tooltip("nps:Q", format=".1f"),
            alt.Tooltip("nps_moe:Q", format=".1f", title="± MoE"),
            alt.Tooltip("n:Q"),
        ],
    )
    # Names one line apart at least: from the lowest up, each at or above the one before it.
    step = 22 * (domain[1] - domain[0]) / SEGMENT_TREND_HEIGHT
    spread: list[float] = []
    for value in last["nps"].to_list():
        spread.append(max(float(value), spread[-1] + step) if spread else float(value))
    overflow = max((spread[-1] - domain[1]) if spread else 0.0, 0.0)
    last = last.with_columns(tag_y=pl.Series([v - overflow for v in spread], dtype=pl.Float64))
    tags = (
        alt.Chart(records(last))
        .mark_text(align="left", dx=10, fontSize=15, fontWeight=600)
        .encode(
            x=alt.X("wave:N", sort=waves),
            y=alt.Y("tag_y:Q", scale=alt.Scale(domain=domain, nice=False)),
            text="segment:N",
            color=alt.Color("segment:N", legend=None),
        )
    )
    chart = alt.layer(lines, tags).properties(height=SEGMENT_TREND_HEIGHT)
    return chart.properties(title=title) if title else chart


def tier_segment_heatmap(grid: pl.DataFrame, tiers: list[str]) -> AnyChart:
    """RFM tier x segment grid coloured by NPS; hidden cells (n < 5) show only their count."""
    shown = grid.with_columns(
        text=pl.when(pl.col("suppressed"))
        .then(pl.format("n={}", pl.col("n")))
        .otherwise(pl.format("{}", pl.col("nps").round(0).cast(pl.Int64))),
        base=pl.when(pl.col("suppressed"))
        .then(pl.lit("hidden"))
        .when(pl.col("low_base"))
        .then(pl.lit("low base"))
        .when(pl.col("nps").abs() >= DARK_CELL)  # dark red or green: white figures read
        .then(pl.lit("on dark"))
        .otherwise(pl.lit("n ≥ 30")),
        tone=pl.when(pl.col("suppressed")).then(None).otherwise(pl.col("nps")),
    )
    order = [t for t in tiers if t in set(shown["rfm_tier"].to_list())]
    columns = shown["segment"].unique(maintain_order=True).to_list()
    base = alt.Chart(records(shown)).encode(
        x=alt.X(
            "segment:N",
            title=None,
            axis=alt.Axis(  # every column is named: tilted only if a name is wider than it
                orient="top",
                labelAngle=label_angle(columns, HEATMAP_STEP),
                labelLimit=160,
                labelOverlap=False,
            ),
        ),
        y=alt.Y("rfm_tier:N", sort=order, title=None, axis=alt.Axis(labelLimit=260)),
    )
    cells = base.mark_rect(stroke="white", strokeWidth=2).encode(
        color=alt.Color(
            "tone:Q",
            title="NPS",
            scale=alt.Scale(scheme="redyellowgreen", domainMid=0),
            legend=alt.Legend(orient="bottom", gradientLength=260),
        ),
        tooltip=[
            alt.Tooltip("rfm_tier:N", title="Tier"),
            alt.Tooltip("segment:N"),
            alt.Tooltip("nps:Q", format=".1f"),
            alt.Tooltip("nps_moe:Q", format=".1f", title="± MoE"),
            alt.Tooltip("n:Q"),
        ],
    )
    text = base.mark_text(fontSize=17, fontWeight=600).encode(
        text="text:N",
        color=alt.Color(
            "base:N",
            legend=None,
            scale=alt.Scale(
                domain=["n ≥ 30", "low base", "hidden", "on dark"],
                range=[PALETTE["ink"], PALETTE["muted"], PALETTE["muted"], "white"],
            ),
        ),
    )
    return alt.layer(cells, text).properties(height=alt.Step(46), width=alt.Step(HEATMAP_STEP))


def value_chart(value: pl.DataFrame, title: str) -> AnyChart:
    """Revenue per customer by group (bars), labelled "per customer · % of all revenue"."""
    shown = value.filter(~pl.col("suppressed")).with_columns(
        label=pl.format(
            "{} · {} %",
            pl.col("revenue_per_customer").round(0).cast(pl.Int64),
            (100 * pl.col("revenue_share")).round(0).cast(pl.Int64),
        ),
    )
    order = shown["group"].to_list()
    colours = [GROUP_COLOURS.get(g, PALETTE["brand"]) for g in order]
    base = alt.Chart(records(shown)).encode(
        y=alt.Y("group:N", sort=order, title=None, axis=alt.Axis(labelLimit=260))
    )
    bars = base.mark_bar(cornerRadiusEnd=3).encode(
        x=alt.X("revenue_per_customer:Q", title="Revenue per customer, last 12 months"),
        color=alt.Color("group:N", legend=None, scale=alt.Scale(domain=order, range=colours)),
        tooltip=[
            alt.Tooltip("group:N"),
            alt.Tooltip("customers:Q"),
            alt.Tooltip("revenue_per_customer:Q", format=",.0f"),
            alt.Tooltip("revenue_share:Q", format=".1%", title="share of revenue"),
        ],
    )
    text = base.mark_text(align="left", dx=6, fontSize=15, fontWeight=600).encode(
        x="revenue_per_customer:Q", text="label:N"
    )
    heading = alt.TitleParams(
        title, subtitle="labels: revenue per customer · share of revenue", subtitleFontSize=14
    )
    return alt.layer(bars, text).properties(height=alt.Step(40), title=heading)
