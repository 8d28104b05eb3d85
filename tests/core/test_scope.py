"""Scope is enforced in one function; deny by default; queries give the same as pre-filtered data."""

from collections.abc import Callable
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sqlmodel import select

from cx import store
from cx.analytics import overview
from cx.core.filters import Filters
from cx.core.scope import Scope, ScopeError, contains, restrict

QUERIES: list[tuple[str, Callable[..., Any], dict[str, Any]]] = [
    ("kpis", overview.kpis, {"by": ["agency", "wave"]}),
    ("kpis_total", overview.kpis, {}),
    ("headline", overview.headline, {}),
    ("nps_trend", overview.nps_trend, {}),
    ("breakdown_agency", overview.breakdown, {"level": "agency"}),
    ("breakdown_advisor", overview.breakdown, {"level": "advisor_id"}),
    ("filter_options", overview.filter_options, {}),
]


@pytest.fixture(scope="module")
def two_countries(responses: pl.LazyFrame) -> pl.LazyFrame:
    return responses.filter(pl.col("country").is_in(["ES", "FR"])).collect().lazy()


def _same(a: Any, b: Any) -> None:
    if isinstance(a, pl.DataFrame):
        assert_frame_equal(a, b, check_exact=False, abs_tol=1e-9)
    else:
        assert a == b


@pytest.mark.parametrize(("name", "fn", "kwargs"), QUERIES, ids=[q[0] for q in QUERIES])
def test_one_country_scope_equals_prefiltered_data(
    two_countries: pl.LazyFrame, name: str, fn: Callable[..., Any], kwargs: dict[str, Any]
) -> None:
    scoped = fn(two_countries, Scope.parse("country:ES"), Filters(wave="2026-Q3"), **kwargs)
    prefiltered = fn(
        two_countries.filter(pl.col("country") == "ES"),
        Scope.world(),
        Filters(wave="2026-Q3"),
        **kwargs,
    )
    _same(scoped, prefiltered)


@pytest.mark.parametrize(("name", "fn", "kwargs"), QUERIES, ids=[q[0] for q in QUERIES])
def test_empty_and_unknown_scopes_see_nothing(
    two_countries: pl.LazyFrame, name: str, fn: Callable[..., Any], kwargs: dict[str, Any]
) -> None:
    for scope in (Scope(), Scope.parse("country:XX"), Scope.parse("agency:Nowhere")):
        result = fn(two_countries, scope, Filters(wave="2026-Q3"), **kwargs)
        if isinstance(result, dict):
            assert all(v == [] for v in result.values())
        elif name in ("kpis_total", "headline"):
            assert result["n"][0] == 0 and result["nps"][0] is None
        else:
            assert result.height == 0


def test_restrict_is_deny_by_default() -> None:
    frame = pl.LazyFrame({"region": ["Europe"], "country": ["ES"], "agency": ["Madrid"]})
    assert restrict(frame, Scope()).collect().height == 0
    assert restrict(frame, Scope.world()).collect().height == 1
    assert restrict(frame, Scope.parse(["region:Europe"])).collect().height == 1
    assert restrict(frame, Scope.parse(["agency:Paris", "country:ES"])).collect().height == 1


@pytest.mark.parametrize("bad", ["planet:Earth", "country:", "country", "", "world:ES", "agency"])
def test_malformed_scope_entries_are_rejected(bad: str) -> None:
    if bad == "":
        assert Scope.parse(bad).is_empty
        return
    with pytest.raises(ScopeError, match="bad scope"):
        Scope.parse([bad])


def test_sql_statements_are_restricted_by_the_same_rule(sqlite_engine: Any) -> None:
    with store.session(sqlite_engine) as s:
        store.audit(
            s,
            actor="x",
            action="a",
            entity="e",
            entity_id=1,
            region="Europe",
            country="ES",
            agency="Madrid",
        )
        store.audit(
            s,
            actor="x",
            action="a",
            entity="e",
            entity_id=2,
            region="Europe",
            country="FR",
            agency="Paris",
        )
        store.audit(
            s,
            actor="x",
            action="a",
            entity="e",
            entity_id=3,
            region="Europe",
            country="ES",
            agency=None,
        )
    from cx.core.scope import restrict_statement

    with store.session(sqlite_engine) as s:

        def ids(scope: Scope) -> list[str]:
            stmt = restrict_statement(select(store.AuditLog), scope, store.AuditLog).order_by(
                store.AuditLog.id
            )
            return [r.entity_id for r in s.exec(stmt)]

        assert ids(Scope()) == []
        assert ids(Scope.world()) == ["1", "2", "3"]
        assert ids(Scope.parse("country:ES")) == ["1", "3"]
        assert ids(Scope.parse("agency:Madrid")) == [
            "1"
        ]  # a country-level record is not the agency's
    assert contains(Scope.parse("country:ES"), region="Europe", country="ES", agency=None)
    assert not contains(Scope.parse("agency:Madrid"), region="Europe", country="ES", agency=None)
