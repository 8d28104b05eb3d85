"""The overview rollup answers every overview question exactly as the raw rows do."""

from collections.abc import Callable
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cx.analytics import overview, rollup
from cx.core.filters import Filters
from cx.core.scope import Scope

FILTERS = [
    Filters(wave="2026-Q3"),
    Filters(wave="2026-Q2", channels=("email", "sms")),
    Filters(wave="2026-Q3", segments=("Young",), touchpoints=("relational",)),
    Filters(wave="2025-Q1", channels=("chat",), segments=("Premium",)),
]
QUERIES: list[tuple[Callable[..., Any], dict[str, Any]]] = [
    (overview.headline, {}),
    (overview.nps_trend, {}),
    (overview.breakdown, {"level": "country"}),
    (overview.breakdown, {"level": "agency"}),
    (overview.breakdown, {"level": "advisor_id"}),
    (overview.breakdown, {"level": "channel"}),
    (overview.kpis, {"by": ["segment", "wave"]}),
    (overview.filter_options, {}),
]


@pytest.fixture(scope="module", params=["advisor-level", "coarse"])
def cube(request: pytest.FixtureRequest, responses: pl.LazyFrame) -> pl.LazyFrame:
    fine = rollup.build(responses)
    return (fine if request.param == "advisor-level" else rollup.coarsen(fine)).lazy()


@pytest.mark.parametrize("scope", ["world", "region:Latin America", "country:ES", "agency:Madrid"])
@pytest.mark.parametrize(
    "filters",
    FILTERS,
    ids=lambda f: f"{f.wave}-{'-'.join(f.channels + f.segments + f.touchpoints) or 'all'}",
)
def test_rollup_and_rows_give_identical_results(
    responses: pl.LazyFrame, cube: pl.LazyFrame, scope: str, filters: Filters
) -> None:
    coarse = "advisor_id" not in cube.collect_schema().names()
    for fn, kwargs in QUERIES:
        if coarse and kwargs.get("level") == "advisor_id":
            continue
        from_rows = fn(responses, Scope.parse(scope), filters, **kwargs)
        from_cube = fn(cube, Scope.parse(scope), filters, **kwargs)
        if isinstance(from_rows, dict):
            assert from_rows == from_cube
        else:
            assert_frame_equal(
                from_rows, from_cube, check_exact=False, abs_tol=1e-9, check_dtypes=False
            )


def test_rollup_is_much_smaller_than_the_rows(responses: pl.LazyFrame, cube: pl.LazyFrame) -> None:
    cells = cube.select(pl.len()).collect().item()
    rows = responses.select(pl.len()).collect().item()
    assert cells < rows / 1.5
    if "advisor_id" not in cube.collect_schema().names():
        assert cells <= 8 * 28 * 8 * 4 * 4  # waves x agencies x channels x touchpoints x segments
    assert (
        cube.select(pl.col("n").sum()).collect().item()
        == responses.filter(~pl.col("excluded")).select(pl.len()).collect().item()
    )
