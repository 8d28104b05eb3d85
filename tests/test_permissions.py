"""Permissions live in the domain: every role × every write × a record inside and outside the
role's scope, on SQLite and PostgreSQL. A page, the CLI and the API call the same functions, so
they cannot differ. Deny by default: each cell's expectation is written out below, not derived
from the code under test; a cell refused for any other reason than its role or its place (a
stale version, a bad value) is reported as an error, never counted as a refusal."""

from __future__ import annotations

import inspect
import typing
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from cx import store
from cx.capture import surveys
from cx.core import roles, users
from cx.core.scope import Scope
from cx.core.users import User
from cx.improve import plans
from cx.ingest import served
from cx.loop import alerts, cases, rule_store
from tests.support.datadir import write_org

# The role table of cx/core/roles.py as this matrix reads it (checked against it below).
MANAGERS = ("ceo", "country_manager", "agency_manager")
FRONT_LINE = ("advisor", "teleoperator")
DASHBOARDS = (*MANAGERS, "analyst", "admin")
DATA_ADMINS = ("analyst", "admin")
USER_ADMINS = ("admin",)

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
    "analyst_es": User("es.analyst", "AN-ES", "", ("analyst",), Scope.parse("country:ES")),
    "admin": User("root.admin", "AD", "", ("admin",), Scope.world()),
    "admin_es": User("es.admin", "AD-ES", "", ("admin",), Scope.parse("country:ES")),
}
"""Every role, and the two data admins once with the world and once with Spain only."""
PLACES = {
    "Madrid": {"region": "Europe", "country": "ES", "agency": "Madrid"},
    "Paris": {"region": "Europe", "country": "FR", "agency": "Paris"},
}
WORLD = ("ceo", "analyst", "admin")
PASSWORD = "wide-Harbour-lantern-93"


def role(actor: str) -> str:
    return ACTORS[actor].roles[0]


def inside(actor: str, place: str) -> bool:
    """World actors see everything; the others all see Spain or Madrid, so Madrid only (and
    never ``world``, the place of a survey: it serves every agency)."""
    return actor in WORLD or place == "Madrid"


def works_cases(a: str, p: str) -> bool:
    # cx.loop.cases.CASE_WORKERS: front line and the managers of the case's geography
    return role(a) in (*FRONT_LINE, *MANAGERS) and inside(a, p)


def manages(a: str, p: str) -> bool:
    return role(a) in MANAGERS and inside(a, p)


# What each role may do, in words: the expectation of every cell.
EXPECTED: dict[str, Callable[[str, str], bool]] = {
    "case.log_call": works_cases,
    "case.classify": works_cases,
    "case.schedule_callback": works_cases,
    "case.record_solution": works_cases,
    "case.forward": works_cases,
    "case.resolve": works_cases,
    "case.close": works_cases,
    "plan.create": inside,  # anyone proposes inside their own scope
    "plan.edit": manages,  # or the plan's proposer or owner: here the CEO and the manager
    "plan.approve": manages,
    "plan.reject": manages,
    "plan.add_task": manages,
    "plan.complete_task": lambda a, p: manages(a, p) or (a == "advisor" and p == "Madrid"),
    # Anyone who sees the plan comments, as cx/improve/plans.py does today; the role table opens
    # plans to dashboard readers only (no plans screen for the front line): reported, not settled.
    "plan.comment": inside,
    "alert.set_state": lambda a, p: role(a) in DASHBOARDS and inside(a, p),
    "rule.save": lambda a, p: role(a) in DATA_ADMINS and inside(a, p),
    # saving over the world rule by its name is a write to a world rule
    "rule.overwrite": lambda a, p: role(a) in DATA_ADMINS and inside(a, "world"),
    # a survey serves every agency: only a data admin of the world scope changes one
    "survey.save": lambda a, p: role(a) in DATA_ADMINS and inside(a, p),
    "survey.create": lambda a, p: role(a) in DATA_ADMINS and inside(a, p),
    "user.add": lambda a, p: role(a) in USER_ADMINS and inside(a, p),
    "user.remove": lambda a, p: role(a) in USER_ADMINS and inside(a, p),
    "user.set_scope": lambda a, p: role(a) in USER_ADMINS and inside(a, p),
    "user.set_roles": lambda a, p: role(a) in USER_ADMINS and inside(a, p),
    "user.set_password": lambda a, p: role(a) in USER_ADMINS and inside(a, p),
    "user.disable": lambda a, p: role(a) in USER_ADMINS and inside(a, p),
    # customers served by hand: the managers of the agency's geography and data admins
    "served.set": lambda a, p: role(a) in (*MANAGERS, *DATA_ADMINS) and inside(a, p),
    "served.delete": lambda a, p: role(a) in (*MANAGERS, *DATA_ADMINS) and inside(a, p),
}
FILE_ACTIONS = tuple(a for a in sorted(EXPECTED) if a.split(".")[0] in ("survey", "user"))
"""Writes to files (surveys, the users file): the same on either store, so run once."""
STORE_ACTIONS = tuple(a for a in sorted(EXPECTED) if a not in FILE_ACTIONS)


def places_of(action: str) -> tuple[str, ...]:
    """A survey has one place, the world; every other record is in Madrid or Paris."""
    return ("world",) if action.startswith("survey.") else tuple(PLACES)


def refused(exc: Exception) -> bool:
    """Refused for the role or the place: PermissionError, LookupError, or a case "not in your
    scope" (the case module's way of saying a case outside the scope does not exist)."""
    return isinstance(exc, PermissionError | LookupError) or (
        isinstance(exc, cases.CaseError) and "does not exist in your scope" in str(exc)
    )


def attempt(run: Callable[..., object], *args: object) -> bool | str:
    """True when done, False when refused for role or place, else the unexpected error."""
    try:
        run(*args)
    except Exception as exc:
        return False if refused(exc) else f"{type(exc).__name__}: {exc}"
    return True


# ---------------------------------------------------------------- the records, once per backend


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The data folder of the module: the demo organisation, the default survey and a users file
    (``people.yaml``) holding one advisor per agency."""
    folder = write_org(tmp_path_factory.mktemp("permissions") / "data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CX_DATA_DIR", str(folder))
        surveys.ensure_default(folder)
        for place in PLACES:
            users.add(
                f"{place.lower()}.adv",
                password=PASSWORD,
                name=place,
                email="",
                roles=["advisor"],
                scope=[f"agency:{place}"],
                path=folder / "people.yaml",
            )
        yield folder


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """A store of the module on SQLite, then on PostgreSQL (its own database on the suite's server)."""
    if request.param == "sqlite":
        engine = store.init(
            store.make_engine(f"sqlite:///{tmp_path_factory.mktemp('store') / 'cx.db'}")
        )
        yield engine
        engine.dispose()
        return
    server: str = request.getfixturevalue("postgres_server")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = store.init(store.make_engine(server.rsplit("/", 1)[0] + f"/{name}"))
    yield engine
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _detractor(s: Session, response_id: str, geo: dict[str, str]) -> int:
    """A new case for a detractor's response: its id."""
    response = {"response_id": response_id, "nps": 2, "wave": "2026-Q3", **geo}
    case = cases.open_case(s, response=response, reason="nps < 6", actor="rules")
    assert case is not None and case.id is not None
    return case.id


@pytest.fixture(scope="module")
def world(backend: Engine, root: Path) -> dict[str, Any]:
    """In Madrid and in Paris: a new case, one with its solution recorded and one resolved; a
    plan proposed by the CEO, owned by the agency's manager, with a task (the Madrid one owned by
    the Madrid advisor); and one world routing rule. Cells roll back, so all tests share them."""
    made: dict[str, Any] = {"engine": backend, "root": root}
    ceo = ACTORS["ceo"]
    with store.session(backend) as s:
        for name, geo in PLACES.items():
            new, solved, resolved = (_detractor(s, f"r-{name}-{k}", geo) for k in range(3))
            for cid in (solved, resolved):
                cases.record_solution(s, ceo, cid, expected_version=1, solution="refund")
            cases.resolve(s, ceo, resolved, expected_version=2)
            plan = plans.create_plan(
                s, user=ceo, title=f"{name} plan", owner=f"{name.lower()}.manager", **geo
            )
            assert plan.id is not None
            owner = "madrid.advisor" if name == "Madrid" else "paris.manager"
            task = plans.add_task(s, plan.id, user=ceo, title="Retrain", owner=owner)
            served.set_served(s, ceo, agency=name, month="2024-01", served=900, root=root)
            made[name] = {
                "case": new,
                "solved": solved,
                "resolved": resolved,
                "plan": plan.id,
                "task": task.id,
            }
        rule_store.save_rule(
            s,
            name="world rule",
            condition="nps <= 2",
            scope="world",
            actions=[{"type": "open_case"}],
            actor=ACTORS["admin"],
        )
    return made


def _store_action(action: str, w: dict[str, Any], place: str) -> Callable[[Session, User], object]:
    ids = w[place]
    alert = {"key": f"agency:{place}:attr_cleanliness:2026-Q3"}
    manager = f"{place.lower()}.manager"
    return {
        "case.log_call": lambda s, u: cases.log_call(
            s, u, ids["case"], expected_version=1, outcome="reached"
        ),
        "case.classify": lambda s, u: cases.classify(
            s, u, ids["case"], expected_version=1, importance="high", topic="cleanliness"
        ),
        "case.schedule_callback": lambda s, u: cases.schedule_callback(
            s, u, ids["case"], expected_version=1, due_at=store.utcnow()
        ),
        "case.record_solution": lambda s, u: cases.record_solution(
            s, u, ids["case"], expected_version=1, solution="refund"
        ),
        "case.forward": lambda s, u: cases.forward(
            s, u, ids["case"], expected_version=1, to=manager
        ),
        "case.resolve": lambda s, u: cases.resolve(s, u, ids["solved"], expected_version=2),
        "case.close": lambda s, u: cases.close(
            s, u, ids["resolved"], expected_version=3, note="customer satisfied"
        ),
        "plan.create": lambda s, u: plans.create_plan(
            s, user=u, title="new", owner=manager, agency=place
        ),
        "plan.edit": lambda s, u: plans.update_plan(
            s, ids["plan"], user=u, expected_version=1, progress=50
        ),
        "plan.approve": lambda s, u: plans.approve_plan(s, ids["plan"], user=u, expected_version=1),
        "plan.reject": lambda s, u: plans.reject_plan(s, ids["plan"], user=u, expected_version=1),
        "plan.add_task": lambda s, u: plans.add_task(
            s, ids["plan"], user=u, title="Call the supplier", owner=manager
        ),
        "plan.complete_task": lambda s, u: plans.complete_task(
            s, ids["task"], user=u, expected_version=1
        ),
        "plan.comment": lambda s, u: plans.add_comment(s, ids["plan"], user=u, text="Seen"),
        "alert.set_state": lambda s, u: alerts.set_state(s, u, alert, status="acknowledged"),
        "rule.save": lambda s, u: rule_store.save_rule(
            s,
            name=f"{place} rule",
            condition="nps <= 3",
            scope=f"agency:{place}",
            actions=[{"type": "open_case"}],
            actor=u,
        ),
        "rule.overwrite": lambda s, u: rule_store.save_rule(
            s,
            name="world rule",
            condition="nps <= 4",
            scope=f"agency:{place}",
            actions=[{"type": "open_case"}],
            actor=u,
        ),
        "served.set": lambda s, u: served.set_served(
            s, u, agency=place, month="2024-02", served=1200, root=w["root"]
        ),
        "served.delete": lambda s, u: served.delete_served(
            s, u, agency=place, month="2024-01", expected_version=1, root=w["root"]
        ),
    }[action]


def _file_action(action: str, folder: Path, place: str) -> Callable[[User], object]:
    people, account = folder / "people.yaml", f"{place.lower()}.adv"
    country = PLACES.get(place, {}).get("country")
    return {
        "survey.save": lambda u: surveys.save(folder, surveys.load(folder, "experience"), by=u),
        "survey.create": lambda u: surveys.create(folder, "pilot", by=u),
        "user.add": lambda u: users.add(
            f"{place.lower()}.new",
            password=PASSWORD,
            name="New",
            email="",
            roles=["advisor"],
            scope=[f"agency:{place}"],
            by=u,
            path=people,
        ),
        "user.remove": lambda u: users.remove(account, people, by=u),
        "user.set_scope": lambda u: users.set_scope(account, [f"country:{country}"], people, by=u),
        "user.set_roles": lambda u: users.set_roles(account, ["teleoperator"], people, by=u),
        "user.set_password": lambda u: users.set_password(account, PASSWORD[::-1], people, by=u),
        "user.disable": lambda u: users.set_disabled(account, True, people, by=u),
    }[action]


@contextmanager
def _kept(folder: Path) -> Iterator[None]:
    """Whatever a cell writes under ``folder`` is undone, so every cell starts from the same files."""
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    try:
        yield
    finally:
        for p in [p for p in folder.rglob("*") if p.is_file() and p not in before]:
            p.unlink()
        for p, content in before.items():
            if p.read_bytes() != content:
                p.write_bytes(content)


def _wrong(action: str, got: dict[tuple[str, str], bool | str]) -> dict[tuple[str, str], str]:
    want = {cell: EXPECTED[action](*cell) for cell in got}
    return {
        cell: f"got {got[cell]}, want {'allowed' if want[cell] else 'refused'}"
        for cell in got
        if got[cell] is not want[cell]
    }


@pytest.mark.parametrize("action", STORE_ACTIONS)
def test_every_role_may_do_exactly_what_its_row_says_inside_and_outside_its_scope(
    world: dict[str, Any], action: str
) -> None:
    engine = world["engine"]
    with Session(engine) as s:
        audited = s.exec(select(func.count()).select_from(store.AuditLog)).one()
    got: dict[tuple[str, str], bool | str] = {}
    for actor, user in ACTORS.items():
        for place in places_of(action):
            run = _store_action(action, world, place)
            with Session(engine, expire_on_commit=False) as s:
                try:
                    got[actor, place] = attempt(run, s, user)
                finally:
                    s.rollback()  # every cell starts from the same records
    wrong = _wrong(action, got)
    assert not wrong, f"{action}: allowed/refused differs from the table in {wrong}"
    with Session(engine) as s:  # and no cell left anything behind
        assert s.exec(select(func.count()).select_from(store.AuditLog)).one() == audited


@pytest.mark.parametrize("action", FILE_ACTIONS)
def test_every_role_may_change_surveys_and_accounts_exactly_as_its_row_says(
    root: Path, action: str
) -> None:
    got: dict[tuple[str, str], bool | str] = {}
    for actor, user in ACTORS.items():
        for place in places_of(action):
            run = _file_action(action, root, place)
            with _kept(root):
                got[actor, place] = attempt(run, user)
    wrong = _wrong(action, got)
    assert not wrong, f"{action}: allowed/refused differs from the table in {wrong}"


# ---------------------------------------------------------------- the matrix covers every write

COVERS: dict[str, Callable[..., object]] = {
    "case.log_call": cases.log_call,
    "case.classify": cases.classify,
    "case.schedule_callback": cases.schedule_callback,
    "case.record_solution": cases.record_solution,
    "case.forward": cases.forward,
    "case.resolve": cases.resolve,
    "case.close": cases.close,
    "plan.create": plans.create_plan,
    "plan.edit": plans.update_plan,
    "plan.approve": plans.approve_plan,
    "plan.reject": plans.reject_plan,
    "plan.add_task": plans.add_task,
    "plan.complete_task": plans.complete_task,
    "plan.comment": plans.add_comment,
    "alert.set_state": alerts.set_state,
    "rule.save": rule_store.save_rule,
    "rule.overwrite": rule_store.save_rule,
    "survey.save": surveys.save,
    "survey.create": surveys.create,
    "user.add": users.add,
    "user.remove": users.remove,
    "user.set_scope": users.set_scope,
    "user.set_roles": users.set_roles,
    "user.set_password": users.set_password,
    "user.disable": users.set_disabled,
    "served.set": served.set_served,
    "served.delete": served.delete_served,
}
NOT_WRITES = {
    plans.may_edit: "a check",
    plans.can_approve: "a check",
    plans.awaits_decision: "a check",
    users.authorize: "the check of every account write",
    plans.decide: "approve_plan and reject_plan",
    plans.propose: "create_plan from the form",
    plans.toggle_task: "complete_task from a checkbox",
    served.may_enter: "a check",
    users.analytics_scope: "a read: the rows an advisor's dashboards use (tests/core/test_advisor_scope.py)",
}
"""Functions taking the acting user that are not writes of their own, and what covers them."""


def test_every_function_taking_the_acting_user_is_a_row_of_the_matrix() -> None:
    takes_user = set()
    for module in (cases, plans, alerts, rule_store, surveys, users, served):
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ != module.__name__ or name.startswith("_"):
                continue
            hints = typing.get_type_hints(fn)
            if any("User" in str(hints.get(p)) for p in inspect.signature(fn).parameters):
                takes_user.add(fn)
    missing = takes_user - set(COVERS.values()) - set(NOT_WRITES)
    assert not missing, f"writes taking the acting user with no row: {missing}"
    assert set(EXPECTED) == set(COVERS)


def test_the_matrix_reads_the_one_role_table() -> None:
    assert (MANAGERS, FRONT_LINE, DASHBOARDS, DATA_ADMINS, USER_ADMINS) == (
        roles.MANAGERS,
        roles.FRONT_LINE,
        roles.DASHBOARD_READERS,
        roles.DATA_ADMINS,
        roles.USER_ADMINS,
    )
    assert {role(a) for a in ACTORS} == set(roles.ROLES)


# ---------------------------------------------------------------- details the matrix cannot show


@pytest.fixture
def org_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = write_org(tmp_path / "data")
    monkeypatch.setenv("CX_DATA_DIR", str(folder))
    return folder


def test_a_new_plan_takes_its_place_from_the_organisation_not_from_the_caller(
    engine: Engine, org_root: Path
) -> None:
    ceo, es = ACTORS["ceo"], ACTORS["country_manager"]
    with store.session(engine) as s:
        plan = plans.create_plan(s, user=ceo, title="t", owner="madrid.manager", agency="Madrid")
        assert (plan.region, plan.country) == ("Europe", "ES")
        for forged, message in (
            ({"country": "FR"}, "country 'FR' does not hold 'Madrid'"),
            ({"region": "Americas"}, "region 'Americas' does not hold 'Madrid'"),
        ):
            with pytest.raises(plans.PlanError, match=message):
                plans.create_plan(
                    s, user=ceo, title="t", owner="madrid.manager", agency="Madrid", **forged
                )
        # a Spanish manager cannot place a Paris plan in Spain by saying so
        with pytest.raises(plans.PlanError, match="country 'ES' does not hold 'Paris'"):
            plans.create_plan(
                s, user=es, title="t", owner="es.manager", country="ES", agency="Paris"
            )
        with pytest.raises(plans.PlanError, match="not a user of CX Review"):
            plans.create_plan(s, user=ceo, title="t", owner="someone@evil.example", agency="Madrid")
        with pytest.raises(plans.PlanError, match="does not see Madrid"):
            plans.create_plan(s, user=ceo, title="t", owner="paris.manager", agency="Madrid")
        assert [(p.country, p.agency) for p in plans.list_plans(s, Scope.world())] == [
            ("ES", "Madrid")
        ]


def test_an_alert_takes_its_place_from_its_key_and_the_organisation_not_from_the_caller(
    engine: Engine, org_root: Path
) -> None:
    forged = {"region": "Americas", "country": "FR", "agency": "Paris", "level": "country"}
    madrid = {"key": "agency:Madrid:attr_cleanliness:2026-Q3", **forged}
    paris = {"key": "agency:Paris:attr_cleanliness:2026-Q3", **forged, "country": "ES"}
    fr = User("fr.manager", "FR", "", ("country_manager",), Scope.parse("country:FR"))
    with store.session(engine) as s:
        row = alerts.set_state(s, ACTORS["country_manager"], madrid, status="acknowledged")
        assert (row.level, row.region, row.country, row.agency) == (
            "agency",
            "Europe",
            "ES",
            "Madrid",
        )
        with pytest.raises(PermissionError, match="outside your scope"):
            alerts.set_state(s, fr, madrid, status="dismissed")  # it says FR: it is Madrid's
        with pytest.raises(PermissionError, match="outside your scope"):
            alerts.set_state(s, ACTORS["country_manager"], paris, status="dismissed")
        assert [(r.key, r.status) for r in alerts.states(s, Scope.world()).values()] == [
            (madrid["key"], "acknowledged")
        ]


def test_a_scoped_admin_moves_an_account_only_within_their_scope_and_anyone_sets_their_own_password(
    tmp_path: Path, org_root: Path
) -> None:
    people, es_admin = tmp_path / "people.yaml", ACTORS["admin_es"]
    for name, scope in (("madrid.adv", "agency:Madrid"), ("paris.adv", "agency:Paris")):
        users.add(
            name,
            password=PASSWORD,
            name=name,
            email="",
            roles=["advisor"],
            scope=[scope],
            path=people,
        )
    with pytest.raises(users.UserForbidden, match="of agency:Paris"):  # the new scope
        users.set_scope("madrid.adv", ["agency:Paris"], people, by=es_admin)
    with pytest.raises(users.UserForbidden, match="of agency:Paris"):  # the scope it had
        users.set_scope("paris.adv", ["agency:Madrid"], people, by=es_admin)
    assert [(u.username, str(u.scope)) for u in users.all_users(people)] == [
        ("madrid.adv", "agency:Madrid"),
        ("paris.adv", "agency:Paris"),
    ]
    me = users.get("madrid.adv", people)
    assert me is not None
    assert users.set_password("madrid.adv", PASSWORD[::-1], people, by=me).stamp != me.stamp
    with pytest.raises(users.UserForbidden):  # a forged wider scope is not "me" any more
        users.set_password(
            "madrid.adv", PASSWORD, people, by=User(me.username, "", "", me.roles, Scope.world())
        )


def test_a_resolved_case_refuses_what_cannot_follow_and_a_closed_one_everything(
    engine: Engine,
) -> None:
    teleop = ACTORS["teleoperator"]
    with store.session(engine) as s:
        cid = _detractor(s, "r-1", PLACES["Madrid"])
        cases.record_solution(s, teleop, cid, expected_version=1, solution="refund")
        cases.resolve(s, teleop, cid, expected_version=2)
        with pytest.raises(cases.CaseError, match="resolved: it cannot be resolved now"):
            cases.resolve(s, teleop, cid, expected_version=3)
        with pytest.raises(cases.CaseError, match="cannot be callback scheduled now"):
            cases.schedule_callback(s, teleop, cid, expected_version=3, due_at=store.utcnow())
        cases.close(s, teleop, cid, expected_version=3, note="done")
        with pytest.raises(cases.CaseError, match="closed"):
            cases.log_call(s, teleop, cid, expected_version=4, outcome="reached")
