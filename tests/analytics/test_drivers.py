"""Key-driver analysis: recovery of known weights under a halo, hand-worked weights and quadrants,
low base, scope, and the ``cx drivers`` JSON contract."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cx import cli
from cx.analytics import drivers
from cx.core import labels
from cx.core.filters import Filters
from cx.core.scope import Scope

TRUE_WEIGHTS = {
    "attr_a": 0.34,
    "attr_b": 0.24,
    "attr_c": 0.17,
    "attr_d": 0.12,
    "attr_e": 0.08,
    "attr_f": 0.05,
}


def synthetic(n: int, seed: int = 7, agency: str = "Alpha") -> pl.DataFrame:
    """Attributes sharing a strong halo (all correlated), NPS driven by known weights."""
    rng = np.random.default_rng(seed)
    halo = rng.normal(0, 1, n)
    cols = {}
    latent = np.zeros(n)
    for name, w in TRUE_WEIGHTS.items():
        x = np.clip(np.rint(7 + 1.0 * halo + rng.normal(0, 1.3, n)), 0, 10)
        cols[name] = x.astype(np.int64)
        latent += w * (x - 7)
    score = np.clip(np.rint(7.5 + 2.2 * latent + 0.3 * halo + rng.normal(0, 1.0, n)), 0, 10).astype(
        np.int64
    )
    return pl.DataFrame(
        {
            "wave": ["2026-Q1"] * n,
            "region": ["Europe"] * n,
            "country": ["ES"] * n,
            "agency": [agency] * n,
            "nps": score,
            "weight": np.round(rng.uniform(0.5, 2.0, n), 3),
            "excluded": [False] * n,
            **cols,
        }
    )


def spearman(a: list[float], b: list[float]) -> float:
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


def test_importance_recovers_the_true_order_despite_a_shared_halo() -> None:
    got = drivers.key_drivers(synthetic(20_000).lazy(), Scope.world(), Filters(wave="2026-Q1"))
    imp = dict(zip(got["attribute"], got["importance"], strict=True))
    assert sum(imp.values()) == pytest.approx(1.0)
    assert spearman([imp[a] for a in TRUE_WEIGHTS], list(TRUE_WEIGHTS.values())) >= 0.9
    assert got["attribute"][0] == "attr_a"
    assert got["importance"].to_list() == sorted(got["importance"].to_list(), reverse=True)
    assert 0.2 < got["r2"][0] < 1.0
    assert got["n"][0] == 20_000


def test_relative_weights_match_hand_worked_matrices() -> None:
    # Uncorrelated predictors: raw weights are the squared validities, R² their sum.
    raw, r2, _ = drivers.relative_weights(
        np.array([[1.0, 0.5, 0.3], [0.5, 1.0, 0.0], [0.3, 0.0, 1.0]])
    )
    assert raw == pytest.approx([0.25, 0.09])
    assert r2 == pytest.approx(0.34)
    # Two equally valid predictors correlated 0.6: R² = 2·0.5² / 1.6 = 0.3125, split evenly.
    raw, r2, _ = drivers.relative_weights(
        np.array([[1.0, 0.5, 0.5], [0.5, 1.0, 0.6], [0.5, 0.6, 1.0]])
    )
    assert r2 == pytest.approx(0.3125)
    assert raw == pytest.approx([0.15625, 0.15625])


def test_quadrants_match_a_hand_worked_example() -> None:
    # Mean importance 0.25, mean performance (8 + 6 + 7.5 + 5) / 4 = 6.625.
    df = pl.DataFrame(
        {
            "attribute": ["a", "b", "c", "d", "e"],
            "importance": [0.4, 0.3, 0.2, 0.1, None],
            "mean": [8.0, 6.0, 7.5, 5.0, 9.0],
        }
    )
    got = drivers.quadrants(df)["quadrant"].to_list()
    assert got == [
        "key_strength",
        "improvement_area",
        "secondary_strength",
        "secondary_weakness",
        None,
    ]


def test_a_pure_noise_attribute_is_not_significant_and_a_strong_driver_is() -> None:
    df = synthetic(5_000, seed=3)
    noise = np.random.default_rng(11).integers(0, 11, df.height)
    got = drivers.key_drivers(
        df.with_columns(attr_z=pl.Series(noise)).lazy(), Scope.world(), Filters(wave="2026-Q1")
    )
    sig = dict(zip(got["attribute"], got["significant"], strict=True))
    assert sig["attr_a"] is True
    assert sig["attr_z"] is False


def test_missing_answers_are_dropped_listwise() -> None:
    df = synthetic(400).with_columns(
        attr_b=pl.when(pl.int_range(pl.len()) < 100).then(None).otherwise(pl.col("attr_b"))
    )
    got = drivers.key_drivers(df.lazy(), Scope.world(), Filters(wave="2026-Q1"))
    assert got["n"][0] == 300
    b_mean = got.filter(pl.col("attribute") == "attr_b")["mean"][0]
    tail = df.slice(100)
    assert b_mean == pytest.approx((tail["attr_b"] * tail["weight"]).sum() / tail["weight"].sum())


def test_low_base_gives_no_driver_analysis() -> None:
    got = drivers.key_drivers(synthetic(25).lazy(), Scope.world(), Filters(wave="2026-Q1"))
    assert (
        got["low_base"].all()
        and got["importance"].is_null().all()
        and got["quadrant"].is_null().all()
    )
    assert drivers.top_drivers(synthetic(25).lazy(), Scope.world(), Filters(wave="2026-Q1")) == []
    assert "too few" in drivers.takeaway(got)


def test_rows_outside_the_scope_never_influence_the_result() -> None:
    both = pl.concat(
        [
            synthetic(3_000, seed=1, agency="Alpha"),
            synthetic(3_000, seed=2, agency="Beta").with_columns(nps=10 - pl.col("nps")),
        ]
    )
    scoped = drivers.key_drivers(both.lazy(), Scope.parse("agency:Alpha"), Filters(wave="2026-Q1"))
    alone = drivers.key_drivers(
        synthetic(3_000, seed=1).lazy(), Scope.world(), Filters(wave="2026-Q1")
    )
    assert_frame_equal(scoped, alone, abs_tol=1e-9)
    assert drivers.key_drivers(
        both.lazy(), Scope(), Filters(wave="2026-Q1")
    ).is_empty()  # empty scope sees nothing


def test_demo_madrid_cleanliness_is_an_improvement_area_and_the_takeaway_says_so(
    responses: pl.LazyFrame,
) -> None:
    from cx.analytics.evolution import attribute_trend

    scope, f = Scope.parse("agency:Madrid"), Filters(wave="2026-Q3")
    got = drivers.key_drivers(responses, scope, f)
    row = got.filter(pl.col("attribute") == "attr_cleanliness").row(0, named=True)
    assert row["quadrant"] == "improvement_area" and row["mean"] < 6.5
    text = drivers.takeaway(got, attribute_trend(responses, scope, f), "2026-Q3")
    assert (
        text.startswith("Cleanliness is your biggest improvement area")
        and "vs 2026-Q2 (significant)" in text
    )
    promise = drivers.service_promise(responses, scope, f)
    assert promise["attribute"].n_unique() == 3 and promise["wave"].n_unique() == 8


def test_cli_drivers_json_has_exactly_the_contract_keys(
    demo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        cli.main(["drivers", "--data", str(demo_root), "--user", "es.manager", "--format", "json"])
        == 0
    )
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 8
    assert all(list(r) == ["attribute", "mean", "importance", "quadrant"] for r in rows)
    assert sum(r["importance"] for r in rows) == pytest.approx(1.0)
    assert {r["quadrant"] for r in rows} <= set(labels.QUADRANTS)


def test_cli_drivers_reports_a_low_base_in_one_line(
    demo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        cli.main(
            [
                "drivers",
                "--data",
                str(demo_root),
                "--scope",
                "agency:Madrid",
                "--channel",
                "chat",
                "--segment",
                "Young",
                "--format",
                "json",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert err.startswith("cx drivers: low base:") and err.count("\n") == 1


def test_improvement_areas_are_listed_most_important_first_for_action_plans() -> None:
    from cx.analytics.drivers import improvement_areas

    drv = pl.DataFrame(
        {
            "attribute": ["attr_a", "attr_b", "attr_c", "attr_d"],
            "label": ["A", "B", "C", "D"],
            "importance": [0.1, 0.4, 0.3, 0.2],
            "quadrant": [
                "improvement_area",
                "key_strength",
                "improvement_area",
                "secondary_weakness",
            ],
        }
    )
    assert improvement_areas(drv) == [("attr_c", "C"), ("attr_a", "A")]
