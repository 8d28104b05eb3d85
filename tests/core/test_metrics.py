"""Every metric against hand-computed values (the data contract's worked examples)."""

import polars as pl
import pytest

from cx.analytics import overview
from cx.core import metrics
from cx.core.filters import Filters
from cx.core.scope import Scope


def scores(promoters: int, passives: int, detractors: int) -> pl.DataFrame:
    nps = [10] * promoters + [7] * passives + [3] * detractors
    return pl.DataFrame({"nps": nps, "weight": [1.0] * len(nps)})


def agg(df: pl.DataFrame) -> dict:
    return df.select(metrics.nps_aggs()).row(0, named=True)


def test_plain_example_nps_20_moe_14_44() -> None:
    row = agg(scores(40, 40, 20))
    assert row["n"] == 100
    assert row["nps"] == pytest.approx(20.00, abs=0.005)
    assert row["nps_moe"] == pytest.approx(14.44, abs=0.005)


def test_small_base_example_nps_10_moe_28() -> None:
    row = agg(scores(12, 9, 9))
    assert row["nps"] == pytest.approx(10.00, abs=0.005)
    assert row["nps_moe"] == pytest.approx(28.00, abs=0.005)


def test_weighted_example_uses_weighted_shares_and_effective_base() -> None:
    df = pl.DataFrame({"nps": [10, 9, 7, 3, 0, 10], "weight": [2.0, 1.0, 1.0, 1.0, 0.5, 0.5]})
    row = agg(df)
    assert row["promoter_share"] == pytest.approx(0.5833, abs=1e-4)
    assert row["detractor_share"] == pytest.approx(0.25, abs=1e-4)
    assert row["nps"] == pytest.approx(33.33, abs=0.005)
    assert row["effective_base"] == pytest.approx(4.8, abs=1e-9)
    assert row["nps_moe"] == pytest.approx(57.15, abs=0.005)
    assert row["n"] == 6  # the base shown is the unweighted count


def test_significance_example_is_not_significant() -> None:
    a, b = agg(scores(180, 140, 80)), agg(scores(150, 135, 95))
    assert a["nps"] == pytest.approx(25.00, abs=0.005)
    assert b["nps"] == pytest.approx(14.47, abs=0.005)
    z = metrics.z_scalar(a["nps"], a["nps_moe"], b["nps"], b["nps_moe"])
    assert z == pytest.approx(1.896, abs=0.001)
    assert z < metrics.Z95


def test_scalar_and_expression_moe_agree() -> None:
    row = agg(scores(33, 20, 47))
    assert metrics.moe_scalar(0.33, 0.47, 100) == pytest.approx(row["nps_moe"], abs=1e-9)


def test_shares_partition_the_weighted_base() -> None:
    df = pl.DataFrame(
        {"nps": [0, 6, 7, 8, 9, 10, 5], "weight": [1.0, 2.0, 0.5, 1.5, 1.0, 3.0, 1.0]}
    )
    row = agg(df)
    assert row["promoter_share"] + row["passive_share"] + row["detractor_share"] == pytest.approx(
        1.0
    )
    # promoters 9,10 -> w 1 + 3 = 4 of 10; detractors 0,6,5 -> 1 + 2 + 1 = 4 of 10
    assert row["nps"] == pytest.approx(0.0)
    assert (row["promoters"], row["passives"], row["detractors"]) == (2, 2, 3)


def test_csat_is_weighted_top_two_box_among_answers() -> None:
    df = pl.DataFrame({"csat": [5, 4, 3, 1, None], "weight": [1.0, 1.0, 2.0, 0.0, 5.0]})
    # top-2: w 2 of answered w 4 -> 50 %
    assert df.select(metrics.csat()).item() == pytest.approx(50.0)


def test_attribute_mean_is_weighted_and_skips_missing() -> None:
    df = pl.DataFrame({"attr_x": [10, 4, None], "weight": [1.0, 2.0, 9.0]})
    assert df.select(metrics.attribute_mean("attr_x")).item() == pytest.approx(6.0)


def _frame(n_es: int, n_fr: int, *, excluded_es: int = 0) -> pl.LazyFrame:
    rows = []
    for i in range(n_es):
        rows.append(
            ("ES", "Madrid", "sms" if i < 3 else "email", 10 if i % 2 else 0, i < excluded_es)
        )
    for _ in range(n_fr):
        rows.append(("FR", "Paris", "email", 9, False))
    return (
        pl.DataFrame(rows, schema=["country", "agency", "channel", "nps", "excluded"], orient="row")
        .with_columns(wave=pl.lit("2026-Q1"), region=pl.lit("Europe"), weight=pl.lit(1.0))
        .lazy()
    )


def test_low_base_is_below_30_and_suppression_below_5() -> None:
    df = overview.kpis(_frame(29, 4), Scope.world(), Filters(), ["agency"])
    madrid, paris = df.row(0, named=True), df.row(1, named=True)
    assert madrid["low_base"] and not madrid["suppressed"] and madrid["nps"] is not None
    assert paris["suppressed"] and paris["nps"] is None and paris["nps_moe"] is None
    assert paris["n"] == 4  # only its count is shown
    df30 = overview.kpis(_frame(30, 0), Scope.world(), Filters(), [])
    assert not df30["low_base"][0]


def test_excluded_responses_are_out_of_every_kpi() -> None:
    df = overview.kpis(_frame(40, 0, excluded_es=10), Scope.world(), Filters(), [])
    assert df["n"][0] == 30


def test_a_filter_that_leaves_out_fewer_than_5_is_suppressed_no_reveal_by_subtraction() -> None:
    # 40 Madrid answers, 3 by sms: "email only" would reveal the 3 sms answers by subtraction.
    frame = _frame(40, 0)
    email_only = overview.kpis(frame, Scope.world(), Filters(channels=("email",)), [])
    assert email_only["suppressed"][0] and email_only["nps"][0] is None
    everything = overview.kpis(frame, Scope.world(), Filters(channels=("email", "sms")), [])
    assert not everything["suppressed"][0]


def test_breakdown_hides_a_second_cell_when_one_sibling_is_suppressed() -> None:
    rows = [
        ("Europe", "ES", a, 10 if i % 3 else 2)
        for a, k in (("Madrid", 50), ("Sevilla", 40), ("Lugo", 3))
        for i in range(k)
    ]
    frame = (
        pl.DataFrame(rows, schema=["region", "country", "agency", "nps"], orient="row")
        .with_columns(wave=pl.lit("2026-Q1"), weight=pl.lit(1.0), excluded=pl.lit(False))
        .lazy()
    )
    table = overview.breakdown(frame, Scope.world(), Filters(wave="2026-Q1"), "agency")
    hidden = set(table.filter(pl.col("suppressed"))["agency"])
    assert hidden == {"Lugo", "Sevilla"}  # Lugo (n=3) and the smallest visible sibling
    assert table.filter(pl.col("agency") == "Madrid")["nps"][0] is not None
