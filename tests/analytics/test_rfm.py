"""RFM scores and tiers: a hand-worked dozen customers, the tier mapping, per-wave tiers on responses."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from cx.analytics import rfm
from cx.core.data import DataError

AS_OF = date(2026, 3, 31)  # last day of wave 2026-Q1
# customer: (recency days, transactions in the 365-day window, amount in the window)
CUSTOMERS = {
    "C01": (1, 12, 1200.0),
    "C02": (3, 10, 900.0),
    "C03": (5, 8, 1500.0),
    "C04": (10, 6, 300.0),
    "C05": (20, 5, 650.0),
    "C06": (40, 4, 200.0),
    "C07": (60, 3, 800.0),
    "C08": (90, 2, 100.0),
    "C09": (150, 2, 450.0),
    "C10": (200, 1, 50.0),
    "C11": (300, 1, 20.0),
}
# Worked by hand: ranks over the 12 customers, score = 1 + floor(5 * (rank_min - 1) / 12).
EXPECTED = {
    #       r  f  m  tier
    "C01": (5, 5, 5, "Champions"),
    "C02": (5, 5, 4, "Champions"),
    "C03": (4, 4, 5, "Champions"),
    "C04": (4, 4, 3, "Champions"),
    "C05": (3, 3, 3, "Loyal"),
    "C06": (3, 3, 2, "Loyal"),
    "C07": (3, 3, 4, "Loyal"),
    "C08": (2, 2, 2, "Hibernating"),
    "C09": (2, 2, 3, "Hibernating"),
    "C10": (1, 1, 1, "Lost"),
    "C11": (1, 1, 1, "Lost"),
    "C12": (1, 1, 1, "Lost"),
}


def dozen_transactions() -> pl.DataFrame:
    rows = []
    for cid, (recency, freq, money) in CUSTOMERS.items():
        for i in range(freq):
            amount = money - (freq - 1) * 1.0 if i == 0 else 1.0
            rows.append((cid, AS_OF - timedelta(days=recency + i), amount))
    rows.append(("C01", AS_OF - timedelta(days=500), 9999.0))  # before the 365-day window
    rows.append(("C10", AS_OF + timedelta(days=10), 5000.0))  # after the as-of day: ignored
    rows.append(("C12", AS_OF - timedelta(days=420), 70.0))  # only history outside the window
    return pl.DataFrame(
        rows, schema={"customer_id": pl.String, "date": pl.Date, "amount": pl.Float64}, orient="row"
    )


def write_crm(root: Path, tx: pl.DataFrame) -> Path:
    (root / "crm").mkdir(parents=True, exist_ok=True)
    tx.write_parquet(root / "crm" / "transactions.parquet")
    return root


def test_rfm_scores_and_tiers_match_the_hand_worked_dozen() -> None:
    got = rfm.rfm_scores(dozen_transactions(), AS_OF).collect()
    assert got.height == 12
    by_id = {r["customer_id"]: r for r in got.iter_rows(named=True)}
    for cid, (r, f, m, tier) in EXPECTED.items():
        row = by_id[cid]
        assert (row["r"], row["f"], row["m"], row["rfm_tier"]) == (r, f, m, tier), cid
    assert by_id["C01"]["recency"] == 1 and by_id["C01"]["frequency"] == 12
    assert by_id["C01"]["monetary"] == pytest.approx(
        1200.0
    )  # the 9999 purchase is outside the window
    assert by_id["C10"]["recency"] == 200  # the purchase after the as-of day does not count
    assert (by_id["C12"]["recency"], by_id["C12"]["frequency"], by_id["C12"]["monetary"]) == (
        420,
        0,
        0.0,
    )


def test_customers_without_history_before_the_as_of_day_get_no_tier() -> None:
    tx = pl.DataFrame(
        {
            "customer_id": ["A", "B"],
            "date": [AS_OF, AS_OF + timedelta(days=1)],
            "amount": [10.0, 10.0],
        }
    )
    got = rfm.rfm_scores(tx, AS_OF).collect()
    assert got["customer_id"].to_list() == ["A"]


@pytest.mark.parametrize(
    ("r", "f", "m", "tier"),
    [
        (5, 5, 1, "Champions"),
        (3, 4, 1, "Loyal"),
        (1, 5, 5, "Can't lose them"),
        (2, 4, 3, "At risk"),
        (1, 3, 5, "At risk"),
        (5, 1, 1, "New"),
        (4, 2, 1, "Potential loyalists"),
        (2, 1, 5, "Hibernating"),
        (1, 2, 4, "Lost"),
    ],
)
def test_tier_mapping_follows_the_config_rules_in_order(r: int, f: int, m: int, tier: str) -> None:
    df = pl.DataFrame({"r": [r], "f": [f], "m": [m]})
    assert df.select(rfm.tier_expr(rfm.load_tiers()))["rfm_tier"][0] == tier


def test_default_mapping_names_every_score_combination() -> None:
    tiers = rfm.load_tiers()
    combos = list(itertools.product(range(1, 6), repeat=3))
    df = pl.DataFrame(combos, schema=["r", "f", "m"], orient="row").select(rfm.tier_expr(tiers))
    assert tiers.fallback not in df["rfm_tier"].to_list()
    assert set(df["rfm_tier"]) == {t.name for t in tiers.rules}


def test_custom_mapping_file_and_fallback(tmp_path: Path) -> None:
    path = tmp_path / "tiers.yaml"
    path.write_text(
        "fallback: Rest\ntiers:\n  - name: Top\n    r: [5, 5]\n    m: [5, 5]\n", encoding="utf-8"
    )
    tiers = rfm.load_tiers(path)
    df = pl.DataFrame({"r": [5, 5], "f": [1, 1], "m": [5, 4]}).select(rfm.tier_expr(tiers))
    assert df["rfm_tier"].to_list() == ["Top", "Rest"]
    path.write_text("tiers:\n  - name: Bad\n    r: [4, 9]\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"tier 'Bad' r"):
        rfm.load_tiers(path)


def test_with_rfm_tier_uses_each_response_wave_end(tmp_path: Path) -> None:
    root = write_crm(tmp_path, dozen_transactions())
    responses = pl.LazyFrame(
        {
            "wave": ["2026-Q1", "2026-Q1", "2026-Q2"],
            "customer_id": ["C01", "C99", "C10"],
            "nps": [10, 5, 7],
        }
    )
    got = rfm.with_rfm_tier(responses, root).collect().sort("wave", "customer_id")
    q2 = rfm.rfm_tiers(root, "2026-Q2").filter(pl.col("customer_id") == "C10")["rfm_tier"][0]
    assert got["rfm_tier"].to_list() == ["Champions", None, q2]
    # As of 2026-06-30, C10's purchase of 2026-04-10 is 81 days old.
    assert rfm.rfm_tiers(root, "2026-Q2").filter(pl.col("customer_id") == "C10")["recency"][0] == 81


def test_missing_crm_file_adds_a_null_tier_and_a_bad_file_names_the_column(tmp_path: Path) -> None:
    responses = pl.LazyFrame({"wave": ["2026-Q1"], "customer_id": ["C01"], "nps": [9]})
    got = rfm.with_rfm_tier(responses, tmp_path).collect()
    assert got["rfm_tier"].to_list() == [None]
    write_crm(tmp_path, pl.DataFrame({"customer_id": ["C01"], "day": [AS_OF], "amount": [1.0]}))
    with pytest.raises(DataError, match=r"transactions.parquet: required column 'date' is missing"):
        rfm.rfm_tiers(tmp_path, "2026-Q1")
