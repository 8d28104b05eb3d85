"""Relational vs transactional NPS: the side-by-side table, the attribute profile and the drag,
checked on tiny literal frames against hand-computed values."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from cx.analytics import touchpoints
from cx.charts import touchpoints as tp_charts
from cx.core.filters import Filters
from cx.core.scope import Scope

ES, WORLD = Scope.parse("country:ES"), Scope.world()
Q2 = Filters(wave="2026-Q2")
START = {
    "2025-Q4": datetime(2025, 10, 1, tzinfo=UTC),
    "2026-Q1": datetime(2026, 1, 1, tzinfo=UTC),
    "2026-Q2": datetime(2026, 4, 1, tzinfo=UTC),
}
SCHEMA = {
    "response_id": pl.String,
    "wave": pl.String,
    "responded_at": pl.Datetime("us", "UTC"),
    "customer_id": pl.String,
    "region": pl.String,
    "country": pl.String,
    "agency": pl.String,
    "touchpoint": pl.String,
    "nps": pl.Int64,
    "attr_speed": pl.Int64,
    "weight": pl.Float64,
    "excluded": pl.Boolean,
}


class Rows:
    """A literal responses frame, one ``add`` per answer (ids and customers numbered in order)."""

    def __init__(self) -> None:
        self.rows: list[dict[str, object]] = []

    def add(
        self,
        touchpoint: str | None,
        nps: int,
        *,
        wave: str = "2026-Q2",
        day: int = 10,
        customer: str | None = None,
        country: str = "ES",
        weight: float = 1.0,
        excluded: bool = False,
        attr: int | None = None,
        times: int = 1,
    ) -> Rows:
        for _ in range(times):
            i = len(self.rows)
            self.rows.append(
                {
                    "response_id": f"r{i:04d}",
                    "wave": wave,
                    "responded_at": START[wave] + timedelta(days=day),
                    "customer_id": customer or f"c{i:04d}",
                    "region": "Europe",
                    "country": country,
                    "agency": "Madrid" if country == "ES" else "Paris",
                    "touchpoint": touchpoint,
                    "nps": nps,
                    "attr_speed": attr,
                    "weight": weight,
                    "excluded": excluded,
                }
            )
        return self

    def pair(
        self, touchpoint: str, t_score: int, r_score: int, times: int = 1, **kw: object
    ) -> Rows:
        """``times`` customers answering ``touchpoint`` in 2026-Q1, then the relational survey in 2026-Q2."""
        for _ in range(times):
            c = f"p{len(self.rows):04d}"
            self.add(touchpoint, t_score, wave="2026-Q1", customer=c, **kw)  # type: ignore[arg-type]
            self.add(None, r_score, customer=c, **kw)  # type: ignore[arg-type]
        return self

    def frame(self) -> pl.LazyFrame:
        return pl.DataFrame(self.rows, schema=SCHEMA).lazy()


def scores(promoters: int, passives: int, detractors: int) -> list[int]:
    return [10] * promoters + [8] * passives + [3] * detractors


def side_frame() -> pl.LazyFrame:
    """2026-Q2: relational = the contract's plain case (n 100, 40 P, 20 D: NPS 20.00 ± 14.44),
    delivery = its significance wave B (n 380: 14.47), purchase = its small base (n 30: 10.00 ±
    28.00), store 29 (low base), support 4 and app 3 (suppressed). 2026-Q1: relational n 100 with
    10 P and 60 D (−50.00 ± 13.08), delivery = wave A (n 400: 25.00). Plus ten excluded relational
    detractors and 50 French relational zeros that Spain must never count."""
    rows = Rows()
    for wave, moment, (p, pa, d) in [
        ("2026-Q2", None, (40, 40, 20)),
        ("2026-Q2", "delivery", (150, 135, 95)),
        ("2026-Q2", "purchase", (12, 9, 9)),
        ("2026-Q2", "store", (10, 10, 9)),
        ("2026-Q2", "support", (2, 1, 1)),
        ("2026-Q2", "app", (1, 1, 1)),
        ("2026-Q1", None, (10, 30, 60)),
        ("2026-Q1", "delivery", (180, 140, 80)),
    ]:
        for s in scores(p, pa, d):
            rows.add(moment, s, wave=wave)
    rows.add(None, 0, excluded=True, times=10)
    rows.add(None, 0, country="FR", times=50)
    return rows.frame()


def by_moment(df: pl.DataFrame) -> dict[str, dict[str, object]]:
    return {r["moment"]: r for r in df.iter_rows(named=True)}


def test_side_by_side_puts_the_relationship_first_with_the_contract_figures() -> None:
    df = touchpoints.side_by_side(side_frame(), ES, Q2)
    assert df["moment"][0] == "relational" and df["label"][0] == "Relational"
    assert df["relational"].to_list() == [True] + [False] * 5
    rows = by_moment(df)
    rel, delivery, purchase = rows["relational"], rows["delivery"], rows["purchase"]
    assert rel["n"] == 100  # the excluded and the French answers are out
    assert rel["nps"] == pytest.approx(20.0) and rel["nps_moe"] == pytest.approx(14.44, abs=0.005)
    assert purchase["nps"] == pytest.approx(10.0)
    assert purchase["nps_moe"] == pytest.approx(28.0, abs=0.005)
    assert purchase["low_base"] is False  # n = 30 is not a low base
    assert delivery["nps"] == pytest.approx(100 * 55 / 380)


def test_side_by_side_change_and_significance_follow_the_contract() -> None:
    rows = by_moment(touchpoints.side_by_side(side_frame(), ES, Q2))
    rel, delivery = rows["relational"], rows["delivery"]
    # Relational: 20.00 ± 14.44 vs −50.00 ± 13.08: z = 70 / √((14.44/1.96)² + (13.08/1.96)²) = 7.04.
    assert rel["prev_nps"] == pytest.approx(-50.0) and rel["change"] == pytest.approx(70.0)
    assert rel["significant"] is True and rel["prev_wave"] == "2026-Q1"
    # Delivery: the contract's example, a 10.5-point drop with z = 1.896, is NOT significant.
    assert delivery["prev_nps"] == pytest.approx(25.0)
    assert delivery["change"] == pytest.approx(100 * 55 / 380 - 25.0)
    assert delivery["significant"] is False


def test_side_by_side_marks_low_bases_and_hides_suppressed_scores() -> None:
    rows = by_moment(touchpoints.side_by_side(side_frame(), ES, Q2))
    store = rows["store"]
    assert store["n"] == 29 and store["low_base"] is True and store["suppressed"] is False
    assert store["nps"] == pytest.approx(100 * 1 / 29)
    for name, n in (("support", 4), ("app", 3)):
        assert rows[name]["n"] == n and rows[name]["suppressed"] is True
        assert rows[name]["nps"] is None and rows[name]["nps_moe"] is None


def test_one_suppressed_touchpoint_also_hides_the_smallest_visible_one() -> None:
    rows = Rows()
    for moment, n in ((None, 40), ("delivery", 35), ("purchase", 31), ("support", 3)):
        rows.add(moment, 10, times=n)
    got = by_moment(touchpoints.side_by_side(rows.frame(), ES, Q2))
    # Otherwise the scope's NPS minus the visible cells would reveal the 3 support answers.
    assert got["support"]["nps"] is None and got["purchase"]["nps"] is None
    assert got["delivery"]["nps"] == pytest.approx(100.0)


def test_the_touchpoint_filter_does_not_hide_the_comparison() -> None:
    frame = side_frame()
    narrowed = Filters(wave="2026-Q2", touchpoints=("delivery",))
    assert touchpoints.side_by_side(frame, ES, narrowed).equals(
        touchpoints.side_by_side(frame, ES, Q2)
    )


def test_a_country_scope_never_sees_another_country() -> None:
    df = touchpoints.side_by_side(side_frame(), Scope.parse("country:FR"), Q2)
    assert df["moment"].to_list() == ["relational"]
    assert df["n"].to_list() == [50] and df["nps"].to_list() == [pytest.approx(-100.0)]
    assert touchpoints.side_by_side(side_frame(), Scope(), Q2).is_empty()


def test_side_by_side_weights_shares_as_the_contract_says() -> None:
    rows = Rows()
    for s, w in zip([10, 9, 7, 3, 0, 10], [2, 1, 1, 1, 0.5, 0.5], strict=True):
        rows.add(None, s, weight=w)
    rel = touchpoints.side_by_side(rows.frame(), ES, Q2).row(0, named=True)
    assert rel["n"] == 6
    assert rel["nps"] == pytest.approx(33.33, abs=0.005)
    assert rel["nps_moe"] == pytest.approx(57.15, abs=0.005)  # effective base 4.8


def test_no_touchpoint_column_gives_an_empty_table() -> None:
    frame = side_frame().drop("touchpoint")
    assert touchpoints.side_by_side(frame, ES, Q2).is_empty()
    assert touchpoints.drag(frame, ES, Q2).is_empty()
    assert touchpoints.attribute_profile(frame, ES, Q2).is_empty()


# ---------------------------------------------------------------- attribute profile


def test_attribute_profile_is_the_weighted_mean_per_moment() -> None:
    rows = Rows()
    # Relational: 4, 6, 8, 9, 9 with weights 1, 1, 2, ½, ½ -> (4 + 6 + 16 + 4.5 + 4.5) / 5 = 7;
    # a missing rating, an excluded 0 and a French 0 do not count.
    for a, w in ((4, 1.0), (6, 1.0), (8, 2.0), (9, 0.5), (9, 0.5), (None, 1.0)):
        rows.add(None, 9, attr=a, weight=w)
    rows.add(None, 9, attr=0, excluded=True)
    rows.add(None, 9, attr=0, country="FR")
    rows.add("delivery", 9, attr=3, times=5)  # 5 ratings: shown
    rows.add("support", 9, attr=9, times=4)  # 4 ratings: no mean
    got = touchpoints.attribute_profile(rows.frame(), ES, Q2)
    assert got["moment"].to_list() == ["relational", "delivery", "support"]
    assert got["attribute_label"].unique().to_list() == ["Speed"]
    means = dict(zip(got["moment"], got["mean"], strict=True))
    counts = dict(zip(got["moment"], got["n"], strict=True))
    assert means["relational"] == pytest.approx(7.0) and counts["relational"] == 5
    assert means["delivery"] == pytest.approx(3.0) and counts["delivery"] == 5
    assert means["support"] is None and counts["support"] == 4
    assert got.filter(pl.col("moment") == "delivery")["low_base"].item() is True


# ---------------------------------------------------------------- pairs and drag


def test_a_pair_is_the_latest_relational_answer_and_the_latest_earlier_touchpoint_answer() -> None:
    rows = Rows()
    # c1: delivery 2 in Q1 then 9 in Q2 (day 5), relational 3 (day 10) then 7 (day 40): 9 with 7.
    rows.add("delivery", 2, wave="2026-Q1", customer="c1")
    rows.add("delivery", 9, day=5, customer="c1")
    rows.add(None, 3, day=10, customer="c1")
    rows.add(None, 7, day=40, customer="c1")
    # c2: the delivery answer comes after the relational one: no pair.
    rows.add(None, 8, day=10, customer="c2")
    rows.add("delivery", 1, day=20, customer="c2")
    # c3: the delivery answer is two waves before: no pair.
    rows.add("delivery", 1, wave="2025-Q4", customer="c3")
    rows.add(None, 8, customer="c3")
    # c4: an excluded delivery answer and a French one never pair.
    rows.add("delivery", 1, wave="2026-Q1", customer="c4", excluded=True)
    rows.add("delivery", 1, wave="2026-Q1", customer="c4", country="FR")
    rows.add(None, 8, customer="c4")
    # c5: a relational answer only in Q1 (not the wave): no pair.
    rows.add("support", 4, wave="2026-Q1", day=1, customer="c5")
    rows.add(None, 10, wave="2026-Q1", day=30, customer="c5")
    got = touchpoints.pairs(rows.frame(), ES, Q2).collect()
    assert got.select("customer_id", "touchpoint", "t_score", "nps").rows() == [
        ("c1", "delivery", 9, 7)
    ]


def drag_frame() -> pl.LazyFrame:
    """delivery: 32 pairs, (x, y) = (2, 2) × 12, (2, 8) × 4, (10, 10) × 12, (10, 4) × 4;
    store: 32 pairs whose relationship is always 10; support: 29 pairs; purchase: 4."""
    rows = Rows()
    for t, r, k in ((2, 2, 12), (2, 8, 4), (10, 10, 12), (10, 4, 4)):
        rows.pair("delivery", t, r, times=k)
    rows.pair("store", 2, 10, times=16).pair("store", 10, 10, times=16)
    rows.pair("support", 0, 0, times=15).pair("support", 10, 10, times=14)
    rows.pair("purchase", 0, 0, times=2).pair("purchase", 10, 10, times=2)
    return rows.frame()


def test_drag_correlation_and_gap_match_a_hand_computation() -> None:
    got = touchpoints.drag(drag_frame(), ES, Q2)
    d = got.filter(pl.col("touchpoint") == "delivery").row(0, named=True)
    assert d["pairs"] == 32 and d["label"] == "Delivery"
    # x: 2 or 10 (mean 6, variance 16); y: mean 6, variance 416 / 32 = 13;
    # cov = (12·16 − 4·8 + 12·16 − 4·8) / 32 = 10, so r = 10 / √(16 · 13).
    assert d["r"] == pytest.approx(10 / math.sqrt(208))
    # After a detractor delivery: 12 detractors, 4 passives of 16 -> −75; after a promoter one:
    # 12 promoters, 4 detractors of 16 -> +50; the drag is the gap: 125 points.
    assert d["detractors"] == 16 and d["detractor_nps"] == pytest.approx(-75.0)
    assert d["promoters"] == 16 and d["promoter_nps"] == pytest.approx(50.0)
    assert d["gap"] == pytest.approx(125.0)
    # Groups of 16 are low bases: never marked significant.
    assert d["significant"] is False
    assert d["window"] == "2026-Q1 – 2026-Q2" and d["wave"] == "2026-Q2"


def test_drag_ranks_by_gap_and_gives_no_figure_on_low_or_suppressed_bases() -> None:
    got = touchpoints.drag(drag_frame(), ES, Q2)
    assert got["touchpoint"].to_list() == ["delivery", "store", "purchase", "support"]
    assert got["rank"].to_list() == [1, 2, None, None]
    store = got.row(1, named=True)
    assert store["gap"] == pytest.approx(0.0) and store["r"] is None  # the relationship never moves
    support, purchase = got.row(3, named=True), got.row(2, named=True)
    assert support["pairs"] == 29 and support["low_base"] is True
    assert [support[c] for c in ("r", "detractor_nps", "promoter_nps", "gap")] == [None] * 4
    assert support["detractors"] == 15  # a low base still shows its counts
    assert purchase["pairs"] == 4 and purchase["suppressed"] is True
    assert [purchase[c] for c in ("r", "detractors", "promoters", "gap")] == [None] * 4
    notes = touchpoints.drag_table(got)["Note"].to_list()
    assert notes == [
        "indicative: a group under 30",
        "indicative: a group under 30",
        "hidden (n < 5)",
        "low base: no figure",
    ]


def test_drag_weights_are_the_relational_answers_weights() -> None:
    # One customer of weight 3 counts as three customers of weight 1 in r and in the NPS.
    heavy, light = Rows(), Rows()
    for rows, k, w in ((heavy, 1, 3.0), (light, 3, 1.0)):
        rows.pair("delivery", 2, 0, times=k, weight=w)
        rows.pair("delivery", 2, 8, times=10).pair("delivery", 10, 10, times=12)
        rows.pair("delivery", 10, 3, times=10)
    a = touchpoints.drag(heavy.frame(), ES, Q2).row(0, named=True)
    b = touchpoints.drag(light.frame(), ES, Q2).row(0, named=True)
    assert (a["pairs"], b["pairs"]) == (33, 35)
    for column in ("r", "detractor_nps", "promoter_nps", "gap"):
        assert a[column] == pytest.approx(b[column])
    assert b["detractor_nps"] == pytest.approx(-100 * 3 / 13)


def test_drag_hides_a_group_that_subtraction_would_reveal() -> None:
    # 30 pairs: 2 after a detractor delivery (under 5: hidden), 28 after a promoter one; the
    # wave has 30 relational answers, so the 28's NPS and the total would reveal the 2.
    rows = Rows().pair("delivery", 0, 0, times=2).pair("delivery", 10, 10, times=28)
    d = touchpoints.drag(rows.frame(), ES, Q2).row(0, named=True)
    assert d["pairs"] == 30 and d["r"] == pytest.approx(1.0)
    assert d["detractor_nps"] is None and d["promoter_nps"] is None and d["gap"] is None
    assert d["rank"] is None


def test_drag_in_a_country_scope_never_pairs_foreign_answers() -> None:
    rows = Rows().pair("delivery", 10, 10, times=30)
    for i in range(30):  # the same customers' French delivery detractors, and French pairs
        rows.add("delivery", 0, wave="2026-Q1", day=20, customer=f"p{2 * i:04d}", country="FR")
    rows.pair("delivery", 0, 0, times=40, country="FR")
    es = touchpoints.drag(rows.frame(), ES, Q2).row(0, named=True)
    assert es["pairs"] == 30 and es["detractors"] == 0 and es["promoters"] == 30
    world = touchpoints.drag(rows.frame(), WORLD, Q2).row(0, named=True)
    assert world["pairs"] == 70


def test_takeaway_names_the_touchpoint_that_drags_most() -> None:
    frame = drag_frame()
    text = touchpoints.takeaway(
        touchpoints.side_by_side(frame, ES, Q2), touchpoints.drag(frame, ES, Q2)
    )
    assert text.startswith("Relational NPS is ")
    assert "Delivery drags the relationship most" in text
    assert "−75.0, against 50.0" in text and "gap 125 points" in text and "32 customers" in text


def test_takeaway_without_enough_pairs_says_so() -> None:
    frame = Rows().pair("delivery", 0, 0, times=10).frame()
    text = touchpoints.takeaway(
        touchpoints.side_by_side(frame, ES, Q2), touchpoints.drag(frame, ES, Q2)
    )
    assert "Too few customers answered both" in text
    assert "drags the relationship most" not in text


# ---------------------------------------------------------------- charts


def chart_values(spec: dict) -> list[dict]:
    """Every data row of a layered chart spec (inline values of the top level and the layers)."""
    found = [spec.get("data", {}).get("values", [])]
    found += [layer.get("data", {}).get("values", []) for layer in spec.get("layer", [])]
    return [row for values in found for row in values]


def test_side_by_side_chart_sets_the_relationship_apart_and_drops_suppressed_cells() -> None:
    spec = tp_charts.touchpoint_nps_chart(touchpoints.side_by_side(side_frame(), ES, Q2)).to_dict()
    rows = chart_values(spec)
    assert {r["label"] for r in rows if "label" in r} == {
        "Relational",
        "Delivery",
        "Purchase",
        "Store",
    }  # support (4) and app (3) are suppressed: no chart point
    kinds = {r["label"]: r["kind"] for r in rows if "kind" in r}
    assert kinds == {
        "Relational": "Relationship",
        "Delivery": "Touchpoint",
        "Purchase": "Touchpoint",
        "Store": "Low base (n < 30)",
    }
    colour = spec["layer"][0]["encoding"]["color"]["scale"]
    assert (
        colour["range"][colour["domain"].index("Relationship")]
        != colour["range"][colour["domain"].index("Touchpoint")]
    )
    errors = spec["layer"][1]["encoding"]
    assert errors["x"]["field"] == "lo" and errors["x2"]["field"] == "hi"
    relational = next(r for r in rows if r.get("label") == "Relational")
    assert relational["text"] == "20.0 ± 14.4"
    assert [r["nps"] for r in spec["layer"][3]["data"]["values"]] == [pytest.approx(20.0)]


def test_drag_chart_shows_only_touchpoints_with_a_figure_in_rank_order() -> None:
    spec = tp_charts.drag_chart(touchpoints.drag(drag_frame(), ES, Q2)).to_dict()
    rows = chart_values(spec)
    assert {r["label"] for r in rows if "label" in r} == {"Delivery", "Store"}
    assert spec["layer"][1]["encoding"]["y"]["sort"] == [
        "Delivery  (32 customers)",
        "Store  (32 customers)",
    ]
    assert [r["text"] for r in spec["layer"][3]["data"]["values"]] == ["gap 125", "gap 0"]


def test_attribute_profile_chart_shows_only_the_count_of_a_hidden_cell() -> None:
    rows = Rows()
    rows.add(None, 9, attr=7, times=30).add("delivery", 9, attr=5, times=6)
    rows.add("support", 9, attr=2, times=4)
    spec = tp_charts.attribute_profile_chart(
        touchpoints.attribute_profile(rows.frame(), ES, Q2)
    ).to_dict()
    texts = {r["label"]: r["text"] for r in chart_values(spec)}
    assert texts == {"Relational": "7.0", "Delivery": "5.0", "Support": "n=4"}


# ---------------------------------------------------------------- the demo's story


def test_the_demo_tells_that_delivery_drags_the_relationship(responses: pl.LazyFrame) -> None:
    got = touchpoints.drag(responses, WORLD, Filters(wave="2026-Q3"))
    by = {r["touchpoint"]: r for r in got.iter_rows(named=True)}
    assert got["touchpoint"][0] == "delivery" and by["delivery"]["significant"] is True
    assert by["delivery"]["gap"] > 2.5 * max(by["purchase"]["gap"], by["support"]["gap"])
    assert by["delivery"]["r"] > 0.45 > 0.2 > max(by["purchase"]["r"], by["support"]["r"])
    assert by["delivery"]["detractor_nps"] < 0 < by["delivery"]["promoter_nps"]
