"""Shared filters (wave, channel, touchpoint, segment), applied after the scope."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import polars as pl

RELATIONAL = "relational"
"""Label used for responses whose ``touchpoint`` is null (relational surveys)."""


@dataclass(frozen=True)
class Filters:
    """Immutable filter state; hashable so it can key caches. Empty tuples mean "all"."""

    wave: str | None = None
    channels: tuple[str, ...] = field(default=())
    touchpoints: tuple[str, ...] = field(default=())
    segments: tuple[str, ...] = field(default=())

    def with_wave(self, wave: str | None) -> Filters:
        return replace(self, wave=wave)

    @property
    def is_narrowed(self) -> bool:
        """True when a non-wave filter removes rows (used for complementary suppression)."""
        return bool(self.channels or self.touchpoints or self.segments)


def predicate(filters: Filters, columns: set[str] | frozenset[str], *, waves: bool) -> pl.Expr:
    """Row predicate of the non-geographic filters; ``waves=False`` keeps every wave."""
    expr = pl.lit(True)
    if waves and filters.wave is not None:
        expr = expr & (pl.col("wave") == filters.wave)
    if filters.channels and "channel" in columns:
        expr = expr & pl.col("channel").is_in(list(filters.channels))
    if filters.touchpoints and "touchpoint" in columns:
        wanted = [t for t in filters.touchpoints if t != RELATIONAL]
        tp = pl.col("touchpoint").is_in(wanted)
        if RELATIONAL in filters.touchpoints:
            tp = tp | pl.col("touchpoint").is_null()
        expr = expr & tp.fill_null(False)
    if filters.segments and "segment" in columns:
        expr = expr & pl.col("segment").is_in(list(filters.segments))
    return expr


def apply(frame: pl.LazyFrame, filters: Filters, *, waves: bool = True) -> pl.LazyFrame:
    """Apply the filters to an already scoped frame; excluded responses are dropped here too.

    A null touchpoint is a relational survey, selected as :data:`RELATIONAL`.

    >>> lf = pl.LazyFrame({"id": ["a", "b", "c", "d"], "wave": ["2026-Q1"] * 3 + ["2026-Q2"],
    ...                    "touchpoint": ["store", None, None, None],
    ...                    "excluded": [False, False, True, False]})
    >>> only = Filters(wave="2026-Q1", touchpoints=(RELATIONAL,))
    >>> apply(lf, only).collect()["id"].to_list()
    ['b']
    """
    columns = set(frame.collect_schema().names())
    out = frame.filter(predicate(filters, columns, waves=waves))
    if "excluded" in columns:
        out = out.filter(~pl.col("excluded").fill_null(False))
    return out
