"""The overview rollup: one pass over the responses into additive sums per
wave × geography × advisor × channel × touchpoint × segment cell.

NPS, its margin of error, shares and CSAT are all functions of additive sums (Σw, Σw²,
Σw·promoter, …), so every overview question is answered exactly from the rollup, with the
same code path as from raw rows (:func:`contributions` then a sum). The rollup is built once
per data version (cached by ``cx.ui``) and is orders of magnitude smaller than the rows.
"""

from __future__ import annotations

from collections.abc import Collection

import polars as pl

from cx.core import metrics

KEYS = ("wave", "region", "country", "agency", "advisor_id", "channel", "touchpoint", "segment")
SUMS = (
    "n",
    "promoters",
    "passives",
    "detractors",
    "sw",
    "sw2",
    "swp",
    "swpa",
    "swd",
    "csat_w",
    "csat_top",
)
MARKER = "sw2"


def is_rollup(columns: Collection[str]) -> bool:
    return MARKER in columns and "nps" not in columns


def contributions(columns: Collection[str]) -> list[pl.Expr]:
    """Per-row additive contributions; summing them over a group gives the group's sums."""
    nps = pl.col("nps")
    answered = nps.is_not_null()
    w = pl.when(answered).then(pl.col("weight")).otherwise(0.0)
    exprs = [
        answered.cast(pl.UInt32).alias("n"),
        metrics.is_promoter().fill_null(False).cast(pl.UInt32).alias("promoters"),
        metrics.is_passive().fill_null(False).cast(pl.UInt32).alias("passives"),
        metrics.is_detractor().fill_null(False).cast(pl.UInt32).alias("detractors"),
        w.alias("sw"),
        (w * w).alias("sw2"),
        (w * metrics.is_promoter().fill_null(False)).alias("swp"),
        (w * metrics.is_passive().fill_null(False)).alias("swpa"),
        (w * metrics.is_detractor().fill_null(False)).alias("swd"),
    ]
    if "csat" in columns:
        c = pl.col("csat")
        exprs += [
            pl.when(c.is_not_null()).then(pl.col("weight")).otherwise(0.0).alias("csat_w"),
            pl.when(c >= 4).then(pl.col("weight")).otherwise(0.0).alias("csat_top"),
        ]
    else:
        exprs += [pl.lit(0.0).alias("csat_w"), pl.lit(0.0).alias("csat_top")]
    return exprs


def sum_aggs() -> list[pl.Expr]:
    return [pl.col(c).sum() for c in SUMS]


def from_sums() -> list[pl.Expr]:
    """KPIs from summed columns: the contract's definitions on sums (same values as on rows)."""
    sw = pl.col("sw")
    share = lambda c: pl.when(sw > 0).then(pl.col(c) / sw)  # noqa: E731
    return [
        share("swp").alias("promoter_share"),
        share("swpa").alias("passive_share"),
        share("swd").alias("detractor_share"),
        pl.when(sw > 0).then(100 * (pl.col("swp") - pl.col("swd")) / sw).alias("nps"),
        pl.when(pl.col("sw2") > 0).then(sw.pow(2) / pl.col("sw2")).alias("effective_base"),
        pl.when(pl.col("csat_w") > 0)
        .then(100 * pl.col("csat_top") / pl.col("csat_w"))
        .alias("csat"),
    ]


def build(frame: pl.LazyFrame) -> pl.DataFrame:
    """One scan: drop excluded responses, sum the contributions per cell of :data:`KEYS`."""
    columns = frame.collect_schema().names()
    keys = [k for k in KEYS if k in columns]
    rows = frame.filter(~pl.col("excluded").fill_null(False)) if "excluded" in columns else frame
    return rows.with_columns(contributions(columns)).group_by(keys).agg(sum_aggs()).collect()


def coarsen(cube: pl.DataFrame, drop: tuple[str, ...] = ("advisor_id",)) -> pl.DataFrame:
    """The same sums without some keys (default: advisors), for questions that never split by them.

    Without advisors the rollup is bounded by waves × agencies × channels × touchpoints ×
    segments cells, whatever the number of responses, so every overview query reads a few
    thousand rows.
    """
    keys = [k for k in KEYS if k in cube.columns and k not in drop]
    return cube.group_by(keys).agg(sum_aggs())
