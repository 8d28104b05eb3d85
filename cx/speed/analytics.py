"""``cx bench`` cases of the Segments & RFM, Strengths & weaknesses and Evolution screens.

Every query these screens run is timed; DuckDB answers the same question in SQL on the same
files where that is reasonable (NPS by segment and tier, attribute means and their SE, RFM
scores by rank quintiles). The key-driver analysis has no SQL twin (eigen-decomposition), so its
reference is None. The ``rfm_precompute.*`` cases time one wave's precomputed RFM table against
the same aggregates and rank quintiles in DuckDB, and NPS by RFM tier before the precomputed
tables (scores from the raw transactions on every question) and now (read from them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl

from cx.analytics import drivers, evolution, overview, precompute, rfm, segments
from cx.analytics.overview import waves
from cx.core.data import attributes, wave_period
from cx.core.filters import Filters
from cx.core.scope import Scope
from cx.speed.harness import NPS_SQL, BenchCase, BenchContext, duckdb_where

Pick = Callable[[BenchContext], Scope]
RFM_SQL_COLUMNS = "recency, frequency, monetary, r, f, m, rfm_tier"
SCOPES: tuple[tuple[str, Pick], ...] = (
    ("world", lambda c: c.world),
    ("country:ES", lambda c: c.country),
)


def _waves(ctx: BenchContext) -> tuple[str, str]:
    all_waves = waves(ctx.responses)
    return all_waves[-2], all_waves[-1]


def _attrs(ctx: BenchContext) -> list[str]:
    return attributes(ctx.responses.collect_schema().names())


def _attribute_sql(ctx: BenchContext, scope: Scope, extra: str = "") -> str:
    cols = ", ".join(_attrs(ctx))
    return (
        f"WITH r AS (SELECT wave, weight, {cols} FROM read_parquet('{ctx.glob}') "
        f"WHERE ({duckdb_where(scope)}) AND NOT excluded {extra}), "
        f"u AS (UNPIVOT r ON {cols} INTO NAME attribute VALUE value) "
        "SELECT wave, attribute, count(*) AS n, sum(weight * value) / sum(weight) AS mean, "
        "sum(weight * value * value) / sum(weight) AS m2, sum(weight) ^ 2 / sum(weight * weight) AS n_eff "
        "FROM u WHERE value IS NOT NULL GROUP BY wave, attribute ORDER BY wave, attribute"
    )


def _tier_case() -> str:
    """The tier mapping of cx/config/rfm_tiers.yaml as a SQL CASE (trusted config, literal ints)."""
    tiers = rfm.load_tiers()
    whens = []
    for rule in tiers.rules:
        conds = [
            f"{k} BETWEEN {rng[0]} AND {rng[1]}"
            for k, rng in (("r", rule.r), ("f", rule.f), ("m", rule.m))
            if rng
        ]
        name = rule.name.replace("'", "''")
        whens.append(f"WHEN {' AND '.join(conds) or 'TRUE'} THEN '{name}'")
    fallback = tiers.fallback.replace("'", "''")
    return f"CASE {' '.join(whens)} ELSE '{fallback}' END"


def _rfm_sql(ctx: BenchContext, waves: tuple[str, ...], columns: str = "monetary, rfm_tier") -> str:
    """RFM tiers per (wave, customer) as of each wave's last day, in SQL."""
    ends = " UNION ALL ".join(
        f"SELECT '{w}' AS wave, DATE '{wave_period(w)[1]}' AS as_of" for w in waves
    )
    tx = ctx.root / "crm" / "transactions.parquet"
    return (
        f"WITH e AS ({ends}), t AS (SELECT customer_id, CAST(date AS DATE) AS date, amount FROM read_parquet('{tx}')), "
        "a AS (SELECT e.wave, t.customer_id, date_diff('day', max(t.date), e.as_of) AS recency, "
        "count(*) FILTER (WHERE t.date > e.as_of - 365) AS frequency, "
        "coalesce(sum(t.amount) FILTER (WHERE t.date > e.as_of - 365), 0) AS monetary "
        "FROM e JOIN t ON t.date <= e.as_of GROUP BY e.wave, e.as_of, t.customer_id), "
        "s AS (SELECT *, 1 + (5 * (rank() OVER (PARTITION BY wave ORDER BY -recency) - 1)) // count(*) OVER (PARTITION BY wave) AS r, "
        "1 + (5 * (rank() OVER (PARTITION BY wave ORDER BY frequency) - 1)) // count(*) OVER (PARTITION BY wave) AS f, "
        "1 + (5 * (rank() OVER (PARTITION BY wave ORDER BY monetary) - 1)) // count(*) OVER (PARTITION BY wave) AS m FROM a) "
        f"SELECT wave, customer_id, {columns} FROM (SELECT *, {_tier_case()} AS rfm_tier FROM s)"
    )


def _raw_tier_nps(ctx: BenchContext, scope: Scope) -> Any:
    """NPS by RFM tier as the Segments screen asked it before the precomputed tables: both waves'
    scores from the raw transactions on every question, then the same breakdown."""
    tx, tiers, read = rfm.scan_transactions(ctx.root), rfm.load_tiers(), _waves(ctx)
    by_wave = [
        rfm.rfm_scores(tx, wave_period(w)[1], tiers).select(
            pl.lit(w).alias("wave"), "customer_id", "rfm_tier"
        )
        for w in read
    ]
    table = pl.concat(pl.collect_all(by_wave)).lazy()
    enriched = ctx.responses.join(table, on=["wave", "customer_id"], how="left")
    df = overview.breakdown(enriched, scope, Filters(wave=ctx.latest), "rfm_tier")
    return df.filter(pl.col("rfm_tier").is_not_null())


def _stored_tables(ctx: BenchContext, waves: tuple[str, ...]) -> str:
    """The stored RFM tables of ``waves``, for DuckDB's read_parquet."""
    version = precompute.rfm_version(ctx.root, rfm.load_tiers())
    return ", ".join(f"'{precompute.rfm_path(ctx.root, version, w)}'" for w in waves)


def _tier_nps(ctx: BenchContext, scope: Scope) -> Any:
    """NPS by RFM tier as the Segments screen asks it (from the stored tables)."""
    return segments.tier_nps(ctx.responses, scope, Filters(wave=ctx.latest), str(ctx.root))


def _tier_nps_ref(con: Any, ctx: BenchContext, scope: Scope, tiers: str) -> Any:
    """DuckDB's NPS by RFM tier for the wave and the one before, joining ``tiers`` (a subquery
    or a read_parquet of the stored tables)."""
    waves = _waves(ctx)
    return con.execute(
        f"SELECT t.rfm_tier, x.wave, {NPS_SQL} FROM read_parquet('{ctx.glob}') x "
        f"JOIN {tiers} t ON t.wave = x.wave AND t.customer_id = x.customer_id "
        f"WHERE ({duckdb_where(scope)}) AND NOT excluded AND x.wave IN ('{waves[0]}', '{waves[1]}') "
        "GROUP BY t.rfm_tier, x.wave ORDER BY t.rfm_tier"
    ).fetchall()


def precompute_cases() -> list[BenchCase]:
    """The precomputed RFM tables: one wave's table against DuckDB's same aggregates and rank
    quintiles on the same transactions file, and NPS by RFM tier before and after them."""

    def scores(ctx: BenchContext) -> Any:
        tx = rfm.scan_transactions(ctx.root)
        return rfm.rfm_scores(tx, wave_period(ctx.latest)[1], rfm.load_tiers()).collect()

    def scores_ref(con: Any, ctx: BenchContext) -> Any:
        return con.sql(_rfm_sql(ctx, (ctx.latest,), RFM_SQL_COLUMNS)).to_arrow_table()

    def table(ctx: BenchContext) -> Any:
        return precompute.store_rfm(ctx.root, ctx.latest)

    def table_ref(con: Any, ctx: BenchContext) -> Any:
        out = ctx.root / "duckdb-rfm.parquet"
        sql = _rfm_sql(ctx, (ctx.latest,), RFM_SQL_COLUMNS)
        return con.execute(f"COPY ({sql}) TO '{out}' (FORMAT parquet)").fetchall()

    cases = [
        BenchCase("rfm_precompute.scores [one wave, in memory]", scores, scores_ref),
        BenchCase("rfm_precompute.table [one wave, scored and stored]", table, table_ref),
    ]
    for label, pick in SCOPES:

        def before(ctx: BenchContext, pick: Pick = pick) -> Any:
            return _raw_tier_nps(ctx, pick(ctx))

        def before_ref(con: Any, ctx: BenchContext, pick: Pick = pick) -> Any:
            return _tier_nps_ref(con, ctx, pick(ctx), f"({_rfm_sql(ctx, _waves(ctx))})")

        def now(ctx: BenchContext, pick: Pick = pick) -> Any:
            return _tier_nps(ctx, pick(ctx))

        def now_ref(con: Any, ctx: BenchContext, pick: Pick = pick) -> Any:
            tables = _stored_tables(ctx, _waves(ctx))
            return _tier_nps_ref(con, ctx, pick(ctx), f"read_parquet([{tables}])")

        cases += [
            BenchCase(f"rfm_precompute.tier_nps_before [{label}]", before, before_ref),
            BenchCase(f"rfm_precompute.tier_nps_now [{label}]", now, now_ref),
        ]
    return cases


def bench_cases() -> list[BenchCase]:
    cases: list[BenchCase] = []
    for label, pick in SCOPES:

        def key_drivers(ctx: BenchContext, pick: Pick = pick) -> Any:
            return drivers.key_drivers(ctx.responses, pick(ctx), Filters(wave=ctx.latest))

        def promise(ctx: BenchContext, pick: Pick = pick) -> Any:
            return drivers.service_promise(ctx.responses, pick(ctx), Filters(wave=ctx.latest))

        def trend(ctx: BenchContext, pick: Pick = pick) -> Any:
            return evolution.attribute_trend(ctx.responses, pick(ctx), Filters(wave=ctx.latest))

        def trend_ref(con: Any, ctx: BenchContext, pick: Pick = pick) -> Any:
            return con.execute(_attribute_sql(ctx, pick(ctx))).fetchall()

        def compare(ctx: BenchContext, pick: Pick = pick) -> Any:
            a, b = _waves(ctx)
            return evolution.compare_waves(ctx.responses, pick(ctx), Filters(wave=b), a, b)

        def compare_ref(con: Any, ctx: BenchContext, pick: Pick = pick) -> Any:
            a, b = _waves(ctx)
            where = f"({duckdb_where(pick(ctx))}) AND NOT excluded AND wave IN ('{a}', '{b}')"
            nps = con.execute(
                f"SELECT wave, {NPS_SQL} FROM read_parquet('{ctx.glob}') WHERE {where} GROUP BY wave"
            ).fetchall()
            return nps, con.execute(
                _attribute_sql(ctx, pick(ctx), f"AND wave IN ('{a}', '{b}')")
            ).fetchall()

        def segment_nps(ctx: BenchContext, pick: Pick = pick) -> Any:
            return segments.segment_nps(ctx.responses, pick(ctx), Filters(wave=ctx.latest))

        def segment_nps_ref(con: Any, ctx: BenchContext, pick: Pick = pick) -> Any:
            a, b = _waves(ctx)
            return con.execute(
                f"SELECT segment, wave, {NPS_SQL} FROM read_parquet('{ctx.glob}') "
                f"WHERE ({duckdb_where(pick(ctx))}) AND NOT excluded AND wave IN ('{a}', '{b}') GROUP BY segment, wave ORDER BY segment"
            ).fetchall()

        def segment_trend(ctx: BenchContext, pick: Pick = pick) -> Any:
            return segments.segment_trend(ctx.responses, pick(ctx), Filters(wave=ctx.latest))

        def segment_trend_ref(con: Any, ctx: BenchContext, pick: Pick = pick) -> Any:
            return con.execute(
                f"SELECT wave, segment, {NPS_SQL} FROM read_parquet('{ctx.glob}') "
                f"WHERE ({duckdb_where(pick(ctx))}) AND NOT excluded GROUP BY wave, segment ORDER BY wave, segment"
            ).fetchall()

        def tier_nps(ctx: BenchContext, pick: Pick = pick) -> Any:
            return _tier_nps(ctx, pick(ctx))

        def tier_nps_ref(con: Any, ctx: BenchContext, pick: Pick = pick) -> Any:
            return _tier_nps_ref(con, ctx, pick(ctx), f"({_rfm_sql(ctx, _waves(ctx))})")

        def grid(ctx: BenchContext, pick: Pick = pick) -> Any:
            return segments.tier_segment_grid(
                ctx.responses, pick(ctx), Filters(wave=ctx.latest), str(ctx.root)
            )

        def grid_ref(con: Any, ctx: BenchContext, pick: Pick = pick) -> Any:
            return con.execute(
                f"WITH t AS ({_rfm_sql(ctx, (ctx.latest,))}) SELECT t.rfm_tier, x.segment, {NPS_SQL} "
                f"FROM read_parquet('{ctx.glob}') x JOIN t ON t.wave = x.wave AND t.customer_id = x.customer_id "
                f"WHERE ({duckdb_where(pick(ctx))}) AND NOT excluded AND x.wave = '{ctx.latest}' "
                "GROUP BY t.rfm_tier, x.segment ORDER BY t.rfm_tier, x.segment"
            ).fetchall()

        def value(ctx: BenchContext, pick: Pick = pick) -> Any:
            return segments.value_by(
                ctx.responses, pick(ctx), Filters(wave=ctx.latest), str(ctx.root)
            )

        def value_ref(con: Any, ctx: BenchContext, pick: Pick = pick) -> Any:
            return con.execute(
                f"WITH t AS ({_rfm_sql(ctx, (ctx.latest,))}), "
                f"x AS (SELECT * FROM read_parquet('{ctx.glob}') WHERE ({duckdb_where(pick(ctx))}) AND NOT excluded "
                f"AND wave = '{ctx.latest}' AND nps IS NOT NULL "
                "QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY responded_at DESC, response_id DESC) = 1) "
                "SELECT CASE WHEN nps >= 9 THEN 'Promoters' WHEN nps >= 7 THEN 'Passives' ELSE 'Detractors' END AS g, "
                "count(*) AS customers, sum(coalesce(t.monetary, 0)) AS revenue "
                "FROM x LEFT JOIN t ON t.wave = x.wave AND t.customer_id = x.customer_id GROUP BY g ORDER BY g"
            ).fetchall()

        cases += [
            BenchCase(f"drivers.key_drivers [{label}]", key_drivers),
            BenchCase(f"drivers.service_promise [{label}]", promise),
            BenchCase(f"evolution.attribute_trend [{label}]", trend, trend_ref),
            BenchCase(f"evolution.compare_waves [{label}]", compare, compare_ref),
            BenchCase(f"segments.segment_nps [{label}]", segment_nps, segment_nps_ref),
            BenchCase(f"segments.segment_trend [{label}]", segment_trend, segment_trend_ref),
            BenchCase(f"segments.tier_nps [{label}]", tier_nps, tier_nps_ref),
            BenchCase(f"segments.tier_segment_grid [{label}]", grid, grid_ref),
            BenchCase(f"segments.value_by [{label}]", value, value_ref),
        ]
    return cases + precompute_cases()
