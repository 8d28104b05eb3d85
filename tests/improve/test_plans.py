"""Action plans on SQLite and PostgreSQL: lifecycle, visibility per role, approval, lost updates, audit,
tracker, digests, and the before/after of a plan's target metric."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest
import yaml
from sqlalchemy.engine import Engine
from sqlmodel import select

from cx import store
from cx.core.scope import Scope
from cx.core.users import User
from cx.improve import plans

MADRID = {"region": "Europe", "country": "ES", "agency": "Madrid"}
PARIS = {"region": "Europe", "country": "FR", "agency": "Paris"}
SPAIN = {"region": "Europe", "country": "ES", "agency": None}


def user(name: str, role: str, scope: str) -> User:
    return User(name, name, f"{name}@example.test", (role,), Scope.parse(scope))


CEO = user("ceo", "ceo", "world")
ES = user("es.manager", "country_manager", "country:ES")
FR = user("fr.manager", "country_manager", "country:FR")
MAD = user("madrid.manager", "agency_manager", "agency:Madrid")
PAR = user("paris.manager", "agency_manager", "agency:Paris")
ADVISOR = user("madrid.advisor", "advisor", "agency:Madrid")


def make(
    engine: Engine,
    who: User,
    geo: dict[str, str | None],
    title: str = "Cleaner waiting room",
    **kw: object,
) -> plans.Plan:
    with store.session(engine) as s:
        return plans.create_plan(
            s, user=who, title=title, owner=kw.pop("owner", who.username), **geo, **kw
        )  # type: ignore[arg-type]


def test_plan_lifecycle_from_proposal_to_done_is_audited_step_by_step(engine: Engine) -> None:
    plan = make(
        engine,
        MAD,
        MADRID,
        problem_kind="improvement_area",
        problem_ref="attr_cleanliness",
        target_attribute="attr_cleanliness",
        target_value=7.5,
        target_wave="2026-Q3",
        due_date=date(2026, 12, 1),
    )
    assert (plan.version, plan.status, plan.approval) == (1, "planned", "proposed")
    with store.session(engine) as s:
        plan = plans.approve_plan(s, plan.id, user=ES, expected_version=1)  # type: ignore[arg-type]
    assert (plan.approval, plan.approved_by, plan.version) == ("approved", "es.manager", 2)
    with store.session(engine) as s:
        plan = plans.update_plan(
            s, plan.id, user=MAD, expected_version=2, status="in_progress", progress=40
        )  # type: ignore[arg-type]
        task = plans.add_task(
            s,
            plan.id,
            user=MAD,
            title="Hire a second cleaner",
            owner="madrid.advisor",
            due_date=date(2026, 11, 30),
        )  # type: ignore[arg-type]
    with store.session(engine) as s:
        task = plans.complete_task(s, task.id, user=MAD, expected_version=1)  # type: ignore[arg-type]
        plans.add_comment(s, plan.id, user=ES, text="Good progress <b>Madrid</b>")  # type: ignore[arg-type]
        plan = plans.update_plan(s, plan.id, user=MAD, expected_version=3, status="done")  # type: ignore[arg-type]
    assert (plan.status, plan.progress, plan.version, task.done, task.version) == (
        "done",
        100,
        4,
        True,
        2,
    )
    with store.session(engine) as s:
        trail = plans.history(s, plan.id, CEO.scope)  # type: ignore[arg-type]
        comments = plans.list_comments(s, plan.id, ES.scope)  # type: ignore[arg-type]
    assert [a.action for a in reversed(trail)] == [
        "create",
        "approve",
        "update",
        "add_task",
        "complete_task",
        "comment",
        "update",
    ]
    assert {a.actor for a in trail} == {"madrid.manager", "es.manager"}
    assert all(a.agency == "Madrid" for a in trail)
    assert '"to": "done"' in trail[0].detail and '"from": "in_progress"' in trail[0].detail
    assert [c.text for c in comments] == ["Good progress <b>Madrid</b>"]


def test_each_role_sees_only_the_plans_of_its_scope(engine: Engine) -> None:
    mad = make(engine, MAD, MADRID, "Madrid plan")
    make(engine, ES, SPAIN, "Spain plan")
    par = make(engine, PAR, PARIS, "Paris plan")
    make(engine, CEO, {"region": None, "country": None, "agency": None}, "World plan")
    with store.session(engine) as s:
        seen = {
            who.username: sorted(p.title for p in plans.list_plans(s, who.scope))
            for who in (CEO, ES, FR, MAD, PAR)
        }
        assert plans.list_plans(s, Scope()) == []
        with pytest.raises(plans.PlanNotFound):
            plans.get_plan(s, mad.id, FR.scope)  # type: ignore[arg-type]
        with pytest.raises(plans.PlanNotFound):
            plans.add_comment(s, par.id, user=MAD, text="peek")  # type: ignore[arg-type]
    assert seen == {
        "ceo": ["Madrid plan", "Paris plan", "Spain plan", "World plan"],
        "es.manager": ["Madrid plan", "Spain plan"],
        "fr.manager": ["Paris plan"],
        "madrid.manager": ["Madrid plan"],
        "paris.manager": ["Paris plan"],
    }


def test_a_plan_can_only_be_proposed_inside_the_proposers_scope(engine: Engine) -> None:
    for who, geo in (
        (MAD, SPAIN),
        (MAD, PARIS),
        (ES, PARIS),
        (ES, {"region": None, "country": None, "agency": None}),
    ):
        with (
            pytest.raises(plans.PlanForbidden, match="outside their scope"),
            store.session(engine) as s,
        ):
            plans.create_plan(s, user=who, title="x", owner=who.username, **geo)  # type: ignore[arg-type]
    advisor_plan = make(engine, ADVISOR, MADRID, "Advisor idea")
    with store.session(engine) as s:
        assert [p.title for p in plans.list_plans(s, CEO.scope)] == ["Advisor idea"]
        assert s.exec(select(store.AuditLog)).one().action == "create"
    assert advisor_plan.created_by == "madrid.advisor"


def test_managers_approve_plans_of_their_scope_but_never_their_own(engine: Engine) -> None:
    plan = make(engine, MAD, MADRID)
    pid = plan.id
    with pytest.raises(plans.PlanForbidden, match="another manager"), store.session(engine) as s:
        plans.approve_plan(s, pid, user=MAD, expected_version=1)  # type: ignore[arg-type]
    with pytest.raises(plans.PlanNotFound), store.session(engine) as s:
        plans.approve_plan(s, pid, user=FR, expected_version=1)  # type: ignore[arg-type]
    by_advisor = make(engine, ADVISOR, MADRID, "Advisor idea")
    with pytest.raises(plans.PlanForbidden, match="only managers"), store.session(engine) as s:
        plans.approve_plan(s, pid, user=ADVISOR, expected_version=1)  # type: ignore[arg-type]
    with store.session(engine) as s:
        assert (
            plans.approve_plan(s, by_advisor.id, user=MAD, expected_version=1).approval
            == "approved"
        )  # type: ignore[arg-type]
        rejected = plans.reject_plan(s, pid, user=ES, expected_version=1, note="too vague")  # type: ignore[arg-type]
    assert (rejected.approval, rejected.status) == ("rejected", "abandoned")
    world = make(engine, CEO, {"region": None, "country": None, "agency": None}, "World plan")
    with store.session(engine) as s:
        assert plans.approve_plan(s, world.id, user=CEO, expected_version=1).approval == "approved"  # type: ignore[arg-type]
    with pytest.raises(plans.PlanError, match="approved first"), store.session(engine) as s:
        plans.update_plan(
            s, make(engine, MAD, MADRID).id, user=MAD, expected_version=1, status="in_progress"
        )  # type: ignore[arg-type]


def test_a_stale_edit_is_refused_and_the_first_save_is_kept(engine: Engine) -> None:
    plan = make(engine, MAD, MADRID)
    with store.session(engine) as s:
        plans.update_plan(s, plan.id, user=ES, expected_version=1, title="Spain's wording")  # type: ignore[arg-type]
    with (
        pytest.raises(store.StaleEdit, match="changed by someone else"),
        store.session(engine) as s,
    ):
        plans.update_plan(s, plan.id, user=MAD, expected_version=1, title="Madrid's wording")  # type: ignore[arg-type]
    with store.session(engine) as s:
        task = plans.add_task(
            s, plan.id, user=MAD, title="Call the supplier", owner="madrid.manager"
        )  # type: ignore[arg-type]
        plans.complete_task(s, task.id, user=MAD, expected_version=1)  # type: ignore[arg-type]
    with pytest.raises(store.StaleEdit), store.session(engine) as s:
        plans.complete_task(s, task.id, user=ES, expected_version=1, done=False)  # type: ignore[arg-type]
    with store.session(engine) as s:
        kept = plans.get_plan(s, plan.id, CEO.scope)  # type: ignore[arg-type]
        updates = [a for a in plans.history(s, plan.id, CEO.scope) if a.action == "update"]  # type: ignore[arg-type]
        assert plans.list_tasks(s, plan.id, CEO.scope)[0].done is True  # type: ignore[arg-type]
    assert (kept.title, kept.version) == ("Spain's wording", 2)
    assert len(updates) == 1 and updates[0].actor == "es.manager"


def test_bad_values_are_refused_with_the_field_named(engine: Engine) -> None:
    plan = make(engine, MAD, MADRID)
    cases = [
        ({"progress": 140}, "progress 140"),
        ({"status": "paused"}, "status 'paused'"),
        ({"target_attribute": "comment"}, "target_attribute 'comment'"),
        ({"title": "  "}, "title"),
        ({"approval": "approved"}, "cannot be edited"),
    ]
    for change, message in cases:
        with pytest.raises(plans.PlanError, match=message), store.session(engine) as s:
            plans.update_plan(s, plan.id, user=MAD, expected_version=1, **change)  # type: ignore[arg-type]


def _approved_in_progress(engine: Engine, title: str) -> int:
    """A Madrid plan with a target, approved by Spain and started: its id (at version 3)."""
    plan = make(
        engine,
        MAD,
        MADRID,
        title,
        target_attribute="attr_cleanliness",
        target_value=7.5,
        target_wave="2026-Q3",
    )
    assert plan.id is not None
    with store.session(engine) as s:
        plans.approve_plan(s, plan.id, user=ES, expected_version=1)
        plans.update_plan(s, plan.id, user=MAD, expected_version=2, status="in_progress")
    return plan.id


def test_an_edit_of_title_target_or_owner_sends_an_approved_plan_back_for_approval(
    engine: Engine,
) -> None:
    resets = {
        "title": {"title": "Cleaner waiting room, both floors"},
        "owner": {"owner": "madrid.advisor"},
        "target attribute": {"target_attribute": "nps"},
        "target direction": {"target_op": "<="},
        "target value": {"target_value": 8.0},
        "target wave": {"target_wave": "2026-Q4"},
    }
    for what, edit in resets.items():
        pid = _approved_in_progress(engine, what)
        with store.session(engine) as s:
            plan = plans.update_plan(s, pid, user=MAD, expected_version=3, **edit)  # type: ignore[arg-type]
            state = (plan.approval, plan.approved_by, plan.approved_at, plan.status)
            assert state == ("proposed", None, None, "planned"), what
        with pytest.raises(plans.PlanError, match="must be approved"), store.session(engine) as s:
            plans.update_plan(s, pid, user=MAD, expected_version=4, status="in_progress")
        with store.session(engine) as s:
            assert plans.approve_plan(s, pid, user=ES, expected_version=4).approval == "approved"
            with pytest.raises(plans.PlanError, match="already approved"):
                plans.reject_plan(s, pid, user=ES, expected_version=5)
    keeps = {
        "progress": {"progress": 40},
        "due date": {"due_date": date(2026, 12, 24)},
        "contributors": {"contributors": ["madrid.advisor"]},
        "problem": {"problem_ref": "attr_staff_attitude"},
    }
    for what, edit in keeps.items():
        pid = _approved_in_progress(engine, what)
        with store.session(engine) as s:
            plan = plans.update_plan(s, pid, user=MAD, expected_version=3, **edit)  # type: ignore[arg-type]
            assert (plan.approval, plan.status, plan.version) == ("approved", "in_progress", 4), (
                what
            )
    # A plan's scope is not edited at all: moving it is a new proposal, so approval cannot leak.
    pid = _approved_in_progress(engine, "scope")
    for edit in ({"agency": "Paris"}, {"country": "FR"}, {"region": "Americas"}):
        with pytest.raises(plans.PlanError, match="cannot be edited"), store.session(engine) as s:
            plans.update_plan(s, pid, user=ES, expected_version=3, **edit)  # type: ignore[arg-type]
    with store.session(engine) as s:
        plan = plans.get_plan(s, pid, CEO.scope)
        assert (plan.agency, plan.approval, plan.version) == ("Madrid", "approved", 3)


ALLOWED_MOVES = {
    ("planned", "in_progress"),
    ("planned", "done"),
    ("planned", "abandoned"),
    ("in_progress", "planned"),
    ("in_progress", "done"),
    ("in_progress", "abandoned"),
    ("done", "planned"),  # reopened
    ("done", "in_progress"),
}
"""Every status change a plan may make, written out (abandoned is final); the rest is refused."""


def test_a_plan_moves_only_along_the_status_table_and_a_rejected_one_stays_abandoned(
    engine: Engine,
) -> None:
    got: dict[tuple[str, str], bool] = {}
    for start in plans.STATUSES:
        for to in plans.STATUSES:
            plan = make(engine, MAD, MADRID, f"{start} to {to}")
            assert plan.id is not None
            with store.session(engine) as s:
                plans.approve_plan(s, plan.id, user=ES, expected_version=1)
                if start != "planned":
                    plans.update_plan(s, plan.id, user=MAD, expected_version=2, status=start)
            version = 2 if start == "planned" else 3
            try:
                with store.session(engine) as s:
                    moved = plans.update_plan(
                        s, plan.id, user=MAD, expected_version=version, status=to
                    )
                got[start, to] = moved.status == to
            except plans.PlanError as exc:
                assert f"plan {plan.id} is {start};" in str(exc), exc
                got[start, to] = False
    want = {
        (a, b): a == b or (a, b) in ALLOWED_MOVES for a in plans.STATUSES for b in plans.STATUSES
    }
    assert got == want
    rejected = make(engine, MAD, MADRID, "Rejected")
    assert rejected.id is not None
    with store.session(engine) as s:
        plans.reject_plan(s, rejected.id, user=ES, expected_version=1)
    for to in ("planned", "in_progress", "done"):
        with (
            pytest.raises(plans.PlanError, match="is abandoned; it stays so; propose a new plan"),
            store.session(engine) as s,
        ):
            plans.update_plan(s, rejected.id, user=MAD, expected_version=2, status=to)
    with store.session(engine) as s:
        kept = plans.get_plan(s, rejected.id, CEO.scope)
        assert (kept.approval, kept.status, kept.version) == ("rejected", "abandoned", 2)


def test_tracker_flags_late_plans_and_tasks_and_counts_per_owner(engine: Engine) -> None:
    today = date(2026, 11, 25)
    a = make(engine, MAD, MADRID, "Late plan", due_date=date(2026, 11, 20))
    make(engine, MAD, MADRID, "Future plan", due_date=date(2026, 12, 20), owner="madrid.advisor")
    c = make(engine, ES, SPAIN, "Done plan", due_date=date(2026, 11, 1))
    with store.session(engine) as s:
        plans.approve_plan(s, c.id, user=CEO, expected_version=1)  # type: ignore[arg-type]
        plans.update_plan(s, c.id, user=ES, expected_version=2, status="done")  # type: ignore[arg-type]
        plans.add_task(
            s, a.id, user=MAD, title="t1", owner="madrid.manager", due_date=date(2026, 11, 24)
        )  # type: ignore[arg-type]
        plans.add_task(
            s, a.id, user=MAD, title="t2", owner="madrid.manager", due_date=date(2026, 11, 26)
        )  # type: ignore[arg-type]
        tracker = plans.plan_tracker(s, ES.scope, today=today)
        due = [p.title for p in plans.plans_due(s, ES.scope, within_days=7, today=today)]
        assert plans.plan_tracker(s, FR.scope, today=today).is_empty()
    assert tracker.select("title", "late", "days_late", "tasks", "tasks_late").rows() == [
        ("Done plan", False, 0, 0, 0),
        ("Late plan", True, 5, 2, 1),
        ("Future plan", False, 0, 0, 0),
    ]
    assert plans.tracker_counts(tracker, "owner").rows() == [
        ("madrid.manager", 1, 1, 0, 0, 1),
        ("madrid.advisor", 1, 0, 0, 0, 1),
        ("es.manager", 0, 0, 1, 0, 1),
    ]
    assert due == ["Late plan"]


def test_digests_enqueue_one_email_per_owner_per_day(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    users_file = tmp_path / "users.yaml"
    people = {
        "madrid.manager": ("lucia@example.test", "agency_manager"),
        "ops.madrid": ("ops@example.test", "advisor"),
        "quiet.madrid": ("", "advisor"),  # no e-mail address: no digest
    }
    users_file.write_text(
        yaml.safe_dump(
            {
                "credentials": {
                    "usernames": {
                        name: {
                            "name": name,
                            "email": email,
                            "roles": [role],
                            "scope": ["agency:Madrid"],
                        }
                        for name, (email, role) in people.items()
                    }
                }
            }
        )
    )
    monkeypatch.setenv("CX_USERS_FILE", str(users_file))
    plan = make(engine, MAD, MADRID, "Late plan", due_date=date(2026, 11, 20))
    make(engine, MAD, MADRID, "Far plan", due_date=date(2027, 3, 1))
    make(engine, MAD, MADRID, "Nobody's mail", due_date=date(2026, 11, 27), owner="quiet.madrid")
    with store.session(engine) as s:
        plans.add_task(
            s,
            plan.id,
            user=MAD,
            title="Order signs",
            owner="ops.madrid",
            due_date=date(2026, 11, 28),
        )  # type: ignore[arg-type]
        d = plans.digest(s, "madrid.manager", today=date(2026, 11, 25))
    assert [p.title for p in d.plans] == ["Late plan"] and d.tasks == ()
    assert d.subject == "CX Review: 1 plan and 0 tasks due, 1 late"
    now = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)
    assert plans.send_digests(engine, now, users_file=users_file) == {
        "owners": 3,
        "enqueued": 2,
        "already": 0,
        "no_email": 1,
    }
    assert plans.send_digests(engine, now, users_file=users_file) == {
        "owners": 3,
        "enqueued": 0,
        "already": 2,
        "no_email": 1,
    }
    with store.session(engine) as s:
        sent = sorted((n.recipient, n.dedupe_key) for n in s.exec(select(store.Notification)))
        body = (
            s.exec(
                select(store.Notification).where(
                    store.Notification.recipient == "lucia@example.test"
                )
            )
            .one()
            .body
        )
    assert sent == [
        ("lucia@example.test", "plan-digest:madrid.manager:2026-11-25"),
        ("ops@example.test", "plan-digest:ops.madrid:2026-11-25"),
    ]
    assert "Late plan" in body and "(LATE)" in body and "Far plan" not in body


def _responses() -> pl.LazyFrame:
    """Madrid: 2025-Q1 20x6 + 20x8 (mean 7.0), 2025-Q2 40x8 (mean 8.0), 2025-Q3 3 rows (suppressed).
    Paris rows (all 0) must never count for a Madrid plan."""
    rows: list[tuple[str, str, int]] = (
        [("2025-Q1", "Madrid", 6)] * 20
        + [("2025-Q1", "Madrid", 8)] * 20
        + [("2025-Q2", "Madrid", 8)] * 40
        + [("2025-Q3", "Madrid", 9)] * 3
        + [("2025-Q1", "Paris", 0)] * 40
        + [("2025-Q2", "Paris", 0)] * 40
    )
    return pl.LazyFrame(
        {
            "wave": [r[0] for r in rows],
            "agency": [r[1] for r in rows],
            "country": ["ES" if r[1] == "Madrid" else "FR" for r in rows],
            "region": ["Europe"] * len(rows),
            "nps": [10] * len(rows),
            "attr_cleanliness": [r[2] for r in rows],
            "weight": [1.0] * len(rows),
        }
    )


def test_plan_effect_measures_the_target_in_the_plans_own_geography_before_and_after() -> None:
    plan = plans.Plan(
        title="Clean",
        owner="m",
        **MADRID,
        target_attribute="attr_cleanliness",
        target_value=7.5,
        created_at=datetime(2025, 4, 15, tzinfo=UTC),
    )
    effect = plans.plan_effect(_responses(), plan)
    assert effect["wave"].to_list() == ["2025-Q1", "2025-Q2", "2025-Q3"]
    assert effect["phase"].to_list() == ["before", "after", "after"]
    assert effect["n"].to_list() == [40, 40, 3]
    assert effect["value"].to_list()[:2] == pytest.approx([7.0, 8.0]) and effect["value"][2] is None
    assert effect["moe"][0] == pytest.approx(
        1.96 * (1 / 40) ** 0.5
    )  # weighted variance 1.0, base 40
    assert effect["change"].to_list()[:2] == [None, pytest.approx(1.0)]
    assert effect["significant"].to_list() == [False, True, False]
    assert effect["met"].to_list() == [False, True, None]
    sentence = plans.effect_sentence(plan, effect)
    assert (
        sentence
        == "Cleanliness went from 7.0 (2025-Q1) to 8.0 (2025-Q2), +1.0 (a significant change); target Cleanliness ≥ 7.5 met."
    )


def test_plan_effect_never_calls_a_low_base_change_significant() -> None:
    small = _responses().filter(pl.int_range(pl.len()).over("wave", "agency") < 10)
    plan = plans.Plan(
        title="Clean",
        owner="m",
        **MADRID,
        target_attribute="attr_cleanliness",
        created_at=datetime(2025, 4, 15, tzinfo=UTC),
    )
    effect = plans.plan_effect(small, plan)
    assert effect["value"].to_list()[:2] == pytest.approx([6.0, 8.0])
    assert effect["low_base"].to_list() == [True, True, True]
    assert effect["significant"].to_list() == [False, False, False]


def test_plan_geography_and_evidence_link() -> None:
    from cx.core.org import Agency, Org

    org = Org(
        (Agency("Madrid", "ES", "Europe", "Madrid"), Agency("Paris", "FR", "Europe", "Paris"))
    )
    assert plans.geography("agency:Madrid", org) == MADRID
    assert plans.geography("country:FR", org) == {
        "region": "Europe",
        "country": "FR",
        "agency": None,
    }
    with pytest.raises(plans.PlanError, match="unknown plan scope 'agency:Lyon'"):
        plans.geography("agency:Lyon", org)
    plan = plans.Plan(
        title="x", owner="m", problem_kind="theme", problem_ref="waiting_time", **MADRID
    )
    assert plans.evidence_link(plan) == "themes?theme=waiting_time"
    assert plans.scope_label(plan) == "agency:Madrid"


def test_effect_chart_draws_the_target_and_leaves_suppressed_waves_out() -> None:
    plan = plans.Plan(
        title="Clean",
        owner="m",
        **MADRID,
        target_attribute="attr_cleanliness",
        target_value=7.5,
        created_at=datetime(2025, 4, 15, tzinfo=UTC),
    )
    from cx import charts

    spec = charts.plan_effect_chart(plans.plan_effect(_responses(), plan), "Cleanliness").to_dict()
    rule = [layer for layer in spec["layer"] if layer["mark"].get("strokeDash")]
    assert rule and rule[0]["encoding"]["y"]["field"] == "target"
    text = str(spec)
    assert "2025-Q3" not in text and "2025-Q2" in text and "target 7.5" in text


def test_tracker_chart_stacks_late_on_time_and_done_per_owner() -> None:
    from cx import charts

    counts = pl.DataFrame(
        {
            "owner": ["ana", "bob"],
            "open": [2, 1],
            "late": [1, 0],
            "done": [0, 3],
            "abandoned": [0, 0],
            "total": [2, 4],
        }
    )
    spec = charts.tracker_chart(counts, "owner", "Owner").to_dict()
    rows = (
        spec["data"]["values"]
        if "values" in spec.get("data", {})
        else next(iter(spec["datasets"].values()))
    )
    assert sorted((r["owner"], r["state"], r["plans"]) for r in rows) == [
        ("ana", "late", 1),
        ("ana", "on time", 1),
        ("bob", "done", 3),
        ("bob", "on time", 1),
    ]
    assert spec["height"] == {"step": 40}
