"""Charts of the Relational vs transactional screen: the relationship's NPS beside each
touchpoint's, the drag of each touchpoint on the relationship, and the attribute profile.

The relationship is drawn in its own colour with a dashed line across the touchpoints; suppressed
cells (n < 5) never become a chart point; low bases are grey.
"""

from __future__ import annotations

import altair as alt
import polars as pl

from cx.charts.theme import PALETTE, records

AnyChart = alt.LayerChart | alt.FacetChart

RELATIONSHIP = "Relationship"
RELATIONAL_LABEL = "Relational"
"""The relationship's column label (``cx.analytics.touchpoints.moment_label`` of ``relational``)."""
TOUCHPOINT = "Touchpoint"
LOW_BASE = "Low base (n < 30)"
KIND_COLOURS = {
    RELATIONSHIP: "#e8773a",
    TOUCHPOINT: PALETTE["brand"],
    LOW_BASE: PALETTE["low_base"],
}
HEAT = ["#f3a59d", "#fbf0c4", "#93d3a2"]
"""Light low → middle → high colours, so the ink labels read on every cell of the heatmap."""
AFTER_DETRACTOR = "After a detractor answer at the touchpoint (0–6)"
AFTER_PROMOTER = "After a promoter answer (9–10)"


def _domain(values: list[float], pad: float) -> list[float]:
    """An x domain holding 0 and every value, with room for the labels on the right."""
    lo, hi = min([0.0, *values]), max([0.0, *values])
    return [lo - 0.1 * pad, hi + pad]


def touchpoint_nps_chart(side: pl.DataFrame) -> AnyChart:
    """NPS of the relationship and of each touchpoint, with 95 % error bars and "NPS ± MoE"
    labels; the relationship in its own colour, its NPS dashed across the touchpoints."""
    shown = side.filter(~pl.col("suppressed")).with_columns(
        lo=pl.col("nps") - pl.col("nps_moe"),
        hi=pl.col("nps") + pl.col("nps_moe"),
        kind=pl.when(pl.col("relational"))
        .then(pl.lit(RELATIONSHIP))
        .when(pl.col("low_base"))
        .then(pl.lit(LOW_BASE))
        .otherwise(pl.lit(TOUCHPOINT)),
        text=pl.format("{} ± {}", pl.col("nps").round(1), pl.col("nps_moe").round(1)).str.replace(
            "-", "−"
        ),
        row=pl.format("{}  (n = {})", pl.col("label"), pl.col("n")),
    )
    order = shown["row"].to_list()
    reach = max([abs(v) for v in [*shown["lo"].to_list(), *shown["hi"].to_list()]] + [10.0])
    domain = _domain([*shown["lo"].to_list(), *shown["hi"].to_list()], 0.7 * reach)
    kinds = [k for k in KIND_COLOURS if k in set(shown["kind"].to_list())]
    base = alt.Chart(records(shown)).encode(
        y=alt.Y(
            "row:N",
            sort=order,
            title=None,
            axis=alt.Axis(labelLimit=320, labelFontSize=16),
            scale=alt.Scale(paddingInner=0.35),
        )
    )
    bars = base.mark_bar(cornerRadiusEnd=3).encode(
        x=alt.X(
            "nps:Q",
            title="NPS (points), 95 % interval",
            scale=alt.Scale(domain=domain, nice=False),
            axis=alt.Axis(tickCount=6),
        ),
        color=alt.Color(
            "kind:N",
            scale=alt.Scale(domain=kinds, range=[KIND_COLOURS[k] for k in kinds]),
            legend=alt.Legend(title=None, labelLimit=300),
        ),
        tooltip=[
            alt.Tooltip("label:N", title="Survey"),
            alt.Tooltip("nps:Q", format=".1f", title="NPS"),
            alt.Tooltip("nps_moe:Q", format=".1f", title="± MoE"),
            alt.Tooltip("n:Q"),
            alt.Tooltip("change:Q", format="+.1f", title="change vs previous wave"),
        ],
    )
    errors = base.mark_rule(color=PALETTE["ink"], strokeWidth=1.5).encode(x="lo:Q", x2="hi:Q")
    text = base.mark_text(
        align="left", dx=8, fontSize=16, fontWeight=600, color=PALETTE["ink"]
    ).encode(x="hi:Q", text="text:N")
    relational = shown.filter(pl.col("relational")).select("nps")
    line = (
        alt.Chart(records(relational))
        .mark_rule(color=KIND_COLOURS[RELATIONSHIP], strokeDash=[6, 4], strokeWidth=2)
        .encode(x="nps:Q")
    )
    return alt.layer(bars, errors, text, line).properties(height=alt.Step(54))


def drag_chart(dragged: pl.DataFrame) -> AnyChart:
    """Per touchpoint, ranked by drag: the relational NPS of customers after a detractor answer
    (red) and after a promoter answer (green) at the touchpoint, joined, labelled with the gap."""
    wide = (
        dragged.filter(pl.col("gap").is_not_null())
        .sort("rank")
        .with_columns(
            right=pl.max_horizontal("detractor_nps", "promoter_nps"),
            text=pl.format("gap {}", pl.col("gap").round(0).cast(pl.Int64)).str.replace("-", "−"),
            row=pl.format("{}  ({} customers)", pl.col("label"), pl.col("pairs")),
        )
    )
    order = wide["row"].to_list()
    long = pl.concat(
        [
            wide.select("row", "label", "pairs", nps="detractor_nps", n="detractors").with_columns(
                group=pl.lit(AFTER_DETRACTOR)
            ),
            wide.select("row", "label", "pairs", nps="promoter_nps", n="promoters").with_columns(
                group=pl.lit(AFTER_PROMOTER)
            ),
        ]
    )
    values = long["nps"].to_list()
    reach = max([abs(v) for v in values] + [10.0])
    domain = _domain(values, 0.35 * reach)
    y = alt.Y(
        "row:N",
        sort=order,
        title=None,
        axis=alt.Axis(labelLimit=320, labelFontSize=16),
    )
    x_scale = alt.Scale(domain=domain, nice=False)
    span = (
        alt.Chart(records(wide))
        .mark_rule(color=PALETTE["muted"], strokeWidth=5, opacity=0.5)
        .encode(
            y=y,
            x=alt.X(
                "detractor_nps:Q",
                scale=x_scale,
                title="Relational NPS of the customers paired (points)",
                axis=alt.Axis(tickCount=8),
            ),
            x2="promoter_nps:Q",
        )
    )
    dots = (
        alt.Chart(records(long))
        .mark_circle(size=420, opacity=1)
        .encode(
            y=y,
            x=alt.X("nps:Q", scale=x_scale),
            color=alt.Color(
                "group:N",
                scale=alt.Scale(
                    domain=[AFTER_DETRACTOR, AFTER_PROMOTER],
                    range=[PALETTE["detractor"], PALETTE["promoter"]],
                ),
                legend=alt.Legend(title=None, orient="top", labelLimit=400),
            ),
            tooltip=[
                alt.Tooltip("label:N", title="Touchpoint"),
                alt.Tooltip("group:N", title="Customers"),
                alt.Tooltip("nps:Q", format=".1f", title="Relational NPS"),
                alt.Tooltip("n:Q", title="customers"),
            ],
        )
    )
    text = (
        alt.Chart(records(wide))
        .mark_text(align="left", dx=18, fontSize=16, fontWeight=700, color=PALETTE["ink"])
        .encode(y=y, x=alt.X("right:Q", scale=x_scale), text="text:N")
    )
    zero = (
        alt.Chart(records(pl.DataFrame({"x": [0.0]})))
        .mark_rule(color=PALETTE["grid"])
        .encode(x=alt.X("x:Q", scale=x_scale))
    )
    return alt.layer(zero, span, dots, text).properties(height=alt.Step(60))


def attribute_profile_chart(profile: pl.DataFrame) -> AnyChart:
    """Attribute means (0–10) per survey: the relationship first, in bold; hidden cells (fewer than
    5 ratings) show only their count."""
    shown = profile.with_columns(
        text=pl.when(pl.col("suppressed"))
        .then(pl.format("n={}", pl.col("n")))
        .otherwise(pl.col("mean").round(1).cast(pl.String)),
        tone=pl.when(pl.col("suppressed")).then(None).otherwise(pl.col("mean")),
        base=pl.when(pl.col("suppressed"))
        .then(pl.lit("hidden"))
        .when(pl.col("low_base"))
        .then(pl.lit("low base"))
        .otherwise(pl.lit("n ≥ 30")),
    )
    columns = list(dict.fromkeys(shown["label"].to_list()))
    base = alt.Chart(records(shown)).encode(
        x=alt.X(
            "label:N",
            sort=columns,
            title=None,
            axis=alt.Axis(
                orient="top",
                labelAngle=0,
                labelFontSize=16,
                labelLimit=140,
                labelFontWeight=alt.ExprRef(
                    expr=f"datum.value === '{RELATIONAL_LABEL}' ? 800 : 500"
                ),
            ),
        ),
        y=alt.Y("attribute_label:N", title=None, axis=alt.Axis(labelLimit=260)),
    )
    cells = base.mark_rect(stroke="white", strokeWidth=2).encode(
        color=alt.Color(
            "tone:Q",
            title="Mean (0–10)",
            scale=alt.Scale(range=HEAT),
            legend=alt.Legend(orient="bottom", gradientLength=260),
        ),
        tooltip=[
            alt.Tooltip("label:N", title="Survey"),
            alt.Tooltip("attribute_label:N", title="Attribute"),
            alt.Tooltip("mean:Q", format=".2f"),
            alt.Tooltip("n:Q"),
        ],
    )
    text = base.mark_text(fontSize=16, fontWeight=600).encode(
        text="text:N",
        color=alt.Color(
            "base:N",
            legend=None,
            scale=alt.Scale(
                domain=["n ≥ 30", "low base", "hidden"],
                range=[PALETTE["ink"], PALETTE["muted"], PALETTE["muted"]],
            ),
        ),
    )
    return alt.layer(cells, text).properties(height=alt.Step(40), width=alt.Step(130))
