"""Data-quality flags: responses kept but marked ``excluded`` (out of every KPI), with the reason.

- ``duplicate_customer``: the same customer answered the same survey twice in a wave (same
  touchpoint when the column exists, since one customer may rightly rate a delivery and a support
  call); the earliest answer is kept.
- ``straight_lining``: at least ``STRAIGHT_MIN`` attributes answered, all with the same score.
- ``test_record``: response or customer id reads like a test (``test``, ``prueba``, ``essai``,
  ``dummy``), or the comment is only such a word.
- ``speeder``: with a ``duration_seconds`` column, under a third of the wave's median duration.
"""

from __future__ import annotations

import polars as pl

from cx.core.data import attributes

FLAGS = ("duplicate_customer", "straight_lining", "test_record", "speeder")
STRAIGHT_MIN = 5
SPEEDER_SHARE = 1 / 3
TEST_WORDS = r"(?i)(^|[^a-z])(test|testing|prueba|essai|dummy)([^a-z]|$)"
TEST_COMMENT = r"(?i)^\s*(test|testing|prueba|essai|dummy|asdf|xxx+)\s*[.!]*\s*$"


def flag_exprs(columns: list[str]) -> dict[str, pl.Expr]:
    """One boolean expression per flag that the columns allow."""
    exprs: dict[str, pl.Expr] = {}
    # Rows arrive sorted by (responded_at, response_id): position within the customer = rank.
    keys = ["wave", "customer_id", *(["touchpoint"] if "touchpoint" in columns else [])]
    rank = pl.int_range(1, pl.len() + 1).over(keys)
    exprs["duplicate_customer"] = pl.col("customer_id").is_not_null() & (rank > 1)
    attrs = attributes(columns)
    if len(attrs) >= STRAIGHT_MIN:
        answered = pl.sum_horizontal([pl.col(a).is_not_null().cast(pl.Int32) for a in attrs])
        spread = pl.max_horizontal(attrs) - pl.min_horizontal(attrs)
        exprs["straight_lining"] = (answered >= STRAIGHT_MIN) & (spread == 0)
    test = pl.col("response_id").str.contains(TEST_WORDS) | pl.col("customer_id").fill_null(
        ""
    ).str.contains(TEST_WORDS)
    if "comment" in columns:
        test = test | pl.col("comment").fill_null("").str.contains(TEST_COMMENT)
    exprs["test_record"] = test
    if "duration_seconds" in columns:
        median = pl.col("duration_seconds").median().over("wave")
        exprs["speeder"] = pl.col("duration_seconds") < median * SPEEDER_SHARE
    return exprs


def flag(frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``excluded`` (kept true when the source already said so) and ``exclusion_reason``."""
    exprs = flag_exprs(frame.columns)
    flagged = frame.sort("responded_at", "response_id", nulls_last=True).with_columns(
        [e.fill_null(False).alias(f"_q_{name}") for name, e in exprs.items()]
    )
    reason = pl.concat_str(
        [pl.when(pl.col(f"_q_{name}")).then(pl.lit(name)) for name in exprs],
        separator=",",
        ignore_nulls=True,
    )
    before = pl.col("excluded").fill_null(False) if "excluded" in frame.columns else pl.lit(False)
    earlier = (
        pl.col("exclusion_reason")
        if "exclusion_reason" in frame.columns
        else pl.lit(None, pl.String)
    )
    return flagged.with_columns(
        exclusion_reason=pl.when(reason != "")
        .then(reason)
        .when(before)
        .then(pl.coalesce(earlier, pl.lit("source")))
        .otherwise(None),
        excluded=before | pl.any_horizontal([pl.col(f"_q_{name}") for name in exprs]),
    ).drop([f"_q_{name}" for name in exprs])


def summary(frame: pl.DataFrame) -> dict[str, int]:
    """How many responses carry each flag (a response may carry several)."""
    if "exclusion_reason" not in frame.columns or frame.is_empty():
        return {}
    counts = (
        frame.select(pl.col("exclusion_reason").str.split(",").alias("flag"))
        .explode("flag")
        .drop_nulls()
        .group_by("flag")
        .len()
        .sort("flag")
    )
    return dict(zip(counts["flag"].to_list(), counts["len"].to_list(), strict=True))
