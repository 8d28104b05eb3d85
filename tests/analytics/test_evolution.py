"""Evolution: attribute means per wave, significance by hand-computed z tests, two-wave comparison."""

from __future__ import annotations

import math

import polars as pl
import pytest

from cx.analytics import evolution, overview
from cx.core.filters import Filters
from cx.core.scope import Scope


def frame(waves: dict[str, dict[str, list[int | None]]]) -> pl.LazyFrame:
    """Responses of one agency; ``waves[w][col]`` lists the values of that column in wave ``w``."""
    parts = []
    for wave, cols in waves.items():
        n = len(next(iter(cols.values())))
        parts.append(
            pl.DataFrame(
                {
                    "wave": [wave] * n,
                    "region": ["Europe"] * n,
                    "country": ["ES"] * n,
                    "agency": ["Madrid"] * n,
                    "weight": [1.0] * n,
                    "excluded": [False] * n,
                    **{c: pl.Series(c, v, dtype=pl.Int64) for c, v in cols.items()},
                }
            )
        )
    return pl.concat(parts, how="diagonal").lazy()


# Hand-worked: wave A attr_x = 6,8 alternating (n 40): mean 7, sd² = 40/39, SE = sqrt(1/39) = 0.16013.
#              wave B attr_x = 5,7 alternating: mean 6, same SE -> z = 1 / sqrt(2/39) = 4.416: significant.
#              wave B attr_y = 20 x 6 and 20 x 9: mean 7.5, sd² = 90/39, SE = 0.24019 vs A attr_y = attr_x of A
#              -> z = 0.5 / sqrt(1/39 + 90/39/40) = 1.732: not significant.
A = {"nps": [8] * 40, "attr_x": [6, 8] * 20, "attr_y": [6, 8] * 20}
B = {"nps": [8] * 40, "attr_x": [5, 7] * 20, "attr_y": [6] * 20 + [9] * 20}


def test_attribute_change_significance_matches_hand_computed_z() -> None:
    got = evolution.attribute_trend(
        frame({"2026-Q1": A, "2026-Q2": B}), Scope.world(), Filters(wave="2026-Q2")
    )
    x = got.filter((pl.col("wave") == "2026-Q2") & (pl.col("attribute") == "attr_x")).row(
        0, named=True
    )
    y = got.filter((pl.col("wave") == "2026-Q2") & (pl.col("attribute") == "attr_y")).row(
        0, named=True
    )
    assert x["mean"] == pytest.approx(6.0) and x["change"] == pytest.approx(-1.0)
    assert x["se"] == pytest.approx(math.sqrt(1 / 39))
    assert x["z"] == pytest.approx(math.sqrt(39 / 2)) and x["significant"] is True
    assert y["z"] == pytest.approx(0.5 / math.sqrt(1 / 39 + 90 / 39 / 40)) and y[
        "z"
    ] == pytest.approx(1.732, abs=1e-3)
    assert y["significant"] is False
    first = got.filter(pl.col("wave") == "2026-Q1")
    assert first["change"].is_null().all() and not first["significant"].any()
    assert got["wave"].to_list()[:2] == ["2026-Q1", "2026-Q1"]  # chronological


def test_low_bases_are_never_significant_and_tiny_cells_show_no_mean() -> None:
    small_a = {"nps": [8] * 20, "attr_x": [9] * 10 + [10] * 10}
    small_b = {"nps": [8] * 20, "attr_x": [1] * 10 + [2] * 10}
    got = evolution.attribute_trend(
        frame({"2026-Q1": small_a, "2026-Q2": small_b}), Scope.world(), Filters()
    )
    last = got.filter(pl.col("wave") == "2026-Q2").row(0, named=True)
    assert last["z"] > 10 and last["low_base"] and last["significant"] is False
    tiny = evolution.attribute_trend(
        frame({"2026-Q1": {"nps": [8] * 4, "attr_x": [7] * 4}}), Scope.world(), Filters()
    )
    assert tiny["suppressed"][0] and tiny["mean"][0] is None


def test_a_missing_wave_is_not_silently_compared_with_an_older_one() -> None:
    lf = frame({"2026-Q1": A, "2026-Q2": {"nps": [8] * 40}, "2026-Q3": B})
    got = evolution.attribute_trend(lf, Scope.world(), Filters())
    q3 = got.filter((pl.col("wave") == "2026-Q3") & (pl.col("attribute") == "attr_x")).row(
        0, named=True
    )
    assert q3["prev_wave"] == "2026-Q2" and q3["change"] is None and q3["significant"] is False


def contract_wave(promoters: int, detractors: int, n: int) -> dict[str, list[int | None]]:
    return {
        "nps": [10] * promoters + [0] * detractors + [7] * (n - promoters - detractors),
        "attr_x": [7] * n,
    }


def test_compare_waves_nps_uses_the_contract_example_drop_that_is_not_significant() -> None:
    lf = frame({"2026-Q1": contract_wave(180, 80, 400), "2026-Q2": contract_wave(150, 95, 380)})
    got = evolution.compare_waves(lf, Scope.world(), Filters(wave="2026-Q2"), "2026-Q1", "2026-Q2")
    nps = got.row(0, named=True)
    assert nps["measure"] == "nps"
    assert (nps["a"], nps["b"]) == (pytest.approx(25.0), pytest.approx(14.47, abs=0.01))
    assert nps["z"] == pytest.approx(1.896, abs=1e-3) and nps["significant"] is False
    table = evolution.comparison_table(got)
    assert (
        table.columns[:3] == ["Measure", "2026-Q1", "2026-Q2"]
        and table["Verdict"][0] == "not significant"
    )


def test_compare_waves_attributes_match_the_trend_z() -> None:
    got = evolution.compare_waves(
        frame({"2026-Q1": A, "2026-Q2": B}), Scope.world(), Filters(), "2026-Q1", "2026-Q2"
    )
    x = got.filter(pl.col("measure") == "attr_x").row(0, named=True)
    assert (
        x["change"] == pytest.approx(-1.0)
        and x["z"] == pytest.approx(math.sqrt(39 / 2))
        and x["significant"]
    )


def test_demo_madrid_cleanliness_falls_significantly_over_the_last_three_waves(
    responses: pl.LazyFrame,
) -> None:
    scope = Scope.parse("agency:Madrid")
    trend = evolution.attribute_trend(responses, scope, Filters(wave="2026-Q3"))
    clean = trend.filter(pl.col("attribute") == "attr_cleanliness").tail(3)
    assert (clean["change"] < 0).all() and clean["significant"].all()
    text = evolution.takeaway(
        overview.nps_trend(responses, scope, Filters(wave="2026-Q3")), trend, "2026-Q3"
    )
    assert "biggest significant fall: Cleanliness −" in text
    barcelona = evolution.attribute_trend(
        responses, Scope.parse("agency:Barcelona"), Filters(wave="2026-Q3")
    )
    b = barcelona.filter(
        (pl.col("attribute") == "attr_cleanliness") & (pl.col("wave") == "2026-Q3")
    )
    assert b["mean"][0] > 6.8 > clean["mean"][-1]  # the fall is Madrid's own, not its neighbours'
