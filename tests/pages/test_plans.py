"""AppTest of the action-plans and review-meeting pages per role: scope, proposal from a link,
approval, refused stale edits, and stepping through the meeting agenda."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from cx import store, ui
from cx.core.scope import Scope
from cx.core.users import User
from cx.improve import meeting, plans
from tests.support.apptest import demo_user as support_demo_user
from tests.support.apptest import rendered_text, run_page

TITLES = {
    "Madrid": "Madrid waiting-time plan",
    "Paris": "Paris cleanliness plan",
    "ES": "Spain staff training plan",
}
SEES = {
    "ceo": {"Madrid", "Paris", "ES"},
    "analyst": {"Madrid", "Paris", "ES"},
    "es.manager": {"Madrid", "ES"},
    "fr.manager": {"Paris"},
    "madrid.manager": {"Madrid"},
    "paris.manager": {"Paris"},
}


def demo_user(name: str) -> User:
    return support_demo_user(name)


@pytest.fixture
def app_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """A fresh SQLite app_store for the app (through DATABASE_URL) with three plans."""
    url = f"sqlite:///{tmp_path / 'cx.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    engine = store.init(store.make_engine(url))
    with store.session(engine) as s:
        plans.create_plan(
            s,
            user=demo_user("madrid.manager"),
            title=TITLES["Madrid"],
            owner="madrid.manager",
            region="Europe",
            country="ES",
            agency="Madrid",
            problem_kind="attribute",
            problem_ref="attr_waiting_time",
            target_attribute="attr_waiting_time",
            target_value=7.0,
        )
        plans.create_plan(
            s,
            user=demo_user("paris.manager"),
            title=TITLES["Paris"],
            owner="paris.manager",
            region="Europe",
            country="FR",
            agency="Paris",
        )
        plans.create_plan(
            s,
            user=demo_user("es.manager"),
            title=TITLES["ES"],
            owner="es.manager",
            region="Europe",
            country="ES",
        )
    yield engine
    engine.dispose()


@pytest.mark.parametrize("username", sorted(SEES))
def test_plans_page_lists_only_the_plans_of_the_users_scope(
    demo_root: Path, app_store: Engine, username: str
) -> None:
    at = run_page("screens/plans.py", username, demo_root)
    assert not at.exception, at.exception
    text = rendered_text(at)
    for key, title in TITLES.items():
        assert (title in text) is (key in SEES[username]), (username, title)
    if username == "madrid.manager":
        for foreign in ("Paris", "Barcelona", "country:ES"):
            assert foreign not in text


def test_front_line_staff_have_no_plans_or_meeting_screen() -> None:
    for name in ("madrid.advisor", "madrid.teleop"):
        user = demo_user(name)
        shown = [p.url_path for p in ui.PAGES if ui.allowed(p, user)]
        assert "plans" not in shown and "meeting" not in shown


def test_agency_manager_proposes_a_plan_from_an_improvement_area_link(
    demo_root: Path, app_store: Engine
) -> None:
    at = run_page(
        "screens/plans.py",
        "madrid.manager",
        demo_root,
        query={"problem_kind": "improvement_area", "problem_ref": "attr_cleanliness"},
    )
    assert [e.label for e in at.expander][
        0
    ] == "Propose an action plan for Cleanliness (improvement area)"
    scope_box = next(b for b in at.selectbox if b.label == "Scope of the plan")
    assert scope_box.options == ["agency:Madrid"]
    next(t for t in at.text_input if t.label == "Title").input("Cleaner Madrid waiting room")
    next(n for n in at.number_input if n.label == "Target value (≥)").set_value(7.5)
    next(b for b in at.button if b.label == "Propose the plan").click()
    at.run()
    assert not at.exception, at.exception
    with store.session(app_store) as s:
        plan = next(
            p
            for p in plans.list_plans(s, Scope.world())
            if p.title == "Cleaner Madrid waiting room"
        )
    assert (plan.agency, plan.country, plan.problem_kind, plan.problem_ref) == (
        "Madrid",
        "ES",
        "improvement_area",
        "attr_cleanliness",
    )
    assert (plan.target_attribute, plan.target_value, plan.created_by, plan.approval) == (
        "attr_cleanliness",
        7.5,
        "madrid.manager",
        "proposed",
    )
    assert at.query_params["plan"] == [str(plan.id)] or at.query_params["plan"] == str(plan.id)
    assert f"#{plan.id} Cleaner Madrid waiting room" in [h.value for h in at.subheader]
    assert "Approve" not in [b.label for b in at.button]  # nobody approves their own proposal


def test_country_manager_approves_an_agency_plan_opened_from_its_link(
    demo_root: Path, app_store: Engine
) -> None:
    with store.session(app_store) as s:
        plan = next(p for p in plans.list_plans(s, Scope.world()) if p.agency == "Madrid")
    at = run_page("screens/plans.py", "es.manager", demo_root, query={"plan": str(plan.id)})
    assert f"#{plan.id} {TITLES['Madrid']}" in [h.value for h in at.subheader]
    next(b for b in at.button if b.label == "Approve").click()
    at.run()
    assert not at.exception, at.exception
    with store.session(app_store) as s:
        approved = plans.get_plan(s, plan.id, Scope.world())  # type: ignore[arg-type]
        actions = [a.action for a in plans.history(s, plan.id, Scope.world())]  # type: ignore[arg-type]
    assert (approved.approval, approved.approved_by, approved.version) == (
        "approved",
        "es.manager",
        2,
    )
    assert actions == ["approve", "create"]


def test_a_save_on_a_plan_changed_meanwhile_is_refused_on_the_page(
    demo_root: Path, app_store: Engine
) -> None:
    with store.session(app_store) as s:
        plan = next(
            p for p in plans.list_plans(s, Scope.world()) if p.country == "ES" and p.agency is None
        )
    at = run_page("screens/plans.py", "es.manager", demo_root, query={"plan": str(plan.id)})
    with store.session(app_store) as s:  # someone else saves first
        plans.update_plan(s, plan.id, user=demo_user("ceo"), expected_version=1, owner="ceo")  # type: ignore[arg-type]
    next(s for s in at.slider if s.label == "Progress %").set_value(30)
    next(b for b in at.button if b.label == "Save changes").click()
    at.run()
    assert any("changed by someone else" in e.value for e in at.error)
    with store.session(app_store) as s:
        kept = plans.get_plan(s, plan.id, Scope.world())  # type: ignore[arg-type]
        updates = s.exec(select(store.AuditLog).where(store.AuditLog.action == "update")).all()
    assert (kept.owner, kept.progress, kept.version) == ("ceo", 0, 2) and len(updates) == 1


def test_meeting_page_steps_through_the_agenda_with_state_in_the_url(
    demo_root: Path, app_store: Engine
) -> None:
    at = run_page("screens/meeting.py", "es.manager", demo_root)
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["NPS 2026-Q3"]
    next(b for b in at.button if b.label == "Next").click()
    at.run()
    assert [t.value for t in at.title] == ["NPS over the waves"]
    assert at.query_params["step"] in ("2", ["2"])
    text = rendered_text(at)
    for foreign in ("Paris", "Lyon", "London"):
        assert foreign not in text


def test_weekly_meeting_of_an_agency_opens_from_a_link_and_stays_in_scope(
    demo_root: Path, app_store: Engine
) -> None:
    at = run_page(
        "screens/meeting.py", "madrid.manager", demo_root, query={"agenda": "weekly", "step": "1"}
    )
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Last week's responses"]
    assert [m.label for m in at.metric] == [
        "Responses (7 days)",
        "NPS",
        "vs 7 days before",
        "Detractors",
    ]
    at = run_page(
        "screens/meeting.py", "madrid.manager", demo_root, query={"agenda": "weekly", "step": "4"}
    )
    assert [t.value for t in at.title] == ["Action plans due"]
    text = rendered_text(at)
    for foreign in ("Barcelona", "Paris", "Sevilla"):
        assert foreign not in text


def test_an_empty_agenda_is_refused_and_a_saved_one_is_the_meeting_of_the_scope(
    demo_root: Path, app_store: Engine
) -> None:
    at = run_page("screens/meeting.py", "es.manager", demo_root, query={"agenda": "weekly"})
    save = next(b for b in at.button if b.label == "Save the agenda")
    at.multiselect[0].set_value([])
    save.click().run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == ["an agenda needs at least one screen"]
    at.multiselect[0].set_value(["cases", "alerts"])
    next(b for b in at.button if b.label == "Save the agenda").click().run()
    assert not at.error
    assert [t.value for t in at.title] == ["Complaints and cases"]
    with store.session(app_store) as s:
        assert meeting.agenda(s, demo_user("es.manager").scope, "weekly") == ["cases", "alerts"]
