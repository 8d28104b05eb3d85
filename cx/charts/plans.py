"""Charts of action plans and review meetings: pure ``<noun>_chart(df) -> alt.Chart`` on the cx theme."""

from __future__ import annotations

import altair as alt
import polars as pl

from cx.charts.theme import PALETTE, records, wave_axis
from cx.core.labels import QUADRANT_LABELS

STATUS_COLOURS = {
    "late": PALETTE["detractor"],
    "on time": PALETTE["brand"],
    "done": PALETTE["promoter"],
}


def plan_effect_chart(
    effect: pl.DataFrame, metric: str, title: str = ""
) -> alt.LayerChart | alt.FacetChart:
    """The target metric per wave with its 95 % band, the target line, before/after the plan coloured."""
    shown = effect.filter(~pl.col("suppressed")).with_columns(
        lo=pl.col("value") - pl.col("moe"),
        hi=pl.col("value") + pl.col("moe"),
        phase=pl.when(pl.col("phase") == "before")
        .then(pl.lit("before the plan"))
        .otherwise(pl.lit("since the plan")),
    )
    order = shown["wave"].to_list()
    base = alt.Chart(records(shown)).encode(
        x=alt.X("wave:N", sort=order, title=None, axis=wave_axis(order))
    )
    phases = alt.Scale(
        domain=["before the plan", "since the plan"], range=[PALETTE["low_base"], PALETTE["brand"]]
    )
    band = base.mark_rule(strokeWidth=2, color=PALETTE["band"]).encode(
        y=alt.Y("lo:Q", title=metric, scale=alt.Scale(zero=False, padding=20)), y2="hi:Q"
    )
    line = base.mark_line(color=PALETTE["muted"], strokeWidth=2).encode(y="value:Q")
    points = base.mark_point(size=160, filled=True).encode(
        y="value:Q",
        color=alt.Color("phase:N", scale=phases, legend=alt.Legend(title=None)),
        tooltip=[
            alt.Tooltip("wave:N"),
            alt.Tooltip("value:Q", format=".1f", title=metric),
            alt.Tooltip("moe:Q", format=".1f", title="± 95 %"),
            alt.Tooltip("n:Q"),
        ],
    )
    labels = base.mark_text(dy=-18, fontSize=16, fontWeight=600).encode(
        y="value:Q", text=alt.Text("value:Q", format=".1f")
    )
    layers: list[alt.Chart] = [band, line, points, labels]
    target = shown["target"].drop_nulls()
    if target.len():
        rule = alt.Chart(
            alt.Data(values=[{"target": float(target[0]), "label": f"target {float(target[0]):g}"}])
        )
        layers.append(
            rule.mark_rule(strokeDash=[8, 5], strokeWidth=2, color=PALETTE["promoter"]).encode(
                y="target:Q"
            )
        )
        layers.append(
            rule.mark_text(
                align="left", dx=4, dy=-10, fontSize=15, color=PALETTE["promoter"]
            ).encode(y="target:Q", x=alt.value(0), text="label:N")
        )
    return alt.layer(*layers).properties(title=title, height=320)


def tracker_chart(counts: pl.DataFrame, by: str, label: str) -> alt.Chart:
    """Plans per ``by`` (owner, problem…): late, on time and done, as stacked horizontal bars."""
    long = (
        counts.select(
            pl.col(by),
            late=pl.col("late"),
            on_time=pl.col("open") - pl.col("late"),
            done=pl.col("done"),
        )
        .rename({"on_time": "on time"})
        .unpivot(index=by, variable_name="state", value_name="plans")
        .filter(pl.col("plans") > 0)
    )
    order = counts[by].to_list()
    return (
        alt.Chart(records(long))
        .mark_bar(cornerRadiusEnd=3)
        .encode(
            y=alt.Y(f"{by}:N", sort=order, title=None, axis=alt.Axis(labelLimit=320)),
            x=alt.X("plans:Q", title="Plans", axis=alt.Axis(tickMinStep=1)),
            color=alt.Color(
                "state:N",
                scale=alt.Scale(domain=list(STATUS_COLOURS), range=list(STATUS_COLOURS.values())),
                legend=alt.Legend(title=None),
            ),
            order=alt.Order("state:N", sort="descending"),
            tooltip=[
                alt.Tooltip(f"{by}:N", title=label),
                alt.Tooltip("state:N"),
                alt.Tooltip("plans:Q"),
            ],
        )
        .properties(height=alt.Step(40))
    )


def daily_responses_chart(daily: pl.DataFrame) -> alt.Chart:
    """Responses per day, stacked promoters / passives / detractors (counts)."""
    long = (
        daily.select(
            "day",
            Promoters="promoters",
            Passives="passives",
            Detractors="detractors",
            **{"Hidden (n < 5)": "hidden"},
        )
        .unpivot(index="day", variable_name="group", value_name="responses")
        .drop_nulls("responses")
    )
    domain = ["Promoters", "Passives", "Detractors", "Hidden (n < 5)"]
    days = sorted({str(d) for d in long["day"].to_list()})
    return (
        alt.Chart(records(long.with_columns(pl.col("day").cast(pl.String))))
        .mark_bar()
        .encode(
            x=alt.X("day:N", title=None, axis=wave_axis(days)),
            y=alt.Y("responses:Q", title="Responses"),
            color=alt.Color(
                "group:N",
                scale=alt.Scale(
                    domain=domain,
                    range=[
                        PALETTE["promoter"],
                        PALETTE["passive"],
                        PALETTE["detractor"],
                        PALETTE["low_base"],
                    ],
                ),
                legend=alt.Legend(title=None),
            ),
            order=alt.Order("group:N"),
            tooltip=[alt.Tooltip("day:N"), alt.Tooltip("group:N"), alt.Tooltip("responses:Q")],
        )
        .properties(height=340)
    )


QUADRANTS = {
    "key_strength": (QUADRANT_LABELS["key_strength"], PALETTE["promoter"]),
    "improvement_area": (QUADRANT_LABELS["improvement_area"], PALETTE["detractor"]),
    "secondary_strength": (QUADRANT_LABELS["secondary_strength"], "#8fcf9f"),
    "secondary_weakness": (QUADRANT_LABELS["secondary_weakness"], PALETTE["passive"]),
}


def drivers_chart(drivers: pl.DataFrame) -> alt.LayerChart | alt.FacetChart:
    """Attributes by importance (share of the explained NPS), coloured by quadrant, labelled with their score."""
    df = drivers.filter(pl.col("importance").is_not_null()).with_columns(
        share=100 * pl.col("importance"),
        quadrant_label=pl.col("quadrant").replace_strict(
            {k: v[0] for k, v in QUADRANTS.items()}, default="–"
        ),
        score=pl.format("score {}", pl.col("mean").round(1)),
    )
    base = alt.Chart(records(df)).encode(
        y=alt.Y("label:N", sort=df["label"].to_list(), title=None, axis=alt.Axis(labelLimit=320)),
        x=alt.X(
            "share:Q",
            title="Share of the explained NPS (%)",
            axis=alt.Axis(tickCount=5, format="d"),
        ),
    )
    bars = base.mark_bar(cornerRadiusEnd=3).encode(
        color=alt.Color(
            "quadrant_label:N",
            legend=alt.Legend(title=None),
            scale=alt.Scale(
                domain=[v[0] for v in QUADRANTS.values()], range=[v[1] for v in QUADRANTS.values()]
            ),
        ),
        tooltip=[
            alt.Tooltip("label:N", title="Attribute"),
            alt.Tooltip("share:Q", format=".0f", title="% of explained NPS"),
            alt.Tooltip("mean:Q", format=".1f", title="score"),
            alt.Tooltip("quadrant_label:N", title="quadrant"),
        ],
    )
    text = base.mark_text(align="left", dx=6, fontSize=15, fontWeight=600).encode(text="score:N")
    return alt.layer(bars, text).properties(height=alt.Step(44))
