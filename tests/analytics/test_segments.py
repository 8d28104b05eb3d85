"""Segments & RFM: NPS by tier and segment, suppression, revenue by NPS group ("what detractors cost")."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from cx.analytics import rfm, segments
from cx.core.filters import Filters
from cx.core.scope import Scope


def responses(rows: list[tuple[str, str, str, int, str, str]]) -> pl.LazyFrame:
    """(response_id, agency, customer_id, nps, segment, responded_at ISO) in wave 2026-Q1."""
    df = pl.DataFrame(
        rows, schema=["response_id", "agency", "customer_id", "nps", "segment", "at"], orient="row"
    )
    return (
        df.with_columns(
            wave=pl.lit("2026-Q1"),
            region=pl.lit("Europe"),
            country=pl.lit("ES"),
            weight=pl.lit(1.0),
            excluded=pl.lit(False),
            responded_at=pl.col("at").str.to_datetime(),
            nps=pl.col("nps").cast(pl.Int64),
        )
        .drop("at")
        .lazy()
    )


def crm(root: Path, spend: dict[str, float]) -> str:
    (root / "crm").mkdir(parents=True, exist_ok=True)
    pl.DataFrame(
        {
            "customer_id": list(spend),
            "date": [date(2026, 3, 1)] * len(spend),
            "amount": list(spend.values()),
        }
    ).write_parquet(root / "crm" / "transactions.parquet")
    return str(root)


def test_value_by_nps_group_matches_hand_computed_revenue(tmp_path: Path) -> None:
    # Promoters P1..P5 spend 100 each (500); passives Q1..Q5 60 each (300); detractors D1..D6 40 each (240).
    # D1 answered twice: only the latest answer (a 9) counts, so D1 is a promoter:
    # 6 promoters (540, 90 each), 5 passives (300), 5 detractors (200); total 1040.
    spend = {
        **{f"P{i}": 100.0 for i in range(1, 6)},
        **{f"Q{i}": 60.0 for i in range(1, 6)},
        **{f"D{i}": 40.0 for i in range(1, 7)},
    }
    rows = [
        (
            f"r{c}",
            "Madrid",
            c,
            10 if c[0] == "P" else 7 if c[0] == "Q" else 2,
            "Retail",
            "2026-02-01T10:00:00",
        )
        for c in spend
    ]
    rows.append(("r-late", "Madrid", "D1", 9, "Retail", "2026-03-20T10:00:00"))
    got = segments.value_by(
        responses(rows), Scope.world(), Filters(wave="2026-Q1"), crm(tmp_path, spend)
    )
    v = {r["group"]: r for r in got.iter_rows(named=True)}
    assert got["group"].to_list() == ["Promoters", "Passives", "Detractors"]
    assert (v["Promoters"]["customers"], v["Promoters"]["revenue"]) == (6, pytest.approx(540.0))
    assert v["Promoters"]["revenue_per_customer"] == pytest.approx(90.0)
    assert (v["Detractors"]["customers"], v["Detractors"]["revenue"]) == (5, pytest.approx(200.0))
    assert v["Detractors"]["revenue_share"] == pytest.approx(200 / 1040)
    assert v["Passives"]["revenue_share"] == pytest.approx(300 / 1040)
    assert v["Detractors"]["revenue_per_customer"] == pytest.approx(40.0)


def test_value_by_hides_a_group_under_five_customers_and_its_complement(tmp_path: Path) -> None:
    spend = {f"C{i}": 10.0 * i for i in range(1, 15)}
    rows = [
        (
            f"r{i}",
            "Madrid",
            f"C{i}",
            10 if i <= 6 else 8 if i <= 11 else 0,
            "Retail",
            "2026-02-01T10:00:00",
        )
        for i in range(1, 15)
    ]
    got = segments.value_by(
        responses(rows), Scope.world(), Filters(wave="2026-Q1"), crm(tmp_path, spend)
    )
    v = {r["group"]: r for r in got.iter_rows(named=True)}
    assert (
        v["Detractors"]["customers"] == 3
        and v["Detractors"]["suppressed"]
        and v["Detractors"]["revenue"] is None
    )
    assert (
        v["Passives"]["suppressed"] and v["Passives"]["revenue_share"] is None
    )  # else 1 - others reveals it
    assert not v["Promoters"]["suppressed"] and v["Promoters"]["revenue"] == pytest.approx(210.0)


def test_value_by_counts_only_customers_inside_the_scope(tmp_path: Path) -> None:
    spend = {f"C{i}": 100.0 for i in range(1, 13)}
    rows = [
        (f"r{i}", "Madrid" if i <= 6 else "Paris", f"C{i}", 10, "Retail", "2026-02-01T10:00:00")
        for i in range(1, 13)
    ]
    got = segments.value_by(
        responses(rows), Scope.parse("agency:Madrid"), Filters(wave="2026-Q1"), crm(tmp_path, spend)
    )
    assert got.filter(pl.col("group") == "Promoters")["customers"][0] == 6
    assert got.filter(pl.col("group") == "Promoters")["revenue"][0] == pytest.approx(600.0)


def test_tier_segment_grid_hides_tiny_cells_and_one_more_per_row(tmp_path: Path) -> None:
    spend = {f"C{i:02d}": 50.0 for i in range(40)}
    root = crm(tmp_path, spend)  # every customer is alike: one tier for all
    segs = ["Retail"] * 20 + ["Young"] * 12 + ["Premium"] * 3 + ["Business"] * 5
    rows = [
        (f"r{i}", "Madrid", f"C{i:02d}", 9, s, "2026-02-01T10:00:00") for i, s in enumerate(segs)
    ]
    got = segments.tier_segment_grid(responses(rows), Scope.world(), Filters(wave="2026-Q1"), root)
    tier = rfm.rfm_tiers(Path(root), "2026-Q1")["rfm_tier"][0]
    assert set(got["rfm_tier"]) == {tier}
    cells = {r["segment"]: r for r in got.iter_rows(named=True)}
    assert (
        cells["Premium"]["suppressed"]
        and cells["Premium"]["nps"] is None
        and cells["Premium"]["n"] == 3
    )
    assert (
        cells["Business"]["suppressed"] and cells["Business"]["nps"] is None
    )  # smallest visible sibling
    assert cells["Retail"]["nps"] == pytest.approx(100.0) and not cells["Young"]["suppressed"]


def test_tier_nps_without_crm_is_empty_and_the_page_can_say_so(tmp_path: Path) -> None:
    rows = [(f"r{i}", "Madrid", f"C{i}", 9, "Retail", "2026-02-01T10:00:00") for i in range(10)]
    assert segments.tier_nps(
        responses(rows), Scope.world(), Filters(wave="2026-Q1"), str(tmp_path)
    ).is_empty()
    assert segments.value_by(
        responses(rows), Scope.world(), Filters(wave="2026-Q1"), str(tmp_path)
    ).is_empty()


def test_demo_stories_young_slides_business_improves_champions_promoter_rich(
    responses_demo: pl.LazyFrame, demo_root: Path
) -> None:
    f = Filters(wave="2026-Q3")
    trend = segments.segment_trend(responses_demo, Scope.world(), f)
    first, last = (trend.filter(pl.col("wave") == w) for w in ("2024-Q4", "2026-Q3"))
    nps = {
        s: (
            first.filter(pl.col("segment") == s)["nps"][0],
            last.filter(pl.col("segment") == s)["nps"][0],
        )
        for s in ("Young", "Business")
    }
    assert nps["Young"][1] < nps["Young"][0] - 15
    assert nps["Business"][1] > nps["Business"][0] + 10
    tiers = segments.tier_nps(responses_demo, Scope.world(), f, str(demo_root))
    champions = tiers.filter(pl.col("rfm_tier") == "Champions").row(0, named=True)
    lost = tiers.filter(pl.col("rfm_tier") == "Lost").row(0, named=True)
    assert (
        champions["promoter_share"] > 0.45
        and champions["nps"] > lost["nps"] + 25
        and champions["rank"] <= 2
    )
    value = segments.value_by(responses_demo, Scope.world(), f, str(demo_root))
    text = segments.takeaway(
        segments.segment_nps(responses_demo, Scope.world(), f), trend, tiers, value
    )
    assert text.startswith("Young is the lowest segment at NPS −") and "detractors hold" in text


@pytest.fixture
def responses_demo(responses: pl.LazyFrame) -> pl.LazyFrame:
    return responses


def test_segment_nps_is_ranked_with_change_vs_previous_wave(responses_demo: pl.LazyFrame) -> None:
    got = segments.segment_nps(responses_demo, Scope.parse("country:ES"), Filters(wave="2026-Q3"))
    assert got["segment"].to_list()[-1] == "Young"
    assert got["rank"].to_list() == [1, 2, 3, 4] and got["change"].is_not_null().all()
