"""Metric expression builders: the data contract's definitions as pure Polars expressions.

Every function returns a ``pl.Expr`` meant for ``group_by(...).agg(...)`` (or ``select``) over
response rows that carry an ``nps`` column and a ``weight`` column (``cx.core.data`` adds
``weight = 1.0`` when the source has none).

>>> import polars as pl
>>> df = pl.DataFrame({"nps": [10, 9, 7, 3, 0, 10], "weight": [2.0, 1.0, 1.0, 1.0, 0.5, 0.5]})
>>> round(df.select(nps()).item(), 2)
33.33
>>> round(df.select(effective_base()).item(), 2)
4.8
>>> round(df.select(nps_moe()).item(), 2)
57.15
"""

from __future__ import annotations

import math

import polars as pl

Z95 = 1.96
LOW_BASE = 30
SUPPRESS_BELOW = 5

_W = pl.col("weight")
_NPS = pl.col("nps")


def is_promoter(score: pl.Expr = _NPS) -> pl.Expr:
    """Promoter: 9-10."""
    return score >= 9


def is_detractor(score: pl.Expr = _NPS) -> pl.Expr:
    """Detractor: 0-6."""
    return score <= 6


def is_passive(score: pl.Expr = _NPS) -> pl.Expr:
    """Passive: 7-8."""
    return (score >= 7) & (score <= 8)


def n() -> pl.Expr:
    """Unweighted number of answers with an NPS score (the base shown to users)."""
    return _NPS.count().alias("n")


def _wsum(cond: pl.Expr) -> pl.Expr:
    return (_W * cond.cast(pl.Float64)).filter(_NPS.is_not_null()).sum()


def _wtotal() -> pl.Expr:
    return _W.filter(_NPS.is_not_null()).sum()


def promoter_share() -> pl.Expr:
    """Weighted share of promoters, 0..1."""
    return (_wsum(is_promoter()) / _wtotal()).alias("promoter_share")


def detractor_share() -> pl.Expr:
    """Weighted share of detractors, 0..1."""
    return (_wsum(is_detractor()) / _wtotal()).alias("detractor_share")


def passive_share() -> pl.Expr:
    """Weighted share of passives, 0..1."""
    return (_wsum(is_passive()) / _wtotal()).alias("passive_share")


def nps() -> pl.Expr:
    """NPS = 100 x (promoters - detractors) / n, weighted shares, in points.

    The contract's plain example: 40 promoters, 40 passives, 20 detractors.

    >>> df = pl.DataFrame({"nps": [10] * 40 + [8] * 40 + [0] * 20, "weight": [1.0] * 100})
    >>> df.select(nps(), nps_moe().round(2)).row(0)
    (20.0, 14.44)
    """
    return (100 * (_wsum(is_promoter()) - _wsum(is_detractor())) / _wtotal()).alias("nps")


def effective_base() -> pl.Expr:
    """Kish effective base (sum w)^2 / sum w^2; equals n when all weights are 1."""
    w = _W.filter(_NPS.is_not_null())
    return (w.sum().pow(2) / w.pow(2).sum()).alias("effective_base")


def adjusted_wald_moe(p: pl.Expr, d: pl.Expr, base: pl.Expr) -> pl.Expr:
    """95 % adjusted-Wald margin of error of an NPS, in points, from shares and base."""
    n_adj = base + 3
    p_adj = (p * base + 0.75) / n_adj
    d_adj = (d * base + 0.75) / n_adj
    return Z95 * 100 * ((p_adj + d_adj - (p_adj - d_adj).pow(2)) / n_adj).sqrt()


def nps_moe() -> pl.Expr:
    """Adjusted-Wald 95 % margin of error of the NPS (Rocks 2016), in points."""
    return adjusted_wald_moe(promoter_share(), detractor_share(), effective_base()).alias("nps_moe")


def csat() -> pl.Expr:
    """CSAT: weighted share of csat 4-5 among answers with a csat, in %."""
    c = pl.col("csat")
    top2 = (_W * (c >= 4).cast(pl.Float64)).filter(c.is_not_null()).sum()
    return (100 * top2 / _W.filter(c.is_not_null()).sum()).alias("csat")


def attribute_mean(column: str) -> pl.Expr:
    """Attribute performance: weighted mean of ``attr_<id>`` on 0..10."""
    a = pl.col(column)
    return ((_W * a).filter(a.is_not_null()).sum() / _W.filter(a.is_not_null()).sum()).alias(column)


def low_base(n_col: str = "n") -> pl.Expr:
    """Low base: n < 30 (shown, marked, never ranked, never alerting).

    >>> pl.DataFrame({"n": [29, 30]}).select(low_base())["low_base"].to_list()
    [True, False]
    """
    return (pl.col(n_col) < LOW_BASE).alias("low_base")


def suppressed(n_col: str = "n") -> pl.Expr:
    """Suppressed: n < 5 (no score, no chart point, no verbatim).

    >>> pl.DataFrame({"n": [4, 5]}).select(suppressed())["suppressed"].to_list()
    [True, False]
    """
    return (pl.col(n_col) < SUPPRESS_BELOW).alias("suppressed")


def nps_aggs() -> list[pl.Expr]:
    """The standard NPS aggregation: counts, shares, NPS and its margin of error."""
    return [*base_aggs(), nps_moe()]


def moe_from_columns() -> pl.Expr:
    """``nps_moe`` from already aggregated ``promoter_share``, ``detractor_share`` and
    ``effective_base`` columns: same value as :func:`nps_moe`, computed once per group
    instead of inside the aggregation (much faster over many groups)."""
    return adjusted_wald_moe(
        pl.col("promoter_share"), pl.col("detractor_share"), pl.col("effective_base")
    ).alias("nps_moe")


def base_aggs() -> list[pl.Expr]:
    """:func:`nps_aggs` without the margin of error (add it with :func:`moe_from_columns`)."""
    return [
        n(),
        is_promoter().sum().alias("promoters"),
        is_passive().sum().alias("passives"),
        is_detractor().sum().alias("detractors"),
        promoter_share(),
        passive_share(),
        detractor_share(),
        nps(),
        effective_base(),
    ]


def z_change(nps_a: pl.Expr, moe_a: pl.Expr, nps_b: pl.Expr, moe_b: pl.Expr) -> pl.Expr:
    """z statistic of the difference of two independent NPS (SE = MoE / 1.96)."""
    se = ((moe_a / Z95).pow(2) + (moe_b / Z95).pow(2)).sqrt()
    return (nps_a - nps_b).abs() / se


def significant(nps_a: pl.Expr, moe_a: pl.Expr, nps_b: pl.Expr, moe_b: pl.Expr) -> pl.Expr:
    """True when |NPS_a - NPS_b| / sqrt(SE_a^2 + SE_b^2) > 1.96."""
    return z_change(nps_a, moe_a, nps_b, moe_b) > Z95


def moe_scalar(p: float, d: float, base: float) -> float:
    """Plain-Python twin of :func:`adjusted_wald_moe`, for single figures.

    >>> round(moe_scalar(0.4, 0.2, 100), 2)
    14.44
    """
    n_adj = base + 3
    p_adj = (p * base + 0.75) / n_adj
    d_adj = (d * base + 0.75) / n_adj
    return Z95 * 100 * math.sqrt((p_adj + d_adj - (p_adj - d_adj) ** 2) / n_adj)


def z_scalar(nps_a: float, moe_a: float, nps_b: float, moe_b: float) -> float:
    """Plain-Python twin of :func:`z_change`.

    The contract's example: NPS 25.00 (n = 400) against 14.47 (n = 380) is not significant.

    >>> a, b = moe_scalar(180 / 400, 80 / 400, 400), moe_scalar(150 / 380, 95 / 380, 380)
    >>> round(z_scalar(25.0, a, 100 * 55 / 380, b), 3)
    1.896
    """
    return abs(nps_a - nps_b) / math.sqrt((moe_a / Z95) ** 2 + (moe_b / Z95) ** 2)
