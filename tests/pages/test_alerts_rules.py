"""AppTest of the Alerts and Routing rules screens: scope, takeaway, audited actions, rule testing."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cx import store
from cx.analytics import overview
from cx.core import users
from cx.core.filters import Filters
from cx.loop import alerts
from tests.support.apptest import ROOT, rendered_text, run_page, signed_in, takeaway_of
from tests.support.datadir import write_org, write_waves
from tests.support.frames import routing_answers

FOREIGN = {
    "es.manager": ["Paris", "Lyon", "Marseille", "Toulouse", "London", "Moscow"],
    "fr.manager": ["Madrid", "Barcelona", "Sevilla", "London"],
    "madrid.manager": ["Barcelona", "Valencia", "Sevilla", "Paris", "Marseille"],
    "paris.manager": ["Lyon", "Marseille", "Toulouse", "Madrid"],
}


@pytest.mark.parametrize(
    "username", ["ceo", "es.manager", "fr.manager", "madrid.manager", "paris.manager"]
)
def test_alerts_page_shows_the_users_alerts_and_nothing_outside_the_scope(
    demo_root: Path, responses: object, username: str
) -> None:
    at = run_page("screens/alerts.py", username, demo_root)
    assert not at.exception
    user = users.get(username, demo_root / "users.yaml")
    assert user is not None
    f = Filters(wave=overview.waves(responses)[-1])  # type: ignore[arg-type]
    expected = alerts.detect(responses, user.scope, f)  # type: ignore[arg-type]
    assert takeaway_of(at) == alerts.takeaway(expected, f.wave)
    text = rendered_text(at)
    for name in FOREIGN.get(username, []):
        assert name not in text, f"{name} leaked to {username}"
    if username in ("ceo", "es.manager", "madrid.manager"):
        assert (
            takeaway_of(at)
            .split("; the most urgent: ")[1]
            .startswith("Cleanliness in Madrid fell from 7.9 to 5.9")
        )
    if username == "paris.manager":
        assert takeaway_of(at).startswith("No attribute alert in your scope at 2026-Q3")


def test_acknowledging_an_alert_is_stored_and_audited(
    demo_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    at = run_page("screens/alerts.py", "madrid.manager", demo_root)
    assert [m.value for m in at.markdown if m.value.startswith("#### ")][
        0
    ] == "#### Cleanliness · Madrid"
    at.button(key="ack0").click().run()
    assert not at.exception
    engine = store.init(store.make_engine(store.database_url(demo_root)))
    key = "agency:Madrid:attr_cleanliness:2026-Q3"
    scope = users.get("madrid.manager", demo_root / "users.yaml").scope  # type: ignore[union-attr]
    with store.session(engine) as s:
        state = alerts.states(s, scope)[key]
        assert (state.status, state.updated_by) == ("acknowledged", "madrid.manager")
        trail = store.audit_trail(s, scope, entity="alert", entity_id=key)
        assert trail[0].action == "alert.acknowledged" and trail[0].actor == "madrid.manager"
    assert "status: **acknowledged**" in " ".join(c.value for c in at.caption)
    at.text_input(key="ref0").input("ticket CX-42").run()
    at.button(key="link0").click().run()
    with store.session(engine) as s:
        assert alerts.states(s, scope)[key].action_ref == "ticket CX-42"
        assert store.audit_trail(s, scope, entity="alert", entity_id=key)[0].action == "alert.link"
    engine.dispose()


def test_rules_page_tests_a_condition_and_points_at_errors(
    demo_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    at = run_page("screens/rules.py", "analyst", demo_root)
    assert not at.exception
    table = at.dataframe[0].value
    assert {"Madrid cleanliness", "Complaint follow-up"} <= set(table["name"])
    assert "routing rules active" in takeaway_of(at) or "routing rule active" in takeaway_of(at)
    at.text_area(key="rule_condition").input("attr_cleanliness < 4 AND city = 'Madrid'").run()
    assert not at.exception and not at.error
    metric = at.metric[0]
    assert (
        metric.label == "Matching responses at 2026-Q3" and int(metric.value.replace(",", "")) > 0
    )
    preview = at.dataframe[1].value
    assert set(preview["agency"]) == {"Madrid"} and (preview["attr_cleanliness"] < 4).all()
    at.text_area(key="rule_condition").input("nps < 6 AND ctiy = 'Madrid'").run()
    assert [e.value for e in at.error] == [
        "unknown column 'ctiy' at position 13. Fix the condition and try again."
    ]


@pytest.mark.parametrize("username", ["madrid.manager", "ceo", "madrid.advisor"])
def test_only_analysts_open_the_rules_page(demo_root: Path, username: str) -> None:
    direct = AppTest.from_file(str(ROOT / "screens/rules.py"), default_timeout=60)
    signed_in(direct, username)
    direct.run()
    assert not direct.exception and [e.value for e in direct.error] == [
        "Your role does not give access to this screen."
    ]
    assert not direct.dataframe


def test_front_line_staff_cannot_open_the_alerts_page(demo_root: Path) -> None:
    direct = AppTest.from_file(str(ROOT / "screens/alerts.py"), default_timeout=60)
    signed_in(direct, "madrid.teleop")
    direct.run()
    assert [e.value for e in direct.error] == ["Your role does not give access to this screen."]
    assert not any('class="cx-takeaway"' in el.proto.body for el in direct.get("html"))


def test_running_the_rules_from_the_page_routes_once_and_refreshes_the_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    write_org(write_waves(tmp_path, routing_answers()))
    at = run_page("screens/rules.py", "analyst", tmp_path)
    assert (
        takeaway_of(at) == "2 routing rules active; none has routed a response yet: run them below."
    )
    run = next(b for b in at.button if b.label.startswith("Run every enabled rule"))
    run.click().run()  # complaints r2, r3, r6 (nps < 6 or a negative comment) + Madrid cleanliness r2, r6
    assert not at.exception
    assert at.success[0].value.startswith(
        "5 matching responses; 5 new hits, 3 cases opened, 5 e-mails queued"
    )
    assert (
        takeaway_of(at)
        == "2 routing rules active, 5 responses routed so far; the busiest is 'Complaint follow-up' (3 responses)."
    )
    next(b for b in at.button if b.label.startswith("Run every enabled rule")).click().run()
    assert at.success[0].value.startswith(
        "5 matching responses; 0 new hits, 0 cases opened, 0 e-mails queued"
    )


def test_saving_a_rule_says_so_after_the_rerun_and_a_nameless_one_is_refused_in_the_form(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    write_org(write_waves(tmp_path, routing_answers()))
    at = run_page("screens/rules.py", "analyst", tmp_path)
    at.text_area(key="rule_condition").input("nps < 3").run()
    next(b for b in at.button if b.label == "Save rule").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "a rule needs a name of 1 to 120 characters. Nothing was saved."
    ]
    next(t for t in at.text_input if t.label == "Name").input("Very unhappy customers")
    next(b for b in at.button if b.label == "Save rule").click().run()
    assert [s.value for s in at.success] == ["Rule 'Very unhappy customers' saved."]
    assert not at.error  # the refusal was shown once, not again after the next action
    assert "Very unhappy customers" in set(at.dataframe[0].value["name"])
    at.run()
    assert not at.success  # the message is shown once
