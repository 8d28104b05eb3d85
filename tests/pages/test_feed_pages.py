"""Rating comments, chat feed settings, reply templates (Case management) and the reply panel
(Complaint cases) under AppTest, as demo users on the demo data."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import col, select
from streamlit.testing.v1 import AppTest

from cx import store
from cx.core.scope import Scope
from cx.loop import cases, feed, rules
from cx.store import Notification, utcnow
from cx.store.models import CaseEvent, ChatFeed, RatingComment, ReplyTemplate, SurveyAnswer
from tests.support.apptest import demo_user, rendered_text, run_page

MADRID = {"region": "Europe", "country": "ES", "agency": "Madrid"}
PARIS = {"region": "Europe", "country": "FR", "agency": "Paris"}


def button(at: AppTest, label: str) -> object:
    return next(b for b in at.button if b.label == label)


@pytest.fixture
def ratings(app_store: Engine) -> Iterator[Engine]:
    """Madrid: 5 negative ratings 3 days old (3 commented within 24 h, 1 after 30 h, 1 never:
    60 %, 1 overdue) and a promoter; Paris: 1 negative, 2 hours old. Removed afterwards (the demo
    store is shared by the page tests)."""
    t0 = utcnow() - timedelta(days=3)
    answers = [(f"fp-m{i}", nps, MADRID, t0) for i, nps in enumerate([0, 3, 6, 5, 2, 9], start=1)]
    answers.append(("fp-p1", 4, PARIS, utcnow() - timedelta(hours=2)))
    with store.session(app_store) as s:
        for rid, nps, where, at in answers:
            row = {"response_id": rid, "wave": "2026-10", "nps": nps, **where}
            row["comment"] = f"Comentario {rid}, llamar al 612 345 678"
            s.add(
                SurveyAnswer(
                    response_id=rid, survey_id="s1", wave="2026-10", row=json.dumps(row),
                    received_at=at, **where,
                )
            )  # fmt: skip
    for rid, hours in [("fp-m1", 2), ("fp-m2", 10), ("fp-m3", 20), ("fp-m4", 30)]:
        with store.session(app_store) as s:
            feed.comment_rating(
                s, demo_user("madrid.advisor"), rid, "Llamado", now=t0 + timedelta(hours=hours)
            )
    yield app_store
    with store.session(app_store) as s:
        for model in (SurveyAnswer, RatingComment):
            s.exec(delete(model).where(col(model.response_id).startswith("fp-")))  # type: ignore[call-overload, attr-defined]
        for table in (ChatFeed, ReplyTemplate):  # only these tests write them
            s.exec(delete(table))  # type: ignore[call-overload]


def test_the_manager_sees_the_24_hour_figure_and_comments_an_overdue_rating(
    demo_root: Path, ratings: Engine
) -> None:
    at = run_page("screens/case_dashboard.py", "madrid.manager", demo_root)
    assert not at.exception
    figures = {m.label: m.value for m in at.metric}
    assert figures["Commented within 24 h"] == "60 %"
    assert figures["Uncommented past 24 h"] == "1" and figures["Negative ratings"] == "5"
    text = rendered_text(at)
    assert "fp-m5" in text and "[phone]" in text and "612 345 678" not in text
    assert "fp-p1" not in text and "Paris" not in text

    at.selectbox(key="rc_rating").set_value("fp-m5")
    at.text_area(key="rc_text").input("<b>Llamado</b> & disculpas")
    button(at, "Save comment").click().run()  # type: ignore[attr-defined]
    assert not at.exception
    assert [s.value for s in at.success][:1] == ["Rating fp-m5: comment saved."]
    figures = {m.label: m.value for m in at.metric}
    assert figures["Uncommented past 24 h"] == "0"
    assert figures["Commented within 24 h"] == "60 %"  # commented, but after 24 h
    assert "Every negative rating has been commented." in [s.value for s in at.success]
    with store.session(ratings) as s:
        [saved] = feed.rating_comments(s, Scope.parse("agency:Madrid"), "fp-m5")
    assert (saved.text, saved.author) == ("<b>Llamado</b> & disculpas", "madrid.manager")
    assert "<b>Llamado</b> & disculpas" in rendered_text(at)  # in a table: shown, not rendered


def test_the_chat_link_opens_its_rating_and_other_countries_see_only_their_own(
    demo_root: Path, ratings: Engine
) -> None:
    at = run_page(
        "screens/case_dashboard.py", "madrid.manager", demo_root, query={"rating": "fp-m5"}
    )
    assert at.selectbox(key="rc_rating").value == "fp-m5"
    fr = run_page("screens/case_dashboard.py", "fr.manager", demo_root)
    assert not fr.exception
    text = rendered_text(fr)
    assert "fp-p1" in text and "fp-m" not in text and "Madrid" not in text
    assert {m.label: m.value for m in fr.metric}["Commented within 24 h"] == "–"  # not due yet
    assert set(fr.selectbox(key="cf_agency").options) == {"Paris", "Lyon", "Marseille", "Toulouse"}


def test_a_manager_sets_the_agency_feed_from_the_settings(demo_root: Path, ratings: Engine) -> None:
    at = run_page("screens/case_dashboard.py", "madrid.manager", demo_root)
    assert at.selectbox(key="cf_agency").options == ["Madrid"]
    at.radio(key="cf_mode:Madrid").set_value("all")
    at.text_input(key="cf_chat:Madrid").input("-1001")
    button(at, "Save feed").click().run()  # type: ignore[attr-defined]
    assert not at.exception
    assert "Chat feed of Madrid: all." in [s.value for s in at.success]
    with store.session(ratings) as s:
        row = feed.feed_mode(s, "Madrid")
    assert row is not None and (row.mode, row.chat_id, row.updated_by) == (
        "all",
        "-1001",
        "madrid.manager",
    )
    at.text_input(key="cf_chat:Madrid").input("not a chat")
    button(at, "Save feed").click().run()  # type: ignore[attr-defined]
    assert any("not a Telegram chat id" in e.value for e in at.error)


def test_an_analyst_edits_a_reply_template_on_the_version_shown(
    demo_root: Path, ratings: Engine
) -> None:
    at = run_page("screens/case_dashboard.py", "analyst", demo_root)
    assert not at.exception
    at.selectbox(key="tp_pick").set_value("acknowledge:en").run()
    at.text_input(key="tp_subject:acknowledge:en:0").input("Thanks, {first_name} ({case_ref})")
    button(at, "Save template").click().run()  # type: ignore[attr-defined]
    assert "Reply template acknowledge (en) saved." in [s.value for s in at.success]
    with store.session(ratings) as s:
        saved = s.exec(select(ReplyTemplate)).one()
    assert (saved.subject, saved.version, saved.updated_by) == (
        "Thanks, {first_name} ({case_ref})",
        1,
        "analyst",
    )
    assert at.text_input(key="tp_subject:acknowledge:en:1").value == saved.subject


def test_an_advisor_replies_from_a_case_and_the_history_shows_it(
    demo_root: Path, app_store: Engine
) -> None:
    at = run_page("screens/cases.py", "madrid.advisor", demo_root)
    assert not at.exception
    # the first open case with a customer to write to (other tests of the session may have
    # closed or added cases in this store)
    listed = [int(o.split(" ")[0].lstrip("#")) for o in at.selectbox(key="case_pick").options]
    with store.session(app_store) as s:
        found = [cases.get_case(s, Scope.parse("agency:Madrid"), i) for i in listed]
    case = next(
        c
        for c in found
        if c is not None and c.status != "closed" and not rules.is_anonymous(c.customer_id)
    )
    case_id = case.id
    assert case_id is not None and case.language == "es"
    at.selectbox(key="case_pick").set_value(case_id).run()
    at.selectbox(key="rp_template").set_value("apology_callback").run()
    key = f"{case_id}:apology_callback:es"
    ref = f"CX-{case_id:06d}"
    assert at.text_input(key=f"rp_subject:{key}").value == f"Lo sentimos: le llamaremos ({ref})"
    body = at.text_area(key=f"rp_body:{key}").value
    assert body.startswith("Hola, cliente:") and "Pablo Navarro" in body
    at.text_area(key=f"rp_body:{key}").input(body + "\nPD: le llamamos mañana a las 10.")
    button(at, "Send reply").click().run()  # type: ignore[attr-defined]
    assert not at.exception
    assert f"Case #{case_id}: reply sent to the customer." in [s.value for s in at.success]
    try:
        history = at.dataframe[1].value  # the work list, then the history
        assert "reply" in list(history["What"])
        with store.session(app_store) as s:
            [sent] = s.exec(
                select(Notification).where(
                    col(Notification.dedupe_key).startswith(f"case:{case_id}:reply:")
                )
            ).all()
        assert sent.audience == "customer" and sent.body.endswith("a las 10.")
        assert sent.subject == f"Lo sentimos: le llamaremos ({ref})"
    finally:
        with store.session(app_store) as s:
            s.exec(delete(Notification).where(col(Notification.dedupe_key).contains(":reply:")))  # type: ignore[call-overload]
            s.exec(delete(CaseEvent).where(col(CaseEvent.kind) == "reply"))  # type: ignore[call-overload]
