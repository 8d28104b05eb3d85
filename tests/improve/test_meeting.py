"""Review-meeting screens and agendas: last week's figures by hand, suppression, agendas per scope,
every screen computed inside the scope, the compare-to switch and action-plan results."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from cx import store
from cx.core import data, metrics
from cx.core.filters import Filters
from cx.core.scope import Scope
from cx.core.users import User
from cx.improve import meeting, plans


def _week_frame() -> pl.LazyFrame:
    """Madrid: 14-20 Mar 2026 (last 7 days): 20x10, 10x8, 10x3 -> NPS 25;
    7-13 Mar: 10x10, 10x8, 20x3 -> NPS -25; 1 Mar: 40x0 (older, ignored). Paris: 20 Mar, 10x0."""
    rows: list[tuple[date, str, int]] = []
    for i in range(40):
        rows.append((date(2026, 3, 14 + i % 7), "Madrid", 10 if i < 20 else 8 if i < 30 else 3))
        rows.append((date(2026, 3, 7 + i % 7), "Madrid", 10 if i < 10 else 8 if i < 20 else 3))
        rows.append((date(2026, 3, 1), "Madrid", 0))
    rows += [(date(2026, 3, 20), "Paris", 0)] * 10
    return pl.LazyFrame(
        {
            "responded_at": [datetime(d.year, d.month, d.day, 12) for d, _, _ in rows],
            "wave": ["2026-Q1"] * len(rows),
            "agency": [a for _, a, _ in rows],
            "country": ["ES" if a == "Madrid" else "FR" for _, a, _ in rows],
            "region": ["Europe"] * len(rows),
            "nps": [n for _, _, n in rows],
            "weight": [1.0] * len(rows),
        }
    )


def test_last_week_compares_the_last_7_days_of_data_with_the_7_before() -> None:
    row = meeting.last_week(
        _week_frame(), Scope.parse("agency:Madrid"), Filters(wave="2025-Q4")
    ).row(0, named=True)
    assert (row["first_day"], row["last_day"]) == (date(2026, 3, 14), date(2026, 3, 20))
    assert (row["n"], row["promoters"], row["detractors"], row["prev_n"]) == (40, 20, 10, 40)
    assert row["nps"] == pytest.approx(25.0) and row["prev_nps"] == pytest.approx(-25.0)
    assert row["nps_moe"] == pytest.approx(metrics.moe_scalar(0.5, 0.25, 40))
    assert row["change"] == pytest.approx(50.0)
    z = metrics.z_scalar(25.0, row["nps_moe"], -25.0, row["prev_nps_moe"])
    assert row["significant"] is (z > 1.96) and z > 1.96


def test_last_week_hides_scores_under_five_answers_and_never_calls_a_low_base_significant() -> None:
    days = [datetime(2026, 3, 20, 9)] * 3 + [
        datetime(2026, 3, 10, 9)
    ] * 40  # 3 answers last week, 40 before
    small = pl.LazyFrame(
        {
            "responded_at": days,
            "wave": ["2026-Q1"] * 43,
            "agency": ["Madrid"] * 43,
            "country": ["ES"] * 43,
            "region": ["Europe"] * 43,
            "nps": [10] * 43,
            "weight": [1.0] * 43,
        }
    )
    row = meeting.last_week(small, Scope.parse("agency:Madrid"), Filters()).row(0, named=True)
    assert (row["n"], row["prev_n"], row["prev_nps"]) == (3, 40, 100.0)
    assert (
        row["nps"] is None
        and row["promoters"] is None
        and row["change"] is None
        and row["significant"] is False
    )
    paris = meeting.last_week(_week_frame(), Scope.parse("agency:Paris"), Filters()).row(
        0, named=True
    )
    assert (paris["n"], paris["nps"], paris["significant"]) == (10, -100.0, False)
    daily = meeting.last_week_daily(small, Scope.parse("agency:Madrid"), Filters())
    assert daily["promoters"].null_count() == daily.height and daily["hidden"].sum() == row["n"]


def test_daily_split_is_shown_for_days_with_five_answers_or_more() -> None:
    daily = meeting.last_week_daily(_week_frame(), Scope.parse("agency:Madrid"), Filters())
    assert daily["day"].to_list() == [date(2026, 3, d) for d in range(14, 21)]
    assert (
        daily["n"].sum() == 40
        and daily["promoters"].sum() == 20
        and daily["hidden"].null_count() == 7
    )


ES = User("es.manager", "ES", "es@x", ("country_manager",), Scope.parse("country:ES"))
FR = User("fr.manager", "FR", "fr@x", ("country_manager",), Scope.parse("country:FR"))
ADVISOR = User("madrid.advisor", "A", "a@x", ("advisor",), Scope.parse("agency:Madrid"))


def test_agendas_are_stored_per_scope_validated_and_audited(engine: Engine) -> None:
    with store.session(engine) as s:
        assert meeting.agenda(s, ES.scope, "weekly") == meeting.built_in("weekly")
        meeting.save_agenda(
            s, user=ES, kind="quarterly", screens=["plan_results", "nps", "plan_results"]
        )
    with store.session(engine) as s:
        assert meeting.agenda(s, ES.scope, "quarterly") == ["plan_results", "nps"]
        assert meeting.agenda(s, FR.scope, "quarterly") == meeting.built_in("quarterly")
        trail = s.exec(select(store.AuditLog).where(store.AuditLog.entity == "agenda")).one()
        assert (trail.actor, trail.entity_id) == ("es.manager", "country:ES:quarterly")
    for user, kind, screens, message in (
        (ES, "weekly", ["slideshow"], "unknown screen"),
        (ES, "monthly", ["nps"], "unknown agenda"),
        (ES, "weekly", [], "at least one"),
        (ADVISOR, "weekly", ["nps"], "managers only"),
    ):
        with pytest.raises(meeting.AgendaError, match=message), store.session(engine) as s:
            meeting.save_agenda(s, user=user, kind=kind, screens=screens)


def test_built_in_agendas_list_only_screens_that_exist() -> None:
    weekly, quarterly = meeting.built_in("weekly"), meeting.built_in("quarterly")
    assert weekly[0] == "last_week" and weekly[-1] == "plans_due"
    assert quarterly[:2] == ["nps", "evolution"] and quarterly[-1] == "plan_results"
    assert ("themes" in quarterly) is (
        "themes" in meeting.available()
    )  # only with cx.voice.verbatims installed
    assert set(weekly + quarterly) <= set(meeting.available())


@pytest.fixture(scope="module")
def demo(demo_root: Path) -> pl.LazyFrame:
    return data.scan_responses(demo_root)


def test_every_screen_renders_for_a_country_without_naming_other_countries(
    demo: pl.LazyFrame, sqlite_engine: Engine
) -> None:
    ctx = meeting.MeetingContext(demo, ES.scope, Filters(), engine=sqlite_engine)
    for screen in meeting.available():
        slide = meeting.build(screen, ctx)
        text = " ".join(
            [
                slide.title,
                slide.takeaway,
                *(f"{f.label} {f.value} {f.note}" for f in slide.figures),
                str(slide.chart.to_dict()) if slide.chart is not None else "",
                slide.table.write_csv() if slide.table is not None else "",
            ]
        )
        assert slide.takeaway, screen
        for foreign in ("Paris", "Lyon", "Marseille", "London", "Moscow", "Buenos Aires"):
            assert foreign not in text, (screen, foreign)


def test_compare_switch_picks_the_previous_wave_or_the_same_wave_last_year(
    demo: pl.LazyFrame,
) -> None:
    previous = meeting.MeetingContext(demo, ES.scope, Filters(wave="2026-Q3"))
    last_year = meeting.MeetingContext(demo, ES.scope, Filters(wave="2026-Q3"), compare="last_year")
    assert (previous.compare_wave, last_year.compare_wave) == ("2026-Q2", "2025-Q3")
    assert meeting.build("nps", last_year).figures[1].label == "vs 2025-Q3"
    first = meeting.MeetingContext(demo, ES.scope, Filters(wave="2024-Q4"), compare="last_year")
    assert first.compare_wave is None and meeting.build("nps", first).figures[1].value == "–"


def test_plan_results_show_each_approved_plans_before_and_after(
    demo: pl.LazyFrame, sqlite_engine: Engine
) -> None:
    madrid = User("madrid.manager", "M", "m@x", ("agency_manager",), Scope.parse("agency:Madrid"))
    with store.session(sqlite_engine) as s:
        plan = plans.create_plan(
            s,
            user=madrid,
            title="Clean Madrid",
            owner="madrid.manager",
            region="Europe",
            country="ES",
            agency="Madrid",
            target_attribute="attr_cleanliness",
            target_value=7.5,
            now=datetime(2026, 1, 10, tzinfo=UTC),
        )
        plans.create_plan(
            s,
            user=madrid,
            title="Not approved",
            owner="madrid.manager",
            region="Europe",
            country="ES",
            agency="Madrid",
            target_attribute="nps",
            target_value=20.0,
        )
        plans.approve_plan(s, plan.id, user=ES, expected_version=1)  # type: ignore[arg-type]
    ctx = meeting.MeetingContext(
        demo, ES.scope, Filters(), engine=sqlite_engine, now=datetime(2026, 11, 25, tzinfo=UTC)
    )
    table = meeting.plan_results(ctx)
    effect = plans.plan_effect(demo, plan)
    assert table["Plan"].to_list() == ["Clean Madrid"]
    row = table.row(0, named=True)
    assert row["Before"] == pytest.approx(effect.filter(pl.col("wave") == "2025-Q4")["value"][0])
    assert row["Latest"] == pytest.approx(effect.filter(pl.col("wave") == "2026-Q3")["value"][0])
    assert row["Change"] == pytest.approx(row["Latest"] - row["Before"])
    assert row["Target met"] is (row["Latest"] >= 7.5)
    assert meeting.build("plan_results", ctx).takeaway.startswith(
        "0 of 1 approved plan with a target has reached it"
    )
    with store.session(sqlite_engine) as s:
        plans.update_plan(s, plan.id, user=madrid, expected_version=2, due_date=date(2026, 11, 20))  # type: ignore[arg-type]
    due = meeting.build("plans_due", ctx)
    assert (
        "1 late" in due.takeaway and "“Clean Madrid” (agency:Madrid, 5 days late)" in due.takeaway
    )
    assert due.table is not None and due.table.select("Plan", "Late").rows() == [
        ("Clean Madrid", "late")
    ]


def test_daily_chart_shows_a_hidden_day_only_as_a_grey_count() -> None:
    from cx import charts

    daily = pl.DataFrame(
        {
            "day": [date(2026, 3, 19), date(2026, 3, 20)],
            "n": [3, 10],
            "promoters": [None, 5],
            "passives": [None, 3],
            "detractors": [None, 2],
            "hidden": [3, None],
        }
    )
    spec = charts.daily_responses_chart(daily).to_dict()
    rows = (
        spec["data"]["values"]
        if "values" in spec.get("data", {})
        else next(iter(spec["datasets"].values()))
    )
    assert sorted((r["day"], r["group"], r["responses"]) for r in rows) == [
        ("2026-03-19", "Hidden (n < 5)", 3),
        ("2026-03-20", "Detractors", 2),
        ("2026-03-20", "Passives", 3),
        ("2026-03-20", "Promoters", 5),
    ]
