"""Complaint cases on SQLite and PostgreSQL: lifecycle, append-only trail, lost updates refused, scope."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import select

from cx import store
from cx.core.scope import Scope
from cx.core.users import User
from cx.demo import complaints
from cx.loop import cases
from cx.loop.cases import Case, CaseError, CaseEvent

T0 = datetime(2026, 9, 30, 9, 0, tzinfo=UTC)
MADRID = Scope.parse("agency:Madrid")
PARIS = Scope.parse("agency:Paris")
SPAIN = Scope.parse("country:ES")


def staff(scope: Scope, username: str, role: str = "teleoperator") -> User:
    """The acting user of a case action: front-line staff of ``scope``."""
    return User(username=username, name=username, email="", roles=(role,), scope=scope)


def response(
    rid: str, nps: int, agency: str = "Madrid", country: str = "ES", **extra: object
) -> dict[str, object]:
    return {
        "response_id": rid,
        "wave": "2026-Q3",
        "customer_id": f"C-{rid}",
        "region": "Europe",
        "country": country,
        "agency": agency,
        "nps": nps,
        "attr_cleanliness": 2,
        "attr_waiting_time": 5,
        "attr_price": 8,
        "comment": "Sucio. Llamadme al 612 345 678 o a ana@example.com",
        "language": "es",
        **extra,
    }


def open_one(engine: Engine, rid: str = "r1", nps: int = 3, **kw: object) -> Case:
    with store.session(engine) as s:
        case = cases.open_case(
            s, response=response(rid, nps, **kw), reason="nps < 6", actor="rules", now=T0
        )  # type: ignore[arg-type]
    assert case is not None
    return case


def test_open_case_is_idempotent_and_masks_the_comment(engine: Engine) -> None:
    case = open_one(engine)
    with store.session(engine) as s:
        again = cases.open_case(
            s, response=response("r1", 3), reason="nps < 6", actor="rules", now=T0
        )
    assert again is None
    assert case.comment is not None
    assert "612 345 678" not in case.comment and "ana@example.com" not in case.comment
    assert case.status == "new" and case.version == 1
    assert case.due_at == T0 + timedelta(hours=48) and case.close_due_at == T0 + timedelta(days=7)
    assert case.score_map == {"attr_cleanliness": 2, "attr_waiting_time": 5, "attr_price": 8}


def test_work_list_is_sorted_by_urgency_then_age(engine: Engine) -> None:
    with store.session(engine) as s:
        for rid, nps, minutes in (("a", 5, 0), ("b", 1, 10), ("c", 5, -10), ("d", 0, 20)):
            cases.open_case(
                s,
                response=response(rid, nps),
                reason="x",
                actor="rules",
                now=T0 + timedelta(minutes=minutes),
            )
    with store.session(engine) as s:
        got = [c.response_id for c in cases.list_cases(s, MADRID)]
    # nps 0 and 1 are high importance; among the two nps-5 cases the older one first
    assert got == ["d", "b", "c", "a"]


def test_full_lifecycle_to_closed_with_an_append_only_trail(engine: Engine) -> None:
    case = open_one(engine)
    actor = "madrid.teleop"
    with store.session(engine) as s:
        c = cases.log_call(
            s,
            staff(MADRID, actor),
            case.id,
            expected_version=1,
            outcome="no_answer",
            now=T0 + timedelta(hours=1),
        )
        assert (c.version, c.status, c.attempts, c.first_contact_at) == (2, "in_progress", 1, None)
        c = cases.schedule_callback(
            s,
            staff(MADRID, actor),
            case.id,
            expected_version=2,
            due_at=T0 + timedelta(hours=5),
            now=T0 + timedelta(hours=1),
        )
        assert c.status == "callback_scheduled"
    with store.session(engine) as s:
        due = cases.callbacks_due(s, SPAIN, T0 + timedelta(hours=6))
        assert due["state"].to_list() == ["overdue"]
        c = cases.log_call(
            s,
            staff(MADRID, actor),
            case.id,
            expected_version=3,
            outcome="reached",
            now=T0 + timedelta(hours=6),
        )
        assert c.first_contact_at == T0 + timedelta(hours=6) and c.attempts == 2
        assert cases.callbacks_due(s, SPAIN, T0 + timedelta(hours=7)).is_empty()
        c = cases.classify(
            s,
            staff(MADRID, actor),
            case.id,
            expected_version=4,
            importance="critical",
            topic="cleanliness",
            now=T0 + timedelta(hours=7),
        )
        assert c.urgency == cases.urgency("critical", 3)
        with pytest.raises(CaseError, match="no solution recorded"):
            cases.resolve(
                s,
                staff(MADRID, actor),
                case.id,
                expected_version=5,
            )
    with store.session(engine) as s:
        c = cases.record_solution(
            s,
            staff(MADRID, actor),
            case.id,
            expected_version=5,
            solution="Deep clean done; voucher sent",
            now=T0 + timedelta(hours=8),
        )
        with pytest.raises(CaseError, match="resolve it before closing"):
            cases.close(s, staff(MADRID, actor), case.id, expected_version=6, note="done")
    with store.session(engine) as s:
        c = cases.resolve(
            s, staff(MADRID, actor), case.id, expected_version=6, now=T0 + timedelta(days=1)
        )
        c = cases.close(
            s,
            staff(MADRID, actor),
            case.id,
            expected_version=7,
            note="Customer satisfied",
            now=T0 + timedelta(days=2),
        )
    assert (c.status, c.version, c.close_note, c.closed_at) == (
        "closed",
        8,
        "Customer satisfied",
        T0 + timedelta(days=2),
    )
    with store.session(engine) as s, pytest.raises(CaseError, match="closed"):
        cases.classify(
            s, staff(MADRID, actor), case.id, expected_version=8, importance="low", topic=None
        )
    with store.session(engine) as s:
        kinds = [e.kind for e in cases.case_events(s, MADRID, case.id)]
        trail = [
            a.action
            for a in reversed(store.audit_trail(s, MADRID, entity="case", entity_id=case.id))
        ]
    expected = [
        "opened",
        "call",
        "callback_scheduled",
        "call",
        "classified",
        "solution",
        "resolved",
        "closed",
    ]
    assert kinds == expected
    assert trail == [f"case.{k}" for k in expected]
    with pytest.raises(Exception, match="append-only"), store.session(engine) as s:
        s.execute(text("DELETE FROM auditlog"))


def test_second_of_two_concurrent_saves_is_refused_with_a_clear_message(engine: Engine) -> None:
    case = open_one(engine)
    # Both users opened the case at version 1.
    with store.session(engine) as s:
        cases.classify(
            s,
            staff(MADRID, "madrid.teleop"),
            case.id,
            expected_version=1,
            importance="high",
            topic="cleanliness",
        )
    with (
        pytest.raises(store.StaleEdit, match="changed by someone else"),
        store.session(engine) as s,
    ):
        cases.classify(
            s,
            staff(MADRID, "madrid.advisor"),
            case.id,
            expected_version=1,
            importance="low",
            topic="price",
        )
    with store.session(engine) as s:
        got = cases.get_case(s, MADRID, case.id)
        events = cases.case_events(s, MADRID, case.id)
    assert got is not None and (got.importance, got.topic, got.version) == (
        "high",
        "cleanliness",
        2,
    )
    assert [e.actor for e in events if e.kind == "classified"] == ["madrid.teleop"]


def test_racing_threads_save_exactly_once(engine: Engine) -> None:
    case = open_one(engine)
    results: list[str] = []
    barrier = threading.Barrier(4)

    def worker(i: int) -> None:
        barrier.wait()
        try:
            with store.session(engine) as s:
                cases.log_call(
                    s, staff(MADRID, f"user{i}"), case.id, expected_version=1, outcome="reached"
                )
            results.append("ok")
        except store.StaleEdit:
            results.append("stale")
        except Exception as exc:  # SQLite may report a lock instead; that is a refusal too
            results.append(f"refused:{exc.__class__.__name__}")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("ok") == 1
    with store.session(engine) as s:
        got = cases.get_case(s, MADRID, case.id)
        assert got is not None and got.attempts == 1 and got.version == 2
        assert len([e for e in s.exec(select(CaseEvent).where(CaseEvent.kind == "call"))]) == 1


def test_cases_outside_the_scope_are_invisible_and_untouchable(engine: Engine) -> None:
    madrid = open_one(engine, "m1", 2)
    paris = open_one(engine, "p1", 2, agency="Paris", country="FR")
    with store.session(engine) as s:
        assert [c.id for c in cases.list_cases(s, MADRID)] == [madrid.id]
        assert [c.id for c in cases.list_cases(s, SPAIN)] == [madrid.id]
        assert cases.list_cases(s, Scope()) == []
        assert len(cases.list_cases(s, Scope.world())) == 2
        assert cases.get_case(s, PARIS, madrid.id) is None
        assert cases.case_events(s, PARIS, madrid.id) == []
        with pytest.raises(CaseError, match="does not exist in your scope"):
            cases.log_call(
                s, staff(PARIS, "paris.manager"), madrid.id, expected_version=1, outcome="reached"
            )
        stats = cases.case_stats(s, PARIS, now=T0)
    assert stats["agency"].to_list() == ["Paris"] and paris.id is not None


def test_forward_only_to_a_user_who_sees_the_agency(engine: Engine) -> None:
    case = open_one(engine)
    with store.session(engine) as s:
        with pytest.raises(CaseError, match="cannot see cases of Madrid"):
            cases.forward(
                s, staff(MADRID, "madrid.teleop"), case.id, expected_version=1, to="paris.manager"
            )
        with pytest.raises(CaseError, match="unknown user"):
            cases.forward(
                s, staff(MADRID, "madrid.teleop"), case.id, expected_version=1, to="nobody"
            )
        c = cases.forward(
            s, staff(MADRID, "madrid.teleop"), case.id, expected_version=1, to="madrid.advisor"
        )
    assert c.assignee == "madrid.advisor"
    with store.session(engine) as s:
        assert [x.id for x in cases.list_cases(s, MADRID, assignee="madrid.advisor")] == [case.id]


def test_call_and_case_stats_by_agency_and_advisor(engine: Engine) -> None:
    a = open_one(engine, "a", 1)
    b = open_one(engine, "b", 4)
    c = open_one(engine, "c", 5, agency="Barcelona")
    with store.session(engine) as s:
        cases.log_call(
            s,
            staff(SPAIN, "t1"),
            a.id,
            expected_version=1,
            outcome="no_answer",
            now=T0 + timedelta(hours=1),
        )
        cases.log_call(
            s,
            staff(SPAIN, "t1"),
            a.id,
            expected_version=2,
            outcome="reached",
            now=T0 + timedelta(hours=10),
        )
        cases.record_solution(s, staff(SPAIN, "t1"), a.id, expected_version=3, solution="refund")
        cases.resolve(s, staff(SPAIN, "t1"), a.id, expected_version=4, now=T0 + timedelta(hours=20))
        cases.close(
            s,
            staff(SPAIN, "t1"),
            a.id,
            expected_version=5,
            note="ok",
            now=T0 + timedelta(hours=30),
        )
        cases.log_call(
            s,
            staff(SPAIN, "t2"),
            b.id,
            expected_version=1,
            outcome="voicemail",
            now=T0 + timedelta(hours=2),
        )
        cases.schedule_callback(
            s, staff(SPAIN, "t2"), b.id, expected_version=2, due_at=T0 + timedelta(hours=3)
        )
        cases.schedule_callback(
            s,
            staff(SPAIN, "t3"),
            c.id,
            expected_version=1,
            due_at=T0 + timedelta(days=3, hours=10),
        )
    now = T0 + timedelta(days=3)  # b and c are past their 48 h first-contact deadline
    with store.session(engine) as s:
        by_agency = cases.case_stats(s, SPAIN, now=now)
        by_advisor = cases.case_stats(s, SPAIN, by="advisor", now=now)
        calls = cases.call_stats(s, SPAIN, now=now)
        calls_adv = cases.call_stats(s, SPAIN, by="advisor", now=now)
    assert by_agency.select("agency", "cases", "open", "closed", "sla_breaches").rows() == [
        ("Barcelona", 1, 1, 0, 1),
        ("Madrid", 2, 1, 1, 1),
    ]
    madrid = by_agency.row(1, named=True)
    assert madrid["hours_to_first_contact"] == pytest.approx(10.0)
    assert madrid["hours_to_close"] == pytest.approx(30.0)
    assert by_advisor.select("agency", "advisor", "cases").rows() == [
        ("Barcelona", "t3", 1),
        ("Madrid", "t1", 1),
        ("Madrid", "t2", 1),
    ]
    assert calls.select(
        "agency", "attempts", "reached", "callbacks_due", "callbacks_overdue"
    ).rows() == [("Barcelona", 0, 0, 1, 0), ("Madrid", 3, 1, 0, 1)]
    assert calls.filter(pl.col("agency") == "Madrid")["reach_rate"].item() == pytest.approx(100 / 3)
    assert calls_adv.select("advisor", "attempts", "reached").rows() == [
        ("t3", 0, 0),
        ("t1", 2, 1),
        ("t2", 1, 0),
    ]


def test_call_script_speaks_the_customer_language_and_uses_the_response(engine: Engine) -> None:
    case = open_one(engine, "s1", 2)
    script = cases.call_script(case, agent="Elena")
    assert "Guion de llamada" in script and f"n.º {case.id}" in script
    assert "C-s1" in script and "2/10" in script
    assert "Limpieza 2/10" in script and "Precio" not in script  # only low scores are asked about
    assert "Cleanliness" not in script  # the attribute's name in the customer's language
    assert "ana@example.com" not in script
    english = Case(
        id=9,
        response_id="x",
        customer_id="C9",
        language=None,
        nps=4,
        scores='{"attr_price": 3}',
        agency="Paris",
    )
    assert "Call script" in cases.call_script(english) and "Price" in cases.call_script(english)


def test_seed_demo_cases_opens_latest_wave_detractors_once(engine: Engine) -> None:
    frame = pl.DataFrame(
        {
            "response_id": ["1", "2", "3", "4", "5"],
            "wave": ["2026-Q2", "2026-Q3", "2026-Q3", "2026-Q3", "2026-Q3"],
            "customer_id": ["c1", "c2", "c3", "c4", "c5"],
            "region": ["Europe"] * 5,
            "country": ["ES", "ES", "ES", "FR", "ES"],
            "agency": ["Madrid", "Madrid", "Madrid", "Paris", "Barcelona"],
            "nps": [0, 3, 9, 6, 0],
        }
    ).lazy()
    assert complaints.seed_demo_cases(engine, frame, now=T0) == 2
    assert complaints.seed_demo_cases(engine, frame, now=T0) == 0
    with store.session(engine) as s:
        assert sorted(c.response_id for c in cases.list_cases(s, Scope.world())) == ["2", "4"]


def test_case_charts_stack_states_and_label_reach_rates() -> None:
    from cx import charts

    stats = pl.DataFrame(
        {
            "agency": ["Madrid", "Paris"],
            "cases": [3, 2],
            "open": [1, 2],
            "resolved": [0, 0],
            "closed": [2, 0],
        }
    )
    spec = charts.case_status_chart(stats).to_dict()
    values = (
        spec["data"]["values"]
        if "values" in spec.get("data", {})
        else next(iter(spec["datasets"].values()))
    )
    assert sorted((v["agency"], v["state"], v["cases"]) for v in values) == [
        ("Madrid", "closed", 2),
        ("Madrid", "open", 1),
        ("Paris", "open", 2),
    ]
    assert spec["encoding"]["y"]["sort"] == ["Paris", "Madrid"]  # most open cases first
    calls = pl.DataFrame(
        {
            "advisor": ["t1", "t2", "t3"],
            "attempts": [4, 0, 2],
            "reached": [1, 0, 2],
            "reach_rate": [25.0, None, 100.0],
        }
    )
    layer = charts.reach_rate_chart(calls).to_dict()
    rows = (
        layer["data"]["values"]
        if "values" in layer.get("data", {})
        else next(iter(layer["datasets"].values()))
    )
    assert [(r["advisor"], r["text"]) for r in rows] == [("t3", "100% of 2"), ("t1", "25% of 4")]


def test_dashboard_totals_and_takeaway(engine: Engine) -> None:
    a = open_one(engine, "a", 1)
    open_one(engine, "b", 4)
    with store.session(engine) as s:
        cases.log_call(
            s,
            staff(MADRID, "t1"),
            a.id,
            expected_version=1,
            outcome="reached",
            now=T0 + timedelta(hours=3),
        )
        board = cases.dashboard(s, MADRID, now=T0 + timedelta(hours=4))
    assert board["totals"]["open"] == 2 and board["totals"][
        "hours_to_first_contact"
    ] == pytest.approx(3.0)
    assert (
        board["takeaway"]
        == "2 of 2 cases open, 0 closed, 0 SLA breaches; 100 % of 1 call reached the customer."
    )
    assert board["by_advisor"].select("advisor", "cases", "attempts").rows() == [
        ("t1", 1, 1),
        ("unassigned", 1, 0),
    ]
