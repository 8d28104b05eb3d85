"""Bench cases of the voice screens: theme tagging + sentiment (with per-theme polarity)
throughput in comments per second, and the themes screen's summary and polarity-trend queries. No reference engine: DuckDB has no equivalent tagger."""

from __future__ import annotations

from typing import Any

import polars as pl

from cx.core.filters import Filters
from cx.speed.harness import BenchCase, BenchContext
from cx.voice import themes, verbatims


def _comments(ctx: BenchContext) -> pl.LazyFrame:
    return ctx.responses.select("comment", "language").filter(pl.col("comment").is_not_null())


def _tag_all(ctx: BenchContext) -> Any:
    return (
        themes.tag(_comments(ctx))
        .select(pl.col("themes").list.len().sum(), pl.col("sentiment").mean())
        .collect()
    )


def _count(ctx: BenchContext) -> int:
    return int(_comments(ctx).select(pl.len()).collect().item())


def _summary(ctx: BenchContext) -> Any:
    return verbatims.theme_summary(ctx.responses, ctx.country, Filters(wave=ctx.latest))


def _polarity(ctx: BenchContext) -> Any:
    return verbatims.theme_polarity_trend(ctx.responses, ctx.country, Filters(wave=ctx.latest))


def bench_cases() -> list[BenchCase]:
    return [
        BenchCase(
            "voice.tag_themes_sentiment [every comment]", _tag_all, items=_count, unit="comments"
        ),
        BenchCase("voice.theme_summary [country:ES]", _summary),
        BenchCase("voice.theme_polarity_trend [country:ES, every wave]", _polarity),
    ]
