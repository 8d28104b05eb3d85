"""Permissions live in the domain: every role × every write × a record inside and outside the
role's scope, on SQLite and PostgreSQL. A page, the CLI and the API call the same functions, so
they cannot differ. Deny by default: each cell's expectation is written out below, not derived
from the code under test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import Engine
from sqlmodel import Session

from cx import store
from cx.core import users
from cx.core.scope import Scope
from cx.core.users import User
from cx.improve import plans
from cx.loop import alerts, cases, rule_store
from tests.support.datadir import write_org

ACTORS = {
    "ceo": User("ceo", "CEO", "", ("ceo",), Scope.world()),
    "country_manager": User(
        "es.manager", "ES", "", ("country_manager",), Scope.parse("country:ES")
    ),
    "agency_manager": User(
        "madrid.manager", "MAD", "", ("agency_manager",), Scope.parse("agency:Madrid")
    ),
    "advisor": User("madrid.advisor", "ADV", "", ("advisor",), Scope.parse("agency:Madrid")),
    "teleoperator": User(
        "madrid.teleop", "TEL", "", ("teleoperator",), Scope.parse("agency:Madrid")
    ),
    "analyst": User("analyst", "AN", "", ("analyst",), Scope.world()),
    "admin": User("root.admin", "AD", "", ("admin",), Scope.world()),
}
PLACES = {
    "Madrid": {"region": "Europe", "country": "ES", "agency": "Madrid"},
    "Paris": {"region": "Europe", "country": "FR", "agency": "Paris"},
}
WORLD = ("ceo", "analyst", "admin")


def inside(role: str, place: str) -> bool:
    return role in WORLD or place == "Madrid"  # the other actors all see Spain or Madrid


# What each role may do, in words: the expectation of every cell.
EXPECTED: dict[str, Callable[[str, str], bool]] = {
    "case.log_call": lambda r, p: r not in ("analyst", "admin") and inside(r, p),
    "case.classify": lambda r, p: r not in ("analyst", "admin") and inside(r, p),
    "case.schedule_callback": lambda r, p: r not in ("analyst", "admin") and inside(r, p),
    "case.record_solution": lambda r, p: r not in ("analyst", "admin") and inside(r, p),
    "plan.create": inside,  # anyone proposes inside their own scope
    "plan.edit": lambda r, p: r in ("ceo", "country_manager", "agency_manager") and inside(r, p),
    "plan.approve": lambda r, p: r in ("ceo", "country_manager", "agency_manager") and inside(r, p),
    "alert.set_state": lambda r, p: r not in ("advisor", "teleoperator") and inside(r, p),
    "rule.save": lambda r, p: r in ("analyst", "admin"),
    "user.disable": lambda r, p: r == "admin",
}
DENIED = (PermissionError, LookupError, cases.CaseError, users.UserError)


@pytest.fixture
def world(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    """A Madrid and a Paris case, plan (proposed by the CEO, owned by the agency's manager) and
    alert, and a users file holding each agency's advisor."""
    root = write_org(tmp_path / "data")
    monkeypatch.setenv("CX_DATA_DIR", str(root))
    people = tmp_path / "people.yaml"
    people.write_text(
        yaml.safe_dump(
            {
                "credentials": {
                    "usernames": {
                        f"{a.lower()}.adv": {
                            "name": a,
                            "roles": ["advisor"],
                            "scope": [f"agency:{a}"],
                        }
                        for a in PLACES
                    }
                }
            }
        )
    )
    made: dict[str, Any] = {"cases": {}, "plans": {}, "people": people}
    with store.session(engine) as s:
        for name, geo in PLACES.items():
            case = cases.open_case(
                s,
                response={"response_id": f"r-{name}", "nps": 2, "wave": "2026-Q3", **geo},
                reason="nps < 6",
                actor="rules",
            )
            plan = plans.create_plan(
                s, user=ACTORS["ceo"], title=f"{name} plan", owner=f"{name.lower()}.manager", **geo
            )
            assert case is not None and plan.id is not None
            made["cases"][name], made["plans"][name] = case.id, plan.id
    yield made


def _action(name: str, world: dict[str, Any], place: str) -> Callable[[Session, User], object]:
    case_id, plan_id = world["cases"][place], world["plans"][place]
    alert = {"key": f"agency:{place}:attr_cleanliness:2026-Q3", "version": None}
    return {
        "case.log_call": lambda s, u: cases.log_call(
            s, u, case_id, expected_version=1, outcome="reached"
        ),
        "case.classify": lambda s, u: cases.classify(
            s, u, case_id, expected_version=1, importance="high", topic="cleanliness"
        ),
        "case.schedule_callback": lambda s, u: cases.schedule_callback(
            s, u, case_id, expected_version=1, due_at=store.utcnow()
        ),
        "case.record_solution": lambda s, u: cases.record_solution(
            s, u, case_id, expected_version=1, solution="refund"
        ),
        "plan.create": lambda s, u: plans.create_plan(
            s, user=u, title="new", owner=f"{place.lower()}.manager", agency=place
        ),
        "plan.edit": lambda s, u: plans.update_plan(
            s, plan_id, user=u, expected_version=1, progress=50
        ),
        "plan.approve": lambda s, u: plans.approve_plan(s, plan_id, user=u, expected_version=1),
        "alert.set_state": lambda s, u: alerts.set_state(s, u, alert, status="acknowledged"),
        "rule.save": lambda s, u: rule_store.save_rule(
            s,
            name=f"{place} rule",
            condition="nps <= 3",
            scope=f"agency:{place}",
            actions=[{"type": "open_case"}],
            actor=u,
        ),
        "user.disable": lambda s, u: users.set_disabled(
            f"{place.lower()}.adv", True, world["people"], by=u
        ),
    }[name]


@pytest.mark.parametrize("action", sorted(EXPECTED))
def test_every_role_may_do_exactly_what_its_row_says_inside_and_outside_its_scope(
    engine: Engine, world: dict[str, Any], action: str
) -> None:
    got, want = {}, {}
    for role, actor in ACTORS.items():
        for place in PLACES:
            want[role, place] = EXPECTED[action](role, place)
            with Session(engine, expire_on_commit=False) as s:
                try:
                    _action(action, world, place)(s, actor)
                    got[role, place] = True
                except DENIED:
                    got[role, place] = False
                finally:
                    s.rollback()  # every cell starts from the same records
            if action == "user.disable" and got[role, place]:
                users.set_disabled(f"{place.lower()}.adv", False, world["people"])
    wrong = {cell: got[cell] for cell in got if got[cell] != want[cell]}
    assert not wrong, f"{action}: allowed/denied differs from the table in {wrong}"


def test_a_new_plan_takes_its_place_from_the_organisation_not_from_the_caller(
    engine: Engine, world: dict[str, Any]
) -> None:
    with store.session(engine) as s:
        plan = plans.create_plan(
            s, user=ACTORS["ceo"], title="t", owner="madrid.manager", agency="Madrid"
        )
        assert (plan.region, plan.country) == ("Europe", "ES")
        with pytest.raises(plans.PlanError, match="country 'FR' does not hold 'Madrid'"):
            plans.create_plan(
                s,
                user=ACTORS["ceo"],
                title="t",
                owner="madrid.manager",
                country="FR",
                agency="Madrid",
            )
        with pytest.raises(plans.PlanError, match="not a user of CX Review"):
            plans.create_plan(
                s, user=ACTORS["ceo"], title="t", owner="someone@evil.example", agency="Madrid"
            )
        with pytest.raises(plans.PlanError, match="does not see Madrid"):
            plans.create_plan(
                s, user=ACTORS["ceo"], title="t", owner="paris.manager", agency="Madrid"
            )


def test_an_approved_plan_needs_approval_again_after_its_title_target_or_owner_change(
    engine: Engine, world: dict[str, Any]
) -> None:
    pid = world["plans"]["Madrid"]
    es = ACTORS["country_manager"]
    with store.session(engine) as s:
        plans.approve_plan(s, pid, user=es, expected_version=1)
        plan = plans.update_plan(s, pid, user=es, expected_version=2, status="in_progress")
        assert (plan.approval, plan.status) == ("approved", "in_progress")
        plan = plans.update_plan(s, pid, user=es, expected_version=3, progress=40)
        assert plan.approval == "approved"  # progress is not a reason to approve again
        plan = plans.update_plan(s, pid, user=es, expected_version=4, target_value=8.0)
        assert (plan.approval, plan.approved_by, plan.status) == ("proposed", None, "planned")
        with pytest.raises(plans.PlanError, match="must be approved"):
            plans.update_plan(s, pid, user=es, expected_version=5, status="in_progress")
        plans.approve_plan(s, pid, user=es, expected_version=5)
        with pytest.raises(plans.PlanError, match="already approved"):
            plans.reject_plan(s, pid, user=es, expected_version=6)


def test_a_resolved_case_refuses_what_cannot_follow_and_a_closed_one_everything(
    engine: Engine, world: dict[str, Any]
) -> None:
    teleop, cid = ACTORS["teleoperator"], world["cases"]["Madrid"]
    with store.session(engine) as s:
        cases.record_solution(s, teleop, cid, expected_version=1, solution="refund")
        cases.resolve(s, teleop, cid, expected_version=2)
        with pytest.raises(cases.CaseError, match="resolved: it cannot be resolved now"):
            cases.resolve(s, teleop, cid, expected_version=3)
        with pytest.raises(cases.CaseError, match="cannot be callback scheduled now"):
            cases.schedule_callback(s, teleop, cid, expected_version=3, due_at=store.utcnow())
        cases.close(s, teleop, cid, expected_version=3, note="done")
        with pytest.raises(cases.CaseError, match="closed"):
            cases.log_call(s, teleop, cid, expected_version=4, outcome="reached")
