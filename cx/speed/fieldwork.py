"""``cx bench`` cases of the Fieldwork screen: the funnel counts built once per data version, and
the agency progress and daily pace from them and from the raw responses, against DuckDB.

The references answer the same questions in SQL on the same files: completed responses per
cell and day (the build), and the wave's invitations per agency beside its responses per agency
(agency progress) or per day (daily pace).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import polars as pl

from cx.analytics import fieldwork
from cx.core import data
from cx.core.filters import Filters
from cx.core.scope import Scope
from cx.speed.harness import BenchCase, BenchContext, duckdb_where

SPAIN = Scope.parse("country:ES")


@cache
def _counts(root: Path) -> pl.LazyFrame:
    """The funnel counts of one bench data folder, built once (as the app does per version)."""
    return fieldwork.funnel_counts(data.scan_responses(root)).lazy()


def _build_ref(con: Any, ctx: BenchContext) -> Any:
    return con.execute(
        "SELECT wave, region, country, agency, channel, CAST(responded_at AS DATE) AS day, "
        f"count(*) AS responses, max(responded_at) FROM read_parquet('{ctx.glob}') "
        "GROUP BY ALL"
    ).to_arrow_table()  # a table, as ours: ~10^5 cells would be slow as Python tuples


def _agency_ref(scope: Scope) -> Any:
    def ref(con: Any, ctx: BenchContext) -> Any:
        where = f"({duckdb_where(scope)}) AND wave = '{ctx.latest}'"
        path = ctx.root / fieldwork.FILE
        return con.execute(
            "WITH sent AS (SELECT region, country, agency, sum(invitations) AS invitations, "
            "sum(delivered) AS delivered, sum(target_responses) AS target "
            f"FROM read_parquet('{path}') WHERE {where} GROUP BY ALL), "
            "got AS (SELECT region, country, agency, count(*) AS responses, "
            f"max(responded_at) AS latest FROM read_parquet('{ctx.glob}') WHERE {where} GROUP BY ALL) "
            "SELECT *, responses / delivered AS rate FROM sent FULL JOIN got "
            "USING (region, country, agency) ORDER BY rate"
        ).fetchall()

    return ref


def _daily_ref(scope: Scope) -> Any:
    def ref(con: Any, ctx: BenchContext) -> Any:
        where = f"({duckdb_where(scope)}) AND wave = '{ctx.latest}'"
        return con.execute(
            f"SELECT CAST(responded_at AS DATE) AS day, count(*) FROM read_parquet('{ctx.glob}') "
            f"WHERE {where} GROUP BY day ORDER BY day"
        ).fetchall()

    return ref


def bench_cases() -> list[BenchCase]:
    """The build, then agency progress and daily pace (world and Spain), from rows and counts."""

    def build(ctx: BenchContext) -> Any:
        return fieldwork.funnel_counts(ctx.responses)

    def asked(fn: Any, scope: Scope, counted: bool) -> Any:
        def run(ctx: BenchContext) -> Any:
            frame = _counts(ctx.root) if counted else ctx.responses
            return fn(frame, scope, Filters(wave=ctx.latest), root=str(ctx.root))

        return run

    cases = [BenchCase("fieldwork.funnel_counts build, once per data version", build, _build_ref)]
    for label, scope in (("world", Scope.world()), ("country:ES", SPAIN)):
        for source, counted in (("rows", False), ("counts", True)):
            cases += [
                BenchCase(
                    f"fieldwork.agency_progress [{label}] from {source}",
                    asked(fieldwork.agency_progress, scope, counted),
                    _agency_ref(scope),
                ),
                BenchCase(
                    f"fieldwork.daily_progress [{label}] from {source}",
                    asked(fieldwork.daily_progress, scope, counted),
                    _daily_ref(scope),
                ),
            ]
    return cases
