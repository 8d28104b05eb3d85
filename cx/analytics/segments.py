"""Segments & RFM: NPS by customer segment and RFM tier, and what each group is worth.

NPS figures come from :func:`cx.analytics.overview.breakdown` / :func:`cx.analytics.overview.kpis` (scope first, then
filters, low bases marked, tiny cells suppressed). Business value joins each surveyed customer's
CRM spend of the previous 365 days (RFM ``monetary`` as of the wave's end): revenue is real
money, so survey weights are not applied to it, and a customer who answered twice in the period
counts once, with their latest answer.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from cx.analytics import overview, rfm
from cx.analytics.evolution import number, signed
from cx.core import metrics
from cx.core.filters import Filters
from cx.core.scope import Scope

NPS_GROUPS = ("Promoters", "Passives", "Detractors")


def _waves_read(
    frame: pl.LazyFrame, filters: Filters, *, previous: bool = False
) -> list[str] | None:
    """The waves a query reads: the filter's wave (and the one before); None = every wave."""
    all_waves = overview.waves(frame)
    wave = filters.wave or (all_waves[-1] if all_waves else None)
    if wave is None or wave not in all_waves:
        return None
    i = all_waves.index(wave)
    return all_waves[max(i - 1, 0) : i + 1] if previous else [wave]


def segment_nps(frame: pl.LazyFrame, scope: Scope, filters: Filters) -> pl.DataFrame:
    """NPS ± MoE per customer segment for the wave, change vs the previous wave, best first."""
    return overview.breakdown(frame, scope, filters, "segment")


def segment_trend(frame: pl.LazyFrame, scope: Scope, filters: Filters) -> pl.DataFrame:
    """NPS per segment and wave, every wave (chronological), with the 95 % band."""
    if "segment" not in overview.columns_of(frame):
        return pl.DataFrame()
    df = overview.kpis(frame, scope, filters.with_wave(None), ["wave", "segment"]).filter(
        pl.col("segment").is_not_null()
    )
    return df.with_columns(
        lo=pl.col("nps") - pl.col("nps_moe"), hi=pl.col("nps") + pl.col("nps_moe")
    )


def tier_nps(frame: pl.LazyFrame, scope: Scope, filters: Filters, root: str) -> pl.DataFrame:
    """NPS ± MoE per RFM tier (tier as of the wave's end), best first; empty without CRM data."""
    if not rfm.transactions_path(Path(root)).exists():
        return pl.DataFrame()
    enriched = rfm.with_rfm(
        frame, Path(root), ("rfm_tier",), waves=_waves_read(frame, filters, previous=True)
    )
    df = overview.breakdown(enriched, scope, filters, "rfm_tier")
    return df.filter(pl.col("rfm_tier").is_not_null())


def _secondary(df: pl.DataFrame, group: str, key: str, hide: list[str]) -> pl.DataFrame:
    """Within each ``group``, when exactly one cell is suppressed also hide the smallest visible one
    (else the group total minus the visible cells would reveal it)."""
    one_hidden = pl.col("suppressed").sum().over(group) == 1
    visible_n = pl.when(~pl.col("suppressed")).then(pl.col("n"))
    smallest = (visible_n == visible_n.min().over(group)) & (
        pl.col(key)
        == pl.when(visible_n == visible_n.min().over(group)).then(pl.col(key)).min().over(group)
    )
    mask = (one_hidden & smallest).fill_null(False)
    return df.with_columns(
        [pl.when(mask).then(None).otherwise(pl.col(c)).alias(c) for c in hide]
        + [(pl.col("suppressed") | mask).alias("suppressed")]
    )


def tier_segment_grid(
    frame: pl.LazyFrame, scope: Scope, filters: Filters, root: str
) -> pl.DataFrame:
    """NPS of every RFM tier x segment cell; suppressed cells (and their complements) hidden."""
    cols = overview.columns_of(frame)
    if "segment" not in cols or not rfm.transactions_path(Path(root)).exists():
        return pl.DataFrame()
    enriched = rfm.with_rfm(frame, Path(root), ("rfm_tier",), waves=_waves_read(frame, filters))
    df = overview.kpis(enriched, scope, filters, ["rfm_tier", "segment"])
    df = df.filter(pl.col("rfm_tier").is_not_null() & pl.col("segment").is_not_null())
    hide = [*overview.SCORE_COLUMNS, "promoters", "passives", "detractors"]
    df = _secondary(_secondary(df, "rfm_tier", "segment", hide), "segment", "rfm_tier", hide)
    order = rfm.load_tiers().names
    return df.sort(
        pl.col("rfm_tier").replace_strict(order, list(range(len(order))), default=len(order)),
        "segment",
    )


def value_by(
    frame: pl.LazyFrame, scope: Scope, filters: Filters, root: str, by: str = "nps_group"
) -> pl.DataFrame:
    """Revenue share and revenue per customer of surveyed customers by NPS group or RFM tier.

    ``by`` is ``nps_group`` (Promoters / Passives / Detractors) or ``rfm_tier``. Columns: group,
    customers, revenue, revenue_share (0..1), revenue_per_customer, suppressed (< 5 customers).
    """
    if by not in ("nps_group", "rfm_tier"):
        raise ValueError(f"value_by: by must be 'nps_group' or 'rfm_tier', not {by!r}")
    if not rfm.transactions_path(Path(root)).exists():
        return pl.DataFrame()
    enriched = rfm.with_rfm(
        frame, Path(root), ("monetary", "rfm_tier"), waves=_waves_read(frame, filters)
    )
    group = (
        pl.when(metrics.is_promoter())
        .then(pl.lit(NPS_GROUPS[0]))
        .when(metrics.is_passive())
        .then(pl.lit(NPS_GROUPS[1]))
        .otherwise(pl.lit(NPS_GROUPS[2]))
        if by == "nps_group"
        else pl.col("rfm_tier")
    )
    df = (
        overview.scoped(enriched, scope, filters)
        .filter(pl.col("nps").is_not_null())
        .sort("responded_at", "response_id")
        .unique("customer_id", keep="last", maintain_order=True)
        .with_columns(group=group)
        .filter(pl.col("group").is_not_null())
        .group_by("group")
        .agg(n=pl.len().cast(pl.Int64), revenue=pl.col("monetary").fill_null(0.0).sum())
        .with_columns(
            revenue_share=pl.col("revenue") / pl.col("revenue").sum(),
            revenue_per_customer=pl.col("revenue") / pl.col("n"),
            suppressed=pl.col("n") < metrics.SUPPRESS_BELOW,
        )
        .collect()
    )
    hide = ["revenue", "revenue_share", "revenue_per_customer"]
    df = df.with_columns(
        [pl.when(pl.col("suppressed")).then(None).otherwise(pl.col(c)).alias(c) for c in hide]
    )
    df = _secondary(df.with_columns(all=pl.lit(1)), "all", "group", hide).drop("all")
    order = list(NPS_GROUPS) if by == "nps_group" else rfm.load_tiers().names
    return (
        df.sort(
            pl.col("group").replace_strict(order, list(range(len(order))), default=len(order)),
            "group",
        )
        .rename({"n": "customers"})
        .select(
            "group", "customers", "revenue", "revenue_share", "revenue_per_customer", "suppressed"
        )
    )


def takeaway(
    segments: pl.DataFrame, trend: pl.DataFrame, tiers: pl.DataFrame, value: pl.DataFrame
) -> str:
    """E.g. "Young is the lowest segment at 3.1 (−14.2 since 2024-Q4); Champions score 32.2;
    detractors spend 38 % less per customer than promoters."."""
    parts: list[str] = []
    shown = (
        segments.filter(~pl.col("suppressed") & pl.col("nps").is_not_null())
        if not segments.is_empty()
        else segments
    )
    if shown.is_empty():
        return "Too few responses in this scope to compare segments."
    worst = shown.sort("nps", "segment").row(0, named=True)
    text = f"{worst['segment']} is the lowest segment at NPS {number(worst['nps'])}"
    if not trend.is_empty():
        line = trend.filter((pl.col("segment") == worst["segment"]) & pl.col("nps").is_not_null())
        if line.height > 1:
            text += f" ({signed(line['nps'][-1] - line['nps'][0])} since {line['wave'][0]})"
    parts.append(text)
    if not tiers.is_empty():
        best = tiers.filter(~pl.col("suppressed") & pl.col("nps").is_not_null()).sort(
            "nps", "rfm_tier", descending=[True, False]
        )
        if best.height:
            b = best.row(0, named=True)
            parts.append(f"{b['rfm_tier']} is the happiest RFM tier at {number(b['nps'])}")
    if not value.is_empty():
        v = {r["group"]: r for r in value.iter_rows(named=True)}
        pro, det = v.get("Promoters"), v.get("Detractors")
        if pro and det and pro["revenue_per_customer"] and det["revenue_per_customer"] is not None:
            gap = 1 - det["revenue_per_customer"] / pro["revenue_per_customer"]
            more_less = "less" if gap >= 0 else "more"
            parts.append(
                f"detractors hold {100 * det['revenue_share']:.0f} % of surveyed customers' revenue and spend "
                f"{100 * abs(gap):.0f} % {more_less} per customer than promoters"
            )
    return "; ".join(parts) + "."
