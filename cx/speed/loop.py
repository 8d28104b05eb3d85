"""``cx bench`` cases of the close-the-loop area: alert detection and routing-rule evaluation.

References on DuckDB: for alerts, the wave x entity x attribute aggregates the detection is
built on (weighted mean, n, sums of squares; the signal logic on top is a few hundred rows);
for rules, the same condition written in SQL.
"""

from __future__ import annotations

from typing import Any

from cx.core import data
from cx.core.filters import Filters
from cx.loop import alerts, rule_language
from cx.speed.harness import BenchCase, BenchContext, duckdb_where

RULE = (
    "attr_cleanliness < 4 AND city = 'Madrid' OR nps BETWEEN 0 AND 2 AND channel IN ('sms', 'web')"
)
RULE_SQL = (
    "attr_cleanliness < 4 AND city = 'Madrid' OR nps BETWEEN 0 AND 2 AND channel IN ('sms', 'web')"
)


def _alerts_ref(con: Any, ctx: BenchContext, where: str) -> Any:
    attrs = data.attributes(ctx.responses.collect_schema().names())
    cols = ", ".join(attrs)
    return con.execute(
        f"WITH l AS (UNPIVOT (SELECT region, country, agency, wave, weight, {cols} FROM read_parquet('{ctx.glob}') "
        f"WHERE ({where}) AND NOT excluded) ON {cols} INTO NAME attribute VALUE value) "
        "SELECT region, country, agency, wave, attribute, count(*) AS n, sum(weight) AS sw, sum(weight*weight) AS sw2, "
        "sum(weight*value) AS swv, sum(weight*value*value) AS swv2 FROM l GROUP BY ALL "
        "UNION ALL SELECT region, country, NULL, wave, attribute, count(*), sum(weight), sum(weight*weight), "
        "sum(weight*value), sum(weight*value*value) FROM l GROUP BY region, country, wave, attribute"
    ).fetchall()


def bench_cases() -> list[BenchCase]:
    return [
        BenchCase(
            "alerts.detect [world]",
            lambda c: alerts.detect(c.responses, c.world, Filters(wave=c.latest)),
            lambda con, c: _alerts_ref(con, c, "TRUE"),
        ),
        BenchCase(
            "alerts.detect [country:ES]",
            lambda c: alerts.detect(c.responses, c.country, Filters(wave=c.latest)),
            lambda con, c: _alerts_ref(con, c, "country = 'ES' OR region = 'Europe'"),
        ),
        BenchCase(
            "rules.match_count [world, all waves]",
            lambda c: rule_language.match_count(c.responses, c.world, Filters(), rule=RULE),
            lambda con, c: con.execute(
                f"SELECT count(*) FILTER (WHERE {RULE_SQL}), count(*) FROM read_parquet('{c.glob}') "
                f"WHERE ({duckdb_where(c.world)}) AND NOT excluded"
            ).fetchall(),
        ),
        BenchCase("rules.parse_rule", lambda c: rule_language.parse_rule(RULE)),
    ]
