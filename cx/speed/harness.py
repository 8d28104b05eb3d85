"""The speed harness: what a bench case is, what it may use, and the overview's own cases.

Each :class:`BenchCase` runs our Polars query and, where one exists, the same question in SQL
on DuckDB (the reference engine, a dev dependency), on the same Parquet files. The median of
``repeat`` warm runs is kept; ``ratio`` = ours / reference (below 1.0: we are faster).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from cx.analytics import overview
from cx.analytics import rollup as rollup_mod
from cx.core import data
from cx.core.filters import Filters
from cx.core.scope import Scope


@dataclass(frozen=True)
class BenchContext:
    """What a case may use: the data root, the scanned responses, a world and a one-country scope."""

    root: Path
    responses: pl.LazyFrame
    rows: int
    glob: str  # the wave files, for DuckDB's read_parquet
    rollup: pl.LazyFrame  # the overview rollup, built once like the app does

    @property
    def world(self) -> Scope:
        return Scope.world()

    @property
    def country(self) -> Scope:
        return Scope.parse("country:ES")

    @property
    def latest(self) -> str:
        return self.waves[-1]

    @property
    def waves(self) -> list[str]:
        """Chronological wave labels, read once from the partition folders (not timed)."""
        return data.list_waves(self.root)


@dataclass(frozen=True)
class BenchCase:
    """One timed question. ``ours`` and ``reference`` take the context and return anything."""

    query: str
    ours: Callable[[BenchContext], Any]
    reference: Callable[[Any, BenchContext], Any] | None = None  # (duckdb connection, ctx)
    items: Callable[[BenchContext], int] | None = None  # e.g. comments processed, for a rate
    unit: str = "rows"


def median_seconds(fn: Callable[[], Any], repeat: int) -> float:
    fn()  # warm-up: file metadata, page cache, lazy imports
    times = []
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def duckdb_where(scope: Scope) -> str:
    """The same scope predicate as cx.core.scope, for the reference SQL (literal, trusted values)."""
    if scope.is_world:
        return "TRUE"
    parts = []
    for level in ("region", "country", "agency"):
        names = scope.values(level)
        if names:
            parts.append(f"{level} IN ({', '.join(repr(n) for n in names)})")
    return " OR ".join(parts) or "FALSE"


NPS_SQL = """
count(nps) AS n,
100 * (sum(weight * (nps >= 9)::DOUBLE) - sum(weight * (nps <= 6)::DOUBLE)) / sum(weight) AS nps,
sum(weight) AS sw, sum(weight * weight) AS sw2
"""


def overview_cases() -> list[BenchCase]:
    """The overview's queries (headline, trend, breakdowns), world and one-country scope."""
    cases: list[BenchCase] = []
    for label, pick in (("world", lambda c: c.world), ("country:ES", lambda c: c.country)):

        def headline(ctx: BenchContext, pick: Callable[[BenchContext], Scope] = pick) -> Any:
            return overview.headline(ctx.rollup, pick(ctx), Filters(wave=ctx.latest))

        def headline_ref(
            con: Any, ctx: BenchContext, pick: Callable[[BenchContext], Scope] = pick
        ) -> Any:
            waves = ctx.waves
            return con.execute(
                f"SELECT wave, {NPS_SQL} FROM read_parquet('{ctx.glob}') "
                f"WHERE ({duckdb_where(pick(ctx))}) AND NOT excluded AND wave IN ('{waves[-1]}', '{waves[-2]}') GROUP BY wave"
            ).fetchall()

        def trend(ctx: BenchContext, pick: Callable[[BenchContext], Scope] = pick) -> Any:
            return overview.nps_trend(ctx.rollup, pick(ctx), Filters(wave=ctx.latest))

        def trend_ref(
            con: Any, ctx: BenchContext, pick: Callable[[BenchContext], Scope] = pick
        ) -> Any:
            return con.execute(
                f"SELECT wave, {NPS_SQL} FROM read_parquet('{ctx.glob}') "
                f"WHERE ({duckdb_where(pick(ctx))}) AND NOT excluded GROUP BY wave ORDER BY wave"
            ).fetchall()

        level = "country" if label == "world" else "agency"

        def breakdown(
            ctx: BenchContext, pick: Callable[[BenchContext], Scope] = pick, level: str = level
        ) -> Any:
            return overview.breakdown(ctx.rollup, pick(ctx), Filters(wave=ctx.latest), level)

        def breakdown_ref(
            con: Any,
            ctx: BenchContext,
            pick: Callable[[BenchContext], Scope] = pick,
            level: str = level,
        ) -> Any:
            waves = ctx.waves
            return con.execute(
                f"SELECT {level}, wave, {NPS_SQL} FROM read_parquet('{ctx.glob}') "
                f"WHERE ({duckdb_where(pick(ctx))}) AND NOT excluded AND wave IN ('{waves[-1]}', '{waves[-2]}') "
                f"GROUP BY {level}, wave ORDER BY {level}"
            ).fetchall()

        cases += [
            BenchCase(f"overview.headline [{label}]", headline, headline_ref),
            BenchCase(f"overview.nps_trend [{label}]", trend, trend_ref),
            BenchCase(f"overview.breakdown_{level} [{label}]", breakdown, breakdown_ref),
        ]

    def whole(ctx: BenchContext) -> Any:
        scope, f = ctx.world, Filters(wave=ctx.latest)
        return (
            overview.headline(ctx.rollup, scope, f),
            overview.nps_trend(ctx.rollup, scope, f),
            overview.breakdown(ctx.rollup, scope, f, "region"),
            overview.breakdown(ctx.rollup, scope, f, "country"),
            overview.filter_options(ctx.rollup, scope),
        )

    def whole_ref(con: Any, ctx: BenchContext) -> Any:
        return [
            headline_ref(con, ctx, lambda c: c.world),
            trend_ref(con, ctx, lambda c: c.world),
            breakdown_ref(con, ctx, lambda c: c.world, "region"),
            breakdown_ref(con, ctx, lambda c: c.world, "country"),
            con.execute(
                f"SELECT DISTINCT channel, touchpoint, segment FROM read_parquet('{ctx.glob}')"
            ).fetchall(),
        ]

    def build(ctx: BenchContext) -> Any:
        return rollup_mod.coarsen(rollup_mod.build(ctx.responses))

    def build_ref(con: Any, ctx: BenchContext) -> Any:
        return con.execute(
            f"SELECT wave, region, country, agency, advisor_id, channel, touchpoint, segment, {NPS_SQL} "
            f"FROM read_parquet('{ctx.glob}') WHERE NOT excluded "
            "GROUP BY wave, region, country, agency, advisor_id, channel, touchpoint, segment"
        ).fetchall()

    cases += [
        BenchCase("overview.whole_page [world] (5 queries)", whole, whole_ref),
        BenchCase("overview.rollup_build (once per data version)", build, build_ref),
    ]
    return cases
