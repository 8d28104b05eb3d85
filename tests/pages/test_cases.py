"""The case screens under AppTest, as demo users on the demo data: scope, actions, refused lost updates."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

from cx import store
from cx.core.scope import Scope
from cx.loop import cases
from tests.support.apptest import demo_user, rendered_text, run_page

MADRID = Scope.parse("agency:Madrid")


def first_open(engine: Engine, scope: Scope) -> cases.Case:
    with store.session(engine) as s:
        return cases.list_cases(s, scope, status=cases.OPEN_STATUSES)[0]


def test_teleoperator_sees_the_agency_work_list_and_a_call_script(
    demo_root: Path, app_store: Engine
) -> None:
    at = run_page("screens/cases.py", "madrid.teleop", demo_root)
    assert not at.exception
    text = rendered_text(at)
    top = first_open(app_store, MADRID)
    assert "open complaints" in text and f"case #{top.id}" in text
    assert [h.value for h in at.subheader][0].startswith(f"Case #{top.id}")
    script = at.code[0].value
    assert (
        "Guion de llamada" in script and top.customer_id in script
    )  # Madrid customers answered in Spanish
    assert "Elena Martín" in script
    assert "Paris" not in text


def test_country_manager_of_france_never_sees_madrid_cases(
    demo_root: Path, app_store: Engine
) -> None:
    madrid_ids = {f"#{c.id}" for c in cases.list_cases(Session(app_store), MADRID)}
    for page in ("screens/cases.py", "screens/case_dashboard.py"):
        at = run_page(page, "fr.manager", demo_root)
        assert not at.exception
        text = rendered_text(at)
        assert "Madrid" not in text and "Paris" in text
        assert not any(f"{i} " in text or f"{i}\n" in text for i in madrid_ids)


def test_agency_manager_dashboard_shows_the_agency_figures(
    demo_root: Path, app_store: Engine
) -> None:
    at = run_page("screens/case_dashboard.py", "madrid.manager", demo_root)
    assert not at.exception
    with store.session(app_store) as s:
        board = cases.dashboard(s, MADRID)
    labels = {m.label: m.value for m in at.metric}
    assert labels["Open cases"] == f"{board['totals']['open']:,}"
    assert at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")
    assert "Paris" not in rendered_text(at)


def test_logging_a_call_saves_and_a_stale_form_is_refused_with_a_clear_message(
    demo_root: Path, app_store: Engine
) -> None:
    at = run_page("screens/cases.py", "madrid.advisor", demo_root)
    case_id = at.selectbox(key="case_pick").value
    with store.session(app_store) as s:
        before = cases.get_case(s, MADRID, case_id)
    assert before is not None
    at.radio(key="call_outcome").set_value("no_answer")
    at.button[0].click().run()  # "Log call", the first form button
    assert not at.exception
    assert [s.value for s in at.success] == [f"Case #{case_id}: call logged."]
    with store.session(app_store) as s:
        after = cases.get_case(s, MADRID, case_id)
    assert (
        after is not None
        and after.version == before.version + 1
        and after.attempts == before.attempts + 1
    )

    # Someone else saves the same case while this screen is open: the next save is refused.
    with store.session(app_store) as s:
        cases.classify(
            s,
            demo_user("madrid.teleop"),
            case_id,
            expected_version=after.version,
            importance="critical",
            topic="cleanliness",
        )
    at.radio(key="call_outcome").set_value("reached")
    at.button[0].click().run()
    assert any("changed by someone else" in e.value for e in at.error)
    with store.session(app_store) as s:
        final = cases.get_case(s, MADRID, case_id)
    assert final is not None and final.attempts == after.attempts and final.first_contact_at is None
