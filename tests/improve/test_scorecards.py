"""Front-staff scorecards: hand-computed figures per advisor and period, who sees whose, suppression,
no ranking on low bases, and the feed and case figures from a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from sqlalchemy.engine import Engine

from cx import store
from cx.core.filters import Filters
from cx.core.scope import Scope
from cx.core.users import User
from cx.improve import scorecards
from cx.improve.scorecards import ScorecardForbidden
from cx.store.models import Case, RatingComment

MAD = {"region": "Europe", "country": "ES", "agency": "Madrid"}
PAR = {"region": "Europe", "country": "FR", "agency": "Paris"}


def user(name: str, role: str, scope: str) -> User:
    return User(name, name, "", (role,), Scope.parse(scope))


ADVISOR = user("madrid.advisor", "advisor", "agency:Madrid,advisor:A1")
PEER = user("madrid.advisor2", "advisor", "agency:Madrid,advisor:A2")
NO_ID = user("new.advisor", "advisor", "agency:Madrid")
MANAGER = user("madrid.manager", "agency_manager", "agency:Madrid")
COUNTRY = user("es.manager", "country_manager", "country:ES")
CEO = user("ceo", "ceo", "world")


def _rows(advisor: str, geo: dict[str, str], when: datetime, scores: list[int]) -> list[dict]:
    return [
        {
            "response_id": f"{advisor}-{when:%m}-{i}",
            "responded_at": when + timedelta(hours=i),
            "advisor_id": advisor,
            "nps": s,
            "excluded": False,
            **geo,
        }
        for i, s in enumerate(scores)
    ]


Q1, Q2 = datetime(2026, 2, 10, tzinfo=UTC), datetime(2026, 5, 10, tzinfo=UTC)
A1_Q1 = [10, 10, 10, 9, 8, 7, 6, 5, 0, 3]  # 4 promoters, 2 passives, 4 detractors: NPS 0
A1_Q2 = [10, 10, 10, 10, 9, 0]  # 5 promoters, 1 detractor: NPS 66.67


def frame() -> pl.LazyFrame:
    rows = (
        _rows("A1", MAD, Q1, A1_Q1)
        + _rows("A1", MAD, Q2, A1_Q2)
        + _rows("A2", MAD, Q1, [0, 0, 10])  # 3 answers: suppressed
        + _rows("B1", PAR, Q1, [10] * 8)
    )
    rows.append({**rows[0], "response_id": "A1-excluded", "nps": 0, "excluded": True})
    rows.append({**rows[0], "response_id": "no-advisor", "advisor_id": None, "nps": 0})
    return pl.LazyFrame(rows).with_columns(
        pl.col("responded_at").dt.replace_time_zone(None),
        weight=pl.lit(1.0),
        wave=pl.col("responded_at").dt.year().cast(pl.String),
    )


def seed_store(engine: Engine) -> None:
    """Two of A1's four Q1 negatives commented; A1's Q1 cases: one closed in 3 days, one in 10,
    one open; a Paris comment and case that no Madrid figure may count."""
    with store.session(engine) as s:
        for rid in ("A1-02-6", "A1-02-8", "B1-02-0"):
            geo = PAR if rid.startswith("B1") else MAD
            s.add(RatingComment(response_id=rid, rated_at=Q1, author="x", text="called", **geo))
        opened = Q1 + timedelta(days=1)
        for i, closed in enumerate((opened + timedelta(days=3), opened + timedelta(days=10), None)):
            s.add(
                Case(
                    response_id=f"case-{i}",
                    advisor_id="A1",
                    created_at=opened,
                    closed_at=closed,
                    status="closed" if closed else "new",
                    **MAD,
                )
            )
        s.add(Case(response_id="case-paris", advisor_id="B1", created_at=opened, **PAR))
        s.commit()


def test_an_advisor_scorecard_has_hand_computed_nps_margin_change_comments_and_sla(
    engine: Engine,
) -> None:
    """A1 in 2026-Q1: n = 10 (the excluded answer out), NPS = 100 × (4 − 4) / 10 = 0.
    Adjusted-Wald: n′ = 13, p′ = d′ = 4.75 / 13 = 0.36538; MoE = 196 × sqrt(0.73077 / 13) = 46.47.
    2026-Q2: n = 6, NPS = 100 × (5 − 1) / 6 = 66.67; n′ = 9, p′ = 5.75 / 9 = 0.63889,
    d′ = 1.75 / 9 = 0.19444, MoE = 196 × sqrt((0.83333 − 0.44444²) / 9) = 52.09; change +66.67,
    z = 66.67 / sqrt(23.71² + 26.58²) = 1.87: not significant. Negatives commented 2 of 4;
    cases 3, closed within 7 days 1."""
    seed_store(engine)
    with store.session(engine) as s:
        df = scorecards.scorecards(frame(), ADVISOR, Filters(), s, period="quarter")
    assert df["advisor_id"].unique().to_list() == ["A1"]
    q1 = df.filter(pl.col("period") == "2026-Q1").row(0, named=True)
    q2 = df.filter(pl.col("period") == "2026-Q2").row(0, named=True)
    assert (q1["n"], q1["nps"], q1["negatives"]) == (10, 0.0, 4)
    assert q1["nps_moe"] == pytest.approx(46.47, abs=0.01)
    assert (q1["negatives_commented"], q1["commented_share"]) == (2, 0.5)
    assert (q1["cases"], q1["within_sla"]) == (3, 1)
    assert q1["sla_share"] == pytest.approx(1 / 3)
    assert q1["low_base"] and q1["rank"] is None and q1["prev_nps"] is None
    assert q2["nps"] == pytest.approx(66.667, abs=0.001)
    assert q2["nps_moe"] == pytest.approx(52.09, abs=0.01)
    assert q2["change"] == pytest.approx(66.667, abs=0.001)
    assert q2["significant"] is False
    assert q2["commented_share"] == 0.0 and q2["cases"] == 0  # its one negative not commented
    assert df["period"].to_list() == ["2026-Q2", "2026-Q1"]


def test_monthly_periods_split_the_answers_by_calendar_month(sqlite_engine: Engine) -> None:
    with store.session(sqlite_engine) as s:
        df = scorecards.scorecards(frame(), ADVISOR, Filters(), s, period="month")
    assert dict(zip(df["period"], df["n"], strict=True)) == {"2026-05": 6, "2026-02": 10}


def test_an_advisor_never_sees_another_advisors_scorecard(sqlite_engine: Engine) -> None:
    with store.session(sqlite_engine) as s:
        own = scorecards.scorecards(frame(), ADVISOR, Filters(), s)
        peer = scorecards.scorecards(frame(), PEER, Filters(), s)
    assert set(own["advisor_id"]) == {"A1"}
    assert set(peer["advisor_id"]) == {"A2"}


def test_a_cell_under_five_answers_shows_its_count_only(sqlite_engine: Engine) -> None:
    with store.session(sqlite_engine) as s:
        row = scorecards.scorecards(frame(), PEER, Filters(), s).row(0, named=True)
    assert row["n"] == 3 and row["suppressed"]
    assert all(row[c] is None for c in ("nps", "nps_moe", "negatives", "change", "rank"))


def test_the_agency_manager_sees_the_agency_advisors_and_no_other_agency(
    sqlite_engine: Engine,
) -> None:
    with store.session(sqlite_engine) as s:
        df = scorecards.scorecards(frame(), MANAGER, Filters(), s)
    assert set(df["advisor_id"]) == {"A1", "A2"}
    assert set(df["agency"]) == {"Madrid"}


@pytest.mark.parametrize("who", [COUNTRY, CEO, NO_ID], ids=["country", "ceo", "advisor-no-id"])
def test_nobody_but_the_advisor_and_their_agency_manager_gets_a_scorecard(
    sqlite_engine: Engine, who: User
) -> None:
    with store.session(sqlite_engine) as s, pytest.raises(ScorecardForbidden):
        scorecards.scorecards(frame(), who, Filters(), s)


def test_advisors_are_ranked_only_with_thirty_answers_or_more(sqlite_engine: Engine) -> None:
    """A1: 40 answers, 30 promoters and 10 detractors (NPS 50); A3: 30 answers, all promoters
    (NPS 100); A2: 29 answers, all promoters (NPS 100 but a low base: never ranked)."""
    when = datetime(2026, 8, 1, tzinfo=UTC)
    rows = (
        _rows("A1", MAD, when, [10] * 30 + [0] * 10)
        + _rows("A3", MAD, when, [10] * 30)
        + _rows("A2", MAD, when, [10] * 29)
    )
    lf = pl.LazyFrame(rows).with_columns(
        pl.col("responded_at").dt.replace_time_zone(None), weight=pl.lit(1.0)
    )
    with store.session(sqlite_engine) as s:
        df = scorecards.scorecards(lf, MANAGER, Filters(), s)
        own = scorecards.scorecards(lf, ADVISOR, Filters(), s)
    ranks = dict(zip(df["advisor_id"], df["rank"], strict=True))
    assert ranks == {"A3": 1, "A1": 2, "A2": None}
    assert own["rank"].to_list() == [None]  # an advisor is never ranked against peers
    text = scorecards.takeaway(df, "2026-Q3", own=False)
    assert "2 advisors with 30+ answers" in text and "+50.0 (A1)" in text


def test_the_wave_filter_does_not_hide_periods_but_a_channel_filter_applies(
    sqlite_engine: Engine,
) -> None:
    lf = frame().with_columns(
        channel=pl.when(pl.col("nps") >= 9).then(pl.lit("qr")).otherwise(pl.lit("email"))
    )
    with store.session(sqlite_engine) as s:
        df = scorecards.scorecards(lf, ADVISOR, Filters(wave="2026", channels=("qr",)), s)
    assert dict(zip(df["period"], df["n"], strict=True)) == {"2026-Q2": 5, "2026-Q1": 4}
    assert df["nps"].to_list() == [100.0, None]  # Q1: 4 answers, suppressed
