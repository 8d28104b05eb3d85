"""``cx bench`` cases of the Benchmarks and World zones screens, with DuckDB references.

Each reference answers the same question in SQL on the same Parquet files: the entities of a
level for the wave and the wave before plus the parent aggregate (league tables), the scope,
its parent and the world per attribute (attribute benchmark), regions and countries (zones).
"""

from __future__ import annotations

from typing import Any

from cx.analytics import benchmarks, overview, zones
from cx.core.data import attributes
from cx.core.filters import Filters
from cx.core.scope import Scope
from cx.speed.harness import NPS_SQL, BenchCase, BenchContext, duckdb_where

AGENCY = Scope.parse("agency:Madrid")


def _two_waves(ctx: BenchContext) -> tuple[str, str]:
    ordered = overview.waves(ctx.responses)
    return ordered[-1], ordered[-2]


def _league_ref(level: str, scope: Scope, parent: str) -> Any:
    def ref(con: Any, ctx: BenchContext) -> Any:
        latest, prev = _two_waves(ctx)
        where = duckdb_where(scope)
        entities = con.execute(
            f"SELECT {level}, wave, {NPS_SQL} FROM read_parquet('{ctx.glob}') "
            f"WHERE ({where}) AND NOT excluded AND wave IN ('{latest}', '{prev}') GROUP BY {level}, wave"
        ).fetchall()
        parent_where = (
            "TRUE"
            if parent == "world"
            else (
                f"{parent} IN (SELECT DISTINCT {parent} FROM read_parquet('{ctx.glob}') WHERE {where})"
            )
        )
        group = "" if parent == "world" else f" GROUP BY {parent}"
        parents = con.execute(
            f"SELECT {NPS_SQL} FROM read_parquet('{ctx.glob}') "
            f"WHERE ({parent_where}) AND NOT excluded AND wave = '{latest}'{group}"
        ).fetchall()
        return entities, parents

    return ref


def _attribute_ref(con: Any, ctx: BenchContext) -> Any:
    latest, _ = _two_waves(ctx)
    attrs = attributes(overview.columns_of(ctx.responses))
    stats = ", ".join(
        f"sum(weight * {a}) / sum(CASE WHEN {a} IS NOT NULL THEN weight END) AS m_{a}, "
        f"var_samp({a}) AS v_{a}, count({a}) AS n_{a}"
        for a in attrs
    )
    groups = {
        "own": duckdb_where(AGENCY),
        "parent": f"country IN (SELECT DISTINCT country FROM read_parquet('{ctx.glob}') WHERE {duckdb_where(AGENCY)})",
        "world": "TRUE",
    }
    return [
        con.execute(
            f"SELECT {NPS_SQL}, {stats} FROM read_parquet('{ctx.glob}') "
            f"WHERE ({where}) AND NOT excluded AND wave = '{latest}'"
        ).fetchall()
        for where in groups.values()
    ]


def _zones_ref(metric: str) -> Any:
    def ref(con: Any, ctx: BenchContext) -> Any:
        latest, _ = _two_waves(ctx)
        extra = f", avg({metric}) AS value" if metric.startswith("attr_") else ""
        return con.execute(
            f"SELECT region, country, {NPS_SQL}, avg((csat >= 4)::DOUBLE) AS csat{extra} "
            f"FROM read_parquet('{ctx.glob}') WHERE NOT excluded AND wave = '{latest}' "
            f"GROUP BY GROUPING SETS ((region), (region, country)) ORDER BY region, country"
        ).fetchall()

    return ref


def bench_cases() -> list[BenchCase]:
    """League tables (world: countries, regions; Spain: agencies), Madrid vs Spain vs the world,
    and the zones table by NPS and by one attribute."""

    def league(level: str, scope: Scope) -> Any:
        return lambda ctx: benchmarks.league_table(
            ctx.responses, scope, Filters(wave=ctx.latest), level
        )

    def attribute(ctx: BenchContext) -> Any:
        return benchmarks.attribute_benchmark(ctx.responses, AGENCY, Filters(wave=ctx.latest))

    def zone(metric: str) -> Any:
        return lambda ctx: zones.zone_table(
            ctx.responses, ctx.world, Filters(wave=ctx.latest), metric
        )

    spain = Scope.parse("country:ES")
    return [
        BenchCase(
            "benchmarks.league_country [world]",
            league("country", Scope.world()),
            _league_ref("country", Scope.world(), "world"),
        ),
        BenchCase(
            "benchmarks.league_region [world]",
            league("region", Scope.world()),
            _league_ref("region", Scope.world(), "world"),
        ),
        BenchCase(
            "benchmarks.league_agency [country:ES]",
            league("agency", spain),
            _league_ref("agency", spain, "country"),
        ),
        BenchCase("benchmarks.attribute_benchmark [agency:Madrid]", attribute, _attribute_ref),
        BenchCase("zones.zone_table_nps [world]", zone("nps"), _zones_ref("nps")),
        BenchCase(
            "zones.zone_table_attr_cleanliness [world]",
            zone("attr_cleanliness"),
            _zones_ref("attr_cleanliness"),
        ),
    ]
