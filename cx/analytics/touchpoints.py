"""Relational vs transactional NPS: the relationship and the touchpoints that keep its promise.

A response whose ``touchpoint`` is null is a relational answer (how likely to recommend, asked
about the relationship); any other is a transactional answer at that moment. Three questions,
each for the filter's wave (default: the latest), the touchpoint filter deliberately ignored
(it would hide the comparison; the screen says so):

- :func:`side_by_side`: NPS, margin, change vs the previous wave and significance of the
  relationship and of every touchpoint (the overview's breakdown on a ``moment`` column, so
  suppression and significance are the overview's own).
- :func:`attribute_profile`: the weighted mean of every ``attr_*`` per moment.
- :func:`drag`: which touchpoints drag the relationship. A *pair* is a customer's latest
  relational answer in the wave and that customer's latest answer at the touchpoint given
  before it, in the same wave or the wave before (the experience that could shape the rating).
  Per touchpoint: the customers paired, the weighted Pearson correlation of the two scores,
  and the relational NPS of customers whose touchpoint answer was a detractor (0-6) against
  those whose answer was a promoter (9-10); the gap between the two is the *drag*, and
  touchpoints are ranked by it. Weights are the relational answers' survey weights. Fewer than
  30 pairs: low base, no figure and no rank; fewer than 5: only the count.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import polars as pl

from cx.analytics import overview
from cx.analytics.evolution import number, signed
from cx.analytics.overview import columns_of, scoped
from cx.core import labels, metrics
from cx.core.data import attribute_label, attributes
from cx.core.filters import RELATIONAL, Filters
from cx.core.scope import Scope

MOMENT = "moment"
"""The column naming the relational survey (:data:`RELATIONAL`) or the touchpoint."""

SIDE_SCHEMA = pl.Schema(
    {
        MOMENT: pl.String(),
        "label": pl.String(),
        "relational": pl.Boolean(),
        "n": pl.Int64(),
        "nps": pl.Float64(),
        "nps_moe": pl.Float64(),
        "prev_nps": pl.Float64(),
        "change": pl.Float64(),
        "significant": pl.Boolean(),
        "low_base": pl.Boolean(),
        "suppressed": pl.Boolean(),
        "wave": pl.String(),
        "prev_wave": pl.String(),
    }
)
PROFILE_SCHEMA = pl.Schema(
    {
        MOMENT: pl.String(),
        "label": pl.String(),
        "attribute": pl.String(),
        "attribute_label": pl.String(),
        "mean": pl.Float64(),
        "n": pl.Int64(),
        "low_base": pl.Boolean(),
        "suppressed": pl.Boolean(),
    }
)
DRAG_SCHEMA = pl.Schema(
    {
        "touchpoint": pl.String(),
        "label": pl.String(),
        "pairs": pl.Int64(),
        "r": pl.Float64(),
        "detractors": pl.Int64(),
        "detractor_nps": pl.Float64(),
        "detractor_moe": pl.Float64(),
        "promoters": pl.Int64(),
        "promoter_nps": pl.Float64(),
        "promoter_moe": pl.Float64(),
        "gap": pl.Float64(),
        "z": pl.Float64(),
        "significant": pl.Boolean(),
        "low_base": pl.Boolean(),
        "suppressed": pl.Boolean(),
        "rank": pl.Int32(),
        "wave": pl.String(),
        "window": pl.String(),
    }
)


def moment_label(column: str = MOMENT) -> pl.Expr:
    """``relational`` -> ``Relational``, ``delivery`` -> ``Delivery`` (display names)."""
    name = pl.col(column)
    return name.str.slice(0, 1).str.to_uppercase() + name.str.slice(1).str.replace_all("_", " ")


def _every_moment(filters: Filters) -> Filters:
    """The filters without the touchpoint filter: the comparison needs every moment."""
    return replace(filters, touchpoints=())


def _with_moment(frame: pl.LazyFrame) -> pl.LazyFrame:
    return frame.with_columns(pl.col("touchpoint").fill_null(pl.lit(RELATIONAL)).alias(MOMENT))


def _relational_first(df: pl.DataFrame, column: str = MOMENT) -> pl.DataFrame:
    return df.sort(pl.col(column) != RELATIONAL, maintain_order=True)


def _has_touchpoints(frame: pl.LazyFrame) -> bool:
    return "touchpoint" in columns_of(frame)


def side_by_side(
    frame: pl.LazyFrame, scope: Scope, filters: Filters, compare_to: str | None = None
) -> pl.DataFrame:
    """One row for the relationship, then one per touchpoint (best NPS first, low bases last):
    n, NPS ± MoE, the previous wave's NPS, the change, its significance and the base flags."""
    if not _has_touchpoints(frame):
        return pl.DataFrame(schema=SIDE_SCHEMA)
    wave, _ = _window(frame, filters)
    df = overview.breakdown(
        _with_moment(frame), scope, _every_moment(filters).with_wave(wave), MOMENT, compare_to
    )
    if df.is_empty():
        return pl.DataFrame(schema=SIDE_SCHEMA)
    df = df.with_columns(
        label=moment_label(),
        relational=pl.col(MOMENT) == RELATIONAL,
        wave=pl.lit(wave),
        n=pl.col("n").cast(pl.Int64),
    )
    return _relational_first(df).select(list(SIDE_SCHEMA)).cast(SIDE_SCHEMA)


def attribute_profile(frame: pl.LazyFrame, scope: Scope, filters: Filters) -> pl.DataFrame:
    """The weighted mean of every attribute per moment (relational first), with its base;
    a cell of fewer than 5 ratings shows no mean."""
    attrs = attributes(columns_of(frame))
    if not attrs or not _has_touchpoints(frame):
        return pl.DataFrame(schema=PROFILE_SCHEMA)
    wave, _ = _window(frame, filters)
    df = (
        scoped(_with_moment(frame), scope, _every_moment(filters).with_wave(wave))
        .select(MOMENT, "weight", *attrs)
        .unpivot(index=[MOMENT, "weight"], on=attrs, variable_name="attribute", value_name="value")
        .group_by(MOMENT, "attribute")
        .agg(
            metrics.attribute_mean("value").alias("mean"),
            pl.col("value").count().cast(pl.Int64).alias("n"),
        )
        .filter(pl.col("n") > 0)
        .with_columns(metrics.low_base(), metrics.suppressed())
        .with_columns(
            mean=pl.when(pl.col("suppressed")).then(None).otherwise(pl.col("mean")),
            label=moment_label(),
            attribute_label=pl.col("attribute").replace_strict(
                attrs, [attribute_label(a) for a in attrs], return_dtype=pl.String
            ),
        )
        .sort(MOMENT, "attribute")
        .collect()
    )
    return _relational_first(df).select(list(PROFILE_SCHEMA))


def weighted_pearson(x: str, y: str, w: str = "weight") -> pl.Expr:
    """Weighted Pearson correlation of ``x`` and ``y`` (plain Pearson when every weight is 1);
    null when either has no spread.

    >>> df = pl.DataFrame({"x": [1, 2, 3], "y": [1, 3, 2], "weight": [1.0, 1.0, 1.0]})
    >>> round(df.select(weighted_pearson("x", "y")).item(), 6)
    0.5
    """
    wt, a, b = pl.col(w), pl.col(x).cast(pl.Float64), pl.col(y).cast(pl.Float64)
    sw = wt.sum()
    ma, mb = (wt * a).sum() / sw, (wt * b).sum() / sw
    cov = (wt * a * b).sum() / sw - ma * mb
    va = ((wt * a * a).sum() / sw - ma * ma).clip(0.0)
    vb = ((wt * b * b).sum() / sw - mb * mb).clip(0.0)
    return pl.when((va > 0) & (vb > 0)).then(cov / (va * vb).sqrt())


def _window(frame: pl.LazyFrame, filters: Filters) -> tuple[str, list[str]]:
    """The wave and the waves its pairs may come from: that wave and the one before."""
    order = overview.waves(frame)
    wave = filters.wave or order[-1]
    i = order.index(wave) if wave in order else 0
    return wave, order[max(i - 1, 0) : i + 1]


def pairs(frame: pl.LazyFrame, scope: Scope, filters: Filters) -> pl.LazyFrame:
    """One row per customer and touchpoint: the customer's latest relational answer of the wave
    (``nps`` and ``weight`` are the relational score and weight) and their latest answer at the
    touchpoint given before it, in the same wave or the wave before (``t_score``)."""
    wave, window = _window(frame, filters)
    rows = (
        scoped(frame, scope, _every_moment(filters).with_wave(None))
        .filter(pl.col("wave").is_in(window) & pl.col("nps").is_not_null())
        .select("wave", "customer_id", "responded_at", "response_id", "touchpoint", "nps", "weight")
    )
    relational = (
        rows.filter(pl.col("touchpoint").is_null() & (pl.col("wave") == wave))
        .sort("customer_id", "responded_at", "response_id")
        .unique("customer_id", keep="last", maintain_order=True)
        .select("customer_id", "responded_at", "nps", "weight")
    )
    moments = rows.filter(pl.col("touchpoint").is_not_null()).select(
        "customer_id",
        "touchpoint",
        pl.col("responded_at").alias("t_at"),
        pl.col("response_id").alias("t_id"),
        pl.col("nps").alias("t_score"),
    )
    return (
        relational.join(moments, on="customer_id", how="inner")
        .filter(pl.col("t_at") < pl.col("responded_at"))
        .sort("customer_id", "touchpoint", "t_at", "t_id")
        .unique(["customer_id", "touchpoint"], keep="last", maintain_order=True)
        .select("customer_id", "touchpoint", "nps", "weight", "t_score")
    )


def _group(paired: pl.LazyFrame, keep: pl.Expr, name: str) -> pl.LazyFrame:
    """The relational NPS ± MoE of the customers whose touchpoint answer meets ``keep``."""
    return (
        paired.filter(keep)
        .group_by("touchpoint")
        .agg(metrics.n(), metrics.nps(), metrics.nps_moe())
        .select(
            "touchpoint",
            pl.col("n").cast(pl.Int64).alias(f"{name}s"),
            pl.col("nps").alias(f"{name}_nps"),
            pl.col("nps_moe").alias(f"{name}_moe"),
        )
    )


def drag(frame: pl.LazyFrame, scope: Scope, filters: Filters) -> pl.DataFrame:
    """Per touchpoint, how its experience moves the relationship (see the module's docstring),
    ranked by the drag (the gap), biggest first; low bases and suppressed touchpoints last."""
    if not _has_touchpoints(frame):
        return pl.DataFrame(schema=DRAG_SCHEMA)
    wave, window = _window(frame, filters)
    paired = pairs(frame, scope, filters)
    relational_n = (
        scoped(frame, scope, _every_moment(filters).with_wave(wave))
        .filter(pl.col("touchpoint").is_null())
        .select(metrics.n().cast(pl.Int64).alias("relational_n"))
    )
    t = pl.col("t_score")
    df = (
        paired.group_by("touchpoint")
        .agg(pl.len().cast(pl.Int64).alias("pairs"), weighted_pearson("t_score", "nps").alias("r"))
        .join(_group(paired, metrics.is_detractor(t), "detractor"), on="touchpoint", how="left")
        .join(_group(paired, metrics.is_promoter(t), "promoter"), on="touchpoint", how="left")
        .join(relational_n, how="cross")
        .with_columns(
            pl.col("detractors").fill_null(0),
            pl.col("promoters").fill_null(0),
            metrics.low_base("pairs"),
            metrics.suppressed("pairs"),
        )
        .collect()
    )
    return _hide_and_rank(df, wave, window)


def has_drag(dragged: pl.DataFrame) -> bool:
    """Whether any touchpoint has a drag figure (30 paired customers or more, both groups shown)."""
    return dragged.filter(pl.col("rank").is_not_null()).height > 0


def _hide_and_rank(df: pl.DataFrame, wave: str, window: list[str]) -> pl.DataFrame:
    """No figure on a low base, no count of a suppressed one, no group NPS on fewer than 5 (or
    whose complement among the wave's relational answers is 1-4); rank the drags."""

    def hidden(name: str) -> pl.Expr:
        rest = pl.col("relational_n") - pl.col(f"{name}s")
        return (
            pl.col("low_base")
            | (pl.col(f"{name}s") < metrics.SUPPRESS_BELOW)
            | ((rest > 0) & (rest < metrics.SUPPRESS_BELOW))
        )

    blank = lambda c, cond: pl.when(cond).then(None).otherwise(pl.col(c)).alias(c)  # noqa: E731
    z = metrics.z_change(
        pl.col("promoter_nps"),
        pl.col("promoter_moe"),
        pl.col("detractor_nps"),
        pl.col("detractor_moe"),
    )
    df = df.with_columns(
        blank("r", pl.col("low_base")),
        blank("detractor_nps", hidden("detractor")),
        blank("detractor_moe", hidden("detractor")),
        blank("promoter_nps", hidden("promoter")),
        blank("promoter_moe", hidden("promoter")),
        blank("detractors", pl.col("suppressed")),
        blank("promoters", pl.col("suppressed")),
    ).with_columns(
        gap=pl.col("promoter_nps") - pl.col("detractor_nps"),
        z=z,
        significant=(
            (z > metrics.Z95)
            & (pl.col("detractors") >= metrics.LOW_BASE)
            & (pl.col("promoters") >= metrics.LOW_BASE)
        ).fill_null(False),
    )
    ranked = df.filter(pl.col("gap").is_not_null()).sort(
        ["gap", "touchpoint"], descending=[True, False]
    )
    ranked = ranked.with_columns(rank=pl.int_range(1, pl.len() + 1).cast(pl.Int32))
    rest = (
        df.filter(pl.col("gap").is_null())
        .sort("touchpoint")
        .with_columns(rank=pl.lit(None, pl.Int32))
    )
    return (
        pl.concat([ranked, rest], how="vertical_relaxed")
        .with_columns(
            label=moment_label("touchpoint"),
            wave=pl.lit(wave),
            window=pl.lit(" – ".join(dict.fromkeys([window[0], window[-1]]))),
        )
        .select(list(DRAG_SCHEMA))
        .cast(DRAG_SCHEMA)
    )


def takeaway(side: pl.DataFrame, dragged: pl.DataFrame) -> str:
    """E.g. "Relational NPS is 11.8 ± 1.9 in 2026-Q3; touchpoints run from 13.6 (Delivery) to
    14.0 (Purchase). Delivery drags the relationship most: …"."""
    rel = side.filter(pl.col("relational"))
    wave = side["wave"][0] if side.height else (dragged["wave"][0] if dragged.height else "")
    if rel.is_empty():
        return (
            f"No relational answers (touchpoint empty) in {wave} for this scope and these filters."
        )
    row = rel.row(0, named=True)
    if row["suppressed"]:
        text = (
            f"Only {row['n']} relational answers in {wave}: too few to show a score (fewer than 5)"
        )
    else:
        text = f"Relational NPS is {number(row['nps'])} ± {row['nps_moe']:.1f} in {wave}"
        if row["change"] is not None:
            verdict = "significant" if row["significant"] else "not significant"
            text += f" ({signed(row['change'])} vs {row['prev_wave']}, {verdict})"
    moments = side.filter(~pl.col("relational") & ~pl.col("suppressed")).sort("nps", "label")
    if moments.height >= 2:
        lo, hi = moments.row(0, named=True), moments.row(-1, named=True)
        text += (
            f"; touchpoints run from {number(lo['nps'])} ({lo['label']}) "
            f"to {number(hi['nps'])} ({hi['label']})"
        )
    elif moments.height == 1:
        m = moments.row(0, named=True)
        text += f"; {m['label']} scores {number(m['nps'])}"
    ranked = dragged.filter(pl.col("rank").is_not_null())
    if ranked.is_empty():
        return (
            text + ". Too few customers answered both the relational survey and a touchpoint "
            "survey (fewer than 30 per touchpoint) to tell which touchpoint drags the relationship."
        )
    top = ranked.row(0, named=True)
    return (
        text + f". {top['label']} drags the relationship most: customers whose last "
        f"{top['label'].lower()} answer was a detractor give the relationship "
        f"{number(top['detractor_nps'])}, against {number(top['promoter_nps'])} after a promoter "
        f"one (gap {top['gap']:.0f} points, {_verdict(top)}; {top['pairs']:,} customers)."
    )


def finding(side: pl.DataFrame, dragged: pl.DataFrame) -> str:
    """The one-line finding for a report page: the touchpoint that drags the relationship most,
    else the relational NPS sentence of :func:`takeaway`."""
    ranked = dragged.filter(pl.col("rank").is_not_null())
    if ranked.is_empty():
        return takeaway(side, dragged).split(". ")[0].removesuffix(".") + "."
    top = ranked.row(0, named=True)
    return (
        f"{top['label']} drags the relationship most: relational NPS "
        f"{number(top['detractor_nps'])} after a detractor {top['label'].lower()} answer, "
        f"{number(top['promoter_nps'])} after a promoter one (gap {top['gap']:.0f} points, "
        f"{_verdict(top)})."
    )


def _verdict(row: dict[str, Any]) -> str:
    """Whether a drag row's gap is significant, or why it was not tested."""
    if row["gap"] is None:
        return "no figure"
    if min(row["detractors"], row["promoters"]) < metrics.LOW_BASE:
        return "indicative: a group under 30"
    return "significant" if row["significant"] else "not significant"


def side_table(side: pl.DataFrame) -> pl.DataFrame:
    """The side-by-side table for display: numbers rounded, the overview's notes."""
    return side.select(
        pl.col("label").alias("Survey"),
        pl.when(pl.col("relational"))
        .then(pl.lit("relationship"))
        .otherwise(pl.lit("touchpoint"))
        .alias("Kind"),
        pl.col("n"),
        pl.col("nps").round(1).alias("NPS"),
        pl.col("nps_moe").round(1).alias("± MoE"),
        pl.col("prev_nps").round(1).alias("Previous wave"),
        pl.col("change").round(1).alias("Change"),
        labels.change_note().alias("Note"),
    )


def drag_note() -> pl.Expr:
    """The note of a drag row, the same on screen and in reports (the twin of :func:`_verdict`)."""
    small_group = pl.min_horizontal("detractors", "promoters") < metrics.LOW_BASE
    return (
        pl.when(pl.col("suppressed"))
        .then(pl.lit("hidden (n < 5)"))
        .when(pl.col("low_base"))
        .then(pl.lit("low base: no figure"))
        .when(pl.col("gap").is_null())
        .then(pl.lit("a group under 5: no gap"))
        .when(small_group)
        .then(pl.lit("indicative: a group under 30"))
        .when(pl.col("significant"))
        .then(pl.lit("significant"))
        .otherwise(pl.lit("not significant"))
        .alias("Note")
    )


def drag_table(dragged: pl.DataFrame) -> pl.DataFrame:
    """The drag ranking for display: rank, pairs, correlation, the two relational NPS and the gap."""
    return dragged.select(
        pl.col("rank").alias("#"),
        pl.col("label").alias("Touchpoint"),
        pl.col("pairs").alias("Customers paired"),
        pl.col("r").round(2).alias("Correlation r"),
        pl.col("detractor_nps").round(1).alias("Relational NPS after a detractor answer"),
        pl.col("promoter_nps").round(1).alias("after a promoter answer"),
        pl.col("gap").round(1).alias("Drag (gap)"),
        drag_note(),
    )
