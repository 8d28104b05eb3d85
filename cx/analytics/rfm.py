"""RFM tiers from CRM transactions, as of the last day of a wave (data contract, "RFM").

recency = days since the last transaction, frequency = transactions in the previous 365 days,
monetary = amount in the previous 365 days; each scored 1..5 by quintile over every customer with
history, then named by the first matching rule of ``cx/config/rfm_tiers.yaml``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq
import yaml

from cx.core.data import DataError, sort_waves, wave_period

CRM_FILE = Path("crm") / "transactions.parquet"
WINDOW_DAYS = 365
RFM_COLUMNS = ("recency", "frequency", "monetary", "r", "f", "m", "rfm_tier")
RFM_DTYPES: dict[str, pl.DataType] = {
    "recency": pl.Int64(),
    "frequency": pl.Int64(),
    "monetary": pl.Float64(),
    "r": pl.Int8(),
    "f": pl.Int8(),
    "m": pl.Int8(),
    "rfm_tier": pl.String(),
}
"""The type of each RFM column, also for the null columns added when there is no CRM file."""
MONEY = pl.Decimal(38, 10)
"""Amounts are summed in this type: exact, so the sum does not depend on the order of the rows."""


@dataclass(frozen=True)
class TierRule:
    """One named tier: inclusive score ranges (None: any score)."""

    name: str
    r: tuple[int, int] | None = None
    f: tuple[int, int] | None = None
    m: tuple[int, int] | None = None


@dataclass(frozen=True)
class TierMap:
    """The ordered tier rules (first match wins) and the name used when none matches."""

    rules: tuple[TierRule, ...]
    fallback: str = "Other"

    @property
    def names(self) -> list[str]:
        """Tier names in display order (the fallback last)."""
        return [r.name for r in self.rules] + [self.fallback]


def _range(raw: object, where: str) -> tuple[int, int] | None:
    if raw is None:
        return None
    if not (
        isinstance(raw, list)
        and len(raw) == 2
        and all(isinstance(v, int) and 1 <= v <= 5 for v in raw)
        and raw[0] <= raw[1]
    ):
        raise ValueError(f"{where}: expected [min, max] with 1 <= min <= max <= 5, got {raw!r}")
    return (raw[0], raw[1])


def load_tiers(path: str | Path | None = None) -> TierMap:
    """Read the tier mapping (default: the packaged ``cx/config/rfm_tiers.yaml``)."""
    if path is None:
        text = resources.files("cx.config").joinpath("rfm_tiers.yaml").read_text(encoding="utf-8")
        where = "cx/config/rfm_tiers.yaml"
    else:
        text, where = Path(path).read_text(encoding="utf-8"), str(path)
    raw = yaml.safe_load(text) or {}
    rules = []
    for i, item in enumerate(raw.get("tiers") or []):
        if not isinstance(item, dict) or not item.get("name"):
            raise ValueError(f"{where}: tier #{i + 1} has no name")
        rules.append(
            TierRule(
                str(item["name"]),
                *(_range(item.get(k), f"{where}: tier {item['name']!r} {k}") for k in "rfm"),
            )
        )
    if not rules:
        raise ValueError(f"{where}: no tiers defined")
    return TierMap(tuple(rules), str(raw.get("fallback") or "Other"))


def tier_expr(tiers: TierMap) -> pl.Expr:
    """The tier name from the ``r``, ``f``, ``m`` score columns (first matching rule)."""
    chain: Any = None
    for rule in tiers.rules:
        cond = pl.lit(True)
        for key, rng in (("r", rule.r), ("f", rule.f), ("m", rule.m)):
            if rng is not None:
                cond = cond & pl.col(key).is_between(rng[0], rng[1])
        chain = (
            pl.when(cond).then(pl.lit(rule.name))
            if chain is None
            else chain.when(cond).then(pl.lit(rule.name))
        )
    expr: pl.Expr = (
        chain.otherwise(pl.lit(tiers.fallback)) if chain is not None else pl.lit(tiers.fallback)
    )
    return expr.alias("rfm_tier")


def quintile_score(value: pl.Expr) -> pl.Expr:
    """1..5 by quintile, higher value = higher score; ties share a score (min rank).

    score = 1 + floor(5 * (rank_min - 1) / N).
    """
    return (1 + (5 * (value.rank("min") - 1)) // pl.len()).cast(pl.Int8)


def transactions_path(root: Path) -> Path:
    return root / CRM_FILE


def scan_transactions(root: Path) -> pl.LazyFrame:
    """The CRM purchases (customer_id, date, amount); DataError naming the file and column."""
    path = transactions_path(root)
    if not path.exists():
        raise DataError(
            f"{path}: no CRM transactions file (RFM tiers need crm/transactions.parquet)"
        )
    try:
        names = pq.read_schema(path).names
    except Exception as exc:  # pyarrow raises several types for unreadable files
        raise DataError(f"{path}: not a readable Parquet file ({exc.__class__.__name__})") from None
    for column in ("customer_id", "date", "amount"):
        if column not in names:
            raise DataError(f"{path}: required column {column!r} is missing")
    return pl.scan_parquet(path).select(
        pl.col("customer_id").cast(pl.String),
        pl.col("date").cast(pl.Date),
        pl.col("amount").cast(pl.Float64),
    )


def rfm_scores(
    transactions: pl.LazyFrame | pl.DataFrame, as_of: date, tiers: TierMap | None = None
) -> pl.LazyFrame:
    """Recency, frequency, monetary, their 1..5 scores and the tier of each customer as of a day.

    Customers with no transaction on or before ``as_of`` are left out (no history, no tier).
    """
    tiers = tiers or load_tiers()
    start = as_of - timedelta(days=WINDOW_DAYS - 1)
    in_window = pl.col("date") >= start
    # Summed as exact decimals: a float sum's last bits depend on how the threads split the rows,
    # so the same purchases could rank a customer into another quintile from one run to the next.
    spend = pl.when(in_window).then(pl.col("amount")).otherwise(0.0)
    return (
        transactions.lazy()
        .filter(pl.col("date") <= as_of)
        .group_by("customer_id")
        .agg(
            recency=(pl.lit(as_of) - pl.col("date").max()).dt.total_days().cast(pl.Int64),
            frequency=in_window.sum().cast(pl.Int64),
            monetary=spend.cast(MONEY, strict=False).sum().cast(pl.Float64),
        )
        .with_columns(
            r=quintile_score(-pl.col("recency")),
            f=quintile_score(pl.col("frequency")),
            m=quintile_score(pl.col("monetary")),
        )
        .with_columns(tier_expr(tiers))
        .sort("customer_id")
    )


def rfm_tiers(root: Path, wave: str) -> pl.DataFrame:
    """Every CRM customer's RFM scores and tier as of the last day of ``wave``."""
    return rfm_scores(scan_transactions(root), wave_period(wave)[1]).collect()


def with_rfm(
    frame: pl.LazyFrame,
    root: Path,
    columns: tuple[str, ...] = ("rfm_tier",),
    waves: Sequence[str] | None = None,
) -> pl.LazyFrame:
    """Add RFM columns to responses, each as of its own wave's last day (null: no history).

    ``waves`` limits the work to the waves a query reads (rows of other waves get nulls). The
    scores come from the precomputed per-wave tables (:mod:`cx.analytics.precompute`, a missing
    one built on first need). Without a CRM file the columns are added as nulls, so screens
    degrade gracefully.
    """
    # precompute stores this module's scores, so it imports this module: imported when used.
    from cx.analytics import precompute

    nulls = [pl.lit(None, RFM_DTYPES[c]).alias(c) for c in columns]
    if not transactions_path(root).exists():
        return frame.with_columns(nulls)
    if waves is None:
        waves = sort_waves(
            frame.select(pl.col("wave").unique()).collect().to_series().drop_nulls().to_list()
        )
    if not waves:
        return frame.with_columns(nulls)
    tiers_table = precompute.rfm_tables(root, waves, columns).lazy()
    # Rows of the other waves skip the join: listing the waves, or reading one of them, costs
    # what it costs on the responses alone.
    read = pl.col("wave").is_in(list(waves))
    return pl.concat(
        [
            frame.filter(read).join(tiers_table, on=["wave", "customer_id"], how="left"),
            frame.filter(~read | pl.col("wave").is_null()).with_columns(nulls),
        ]
    )


def with_rfm_tier(frame: pl.LazyFrame, root: Path) -> pl.LazyFrame:
    """Responses with ``rfm_tier`` (the customer's tier as of the end of the response's wave)."""
    return with_rfm(frame, root, ("rfm_tier",))
