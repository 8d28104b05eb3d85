"""Replies to the respondent: templates per language, rendered safely, sent by real SMTP on
loopback, logged in the case history; refused outside the user's role and scope."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy.engine import Engine
from sqlmodel import select

from cx import store
from cx.core.scope import Scope
from cx.core.users import User
from cx.loop import cases, notify, replies, rules
from cx.loop.notify import NotifySettings
from cx.store import Notification, StaleEdit
from cx.store.models import Case, Invitation, ReplyTemplate
from tests.support.apptest import demo_user
from tests.support.smtp import Sink

T0 = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
MADRID = Scope.parse("agency:Madrid")
PARIS_ADVISOR = User(
    username="paris.advisor",
    name="Inès Moreau (Paris advisor)",
    email="paris.advisor@cx-demo.example",
    roles=("advisor",),
    scope=Scope.parse("agency:Paris"),
)


@pytest.fixture(autouse=True)
def no_configured_chat(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CX_TELEGRAM_CHAT_ID", raising=False)


def open_case(engine: Engine, rid: str = "r1", language: str | None = "es", **geo: str) -> Case:
    where = geo or {"region": "Europe", "country": "ES", "agency": "Madrid"}
    with store.session(engine) as s:
        case = cases.open_case(
            s,
            response={
                "response_id": rid,
                "customer_id": "C0042",
                "nps": 2,
                "language": language,
                **where,
            },
            reason="nps <= 6",
            actor="rules",
            now=T0,
        )
        assert case is not None
        s.flush()
        s.expunge(case)
    return case


def test_default_templates_cover_every_language_with_their_own_texts() -> None:
    assert {"acknowledge", "resolved", "apology_callback"} <= set(replies.DEFAULT_TEMPLATES)
    for name, texts in replies.DEFAULT_TEMPLATES.items():
        assert set(texts) == set(replies.LANGUAGES), name
        assert len({subject for subject, _ in texts.values()}) == 4, name  # translated, not copied
        for subject, body in texts.values():
            assert "{case_ref}" in subject + body and "{first_name}" in body and "{agency}" in body
            names = set(rules._PLACEHOLDER.findall(subject + body))
            assert names <= set(replies.PLACEHOLDERS), (name, names)


def test_a_reply_goes_to_the_invited_address_in_the_case_language_and_is_logged(
    engine: Engine, smtp: tuple[Sink, int, list[Controller]]
) -> None:
    sink, port, _ = smtp
    case = open_case(engine)
    with store.session(engine) as s:
        s.add(
            Invitation(
                token_hash="h1",
                survey_id="s1",
                customer_id="C0042",
                first_name="Lucía",
                recipient="lucia@correo.es",
                language="es",
                expires_at=T0 + timedelta(days=7),
                response_id="r1",
            )
        )
    with store.session(engine) as s:
        sent = replies.reply(s, demo_user("madrid.advisor"), case.id, "acknowledge", now=T0)
        assert (sent.audience, sent.recipient, sent.agency) == (
            "customer",
            "lucia@correo.es",
            "Madrid",
        )
    ref = f"CX-{case.id:06d}"
    with store.session(engine) as s:
        history = cases.events_frame(s, MADRID, case.id)
    assert history["What"].to_list() == ["opened", "reply"]
    assert history["Who"][-1] == "madrid.advisor"
    assert f"subject: Su opinión sobre Madrid ({ref})" in history["Details"][-1]
    assert "template: acknowledge" in history["Details"][-1]

    settings = NotifySettings(smtp_host="127.0.0.1", smtp_port=port, smtp_timeout=5, directory={})
    assert notify.deliver_pending(
        engine, settings, now=datetime.now(UTC) + timedelta(seconds=1)
    ) == {
        "sent": 1,
        "retry": 0,
        "dead": 0,
        "skipped": 0,
    }
    [msg] = sink.messages
    assert msg["To"] == "lucia@correo.es"
    assert str(make_header(decode_header(msg["Subject"]))) == f"Su opinión sobre Madrid ({ref})"
    text = msg.get_payload(decode=True).decode()
    assert text.startswith("Hola, Lucía:") and f"el caso {ref}" in text
    assert "Pablo Navarro" in text and "El equipo de Madrid" in text and "{" not in text


def test_without_an_invitation_the_customer_address_and_english_fallback_are_used(
    engine: Engine,
) -> None:
    case = open_case(engine, "r2", language="de")  # no German template: English
    with store.session(engine) as s:
        sent = replies.reply(s, demo_user("madrid.teleop"), case.id, "apology_callback")
        again = replies.reply(
            s,
            demo_user("madrid.teleop"),
            case.id,
            "resolved",
            language="fr",
            edits={"body": "Bonjour {first_name}, c'est réglé ({case_ref}).\n{agent}"},
        )
    assert sent.recipient == rules.customer_email("C0042")
    assert sent.subject == f"We are sorry: we will call you back (CX-{case.id:06d})"
    assert sent.body.startswith("Hello customer,")
    assert again.subject == f"Dossier CX-{case.id:06d} résolu"
    assert again.body == f"Bonjour Madame, Monsieur, c'est réglé (CX-{case.id:06d}).\nElena Martín"
    assert sent.dedupe_key != again.dedupe_key  # one outbox row per reply event
    with store.session(engine) as s:
        assert [e.kind for e in cases.case_events(s, MADRID, case.id)].count("reply") == 2


def test_placeholders_are_filled_from_values_only_never_evaluated(engine: Engine) -> None:
    case = open_case(engine)
    with store.session(engine) as s:
        replies.save_template(
            s,
            demo_user("analyst"),
            "acknowledge",
            "es",
            "Caso {case_ref} {agency.__class__}",
            "{first_name} {agency} {agency.__class__.__init__} {0} {agency!r} {{agency}} {nope}",
        )
    with store.session(engine) as s:
        sent = replies.reply(s, demo_user("madrid.advisor"), case.id, "acknowledge")
    assert sent.subject == f"Caso CX-{case.id:06d} {{agency.__class__}}"
    assert sent.body == (
        "cliente Madrid {agency.__class__.__init__} {0} {agency!r} {Madrid} {nope}"
    )


def test_a_stale_template_save_is_refused_and_templates_list_saved_over_defaults(
    engine: Engine,
) -> None:
    analyst, manager = demo_user("analyst"), demo_user("madrid.manager")
    with store.session(engine) as s:
        [opened] = [t for t in replies.templates(s, "fr") if t.name == "resolved"]
        assert (opened.id, opened.version) == (None, 0)  # the default, not saved yet
        first = replies.save_template(s, analyst, "resolved", "fr", "Résolu", "C'est réglé.")
        assert first.version == 1
    with store.session(engine) as s, pytest.raises(StaleEdit):
        replies.save_template(s, manager, "resolved", "fr", "Mine", "Mine too.")  # opened v0
    with store.session(engine) as s:
        second = replies.save_template(s, manager, "resolved", "fr", "Résolu !", "Réglé.", 1)
        assert (second.version, second.updated_by) == (2, "madrid.manager")
    with store.session(engine) as s, pytest.raises(StaleEdit):
        replies.save_template(s, analyst, "resolved", "fr", "Old", "Old view.", 1)
    with store.session(engine) as s:
        french = replies.templates(s, "fr")
        assert [t.name for t in french] == ["acknowledge", "apology_callback", "resolved"]
        assert [t.subject for t in french if t.name == "resolved"] == ["Résolu !"]
        assert len(replies.templates(s)) == 12
        assert s.exec(select(ReplyTemplate)).one().body == "Réglé."


def test_template_edits_are_checked(engine: Engine) -> None:
    bad = [
        (demo_user("madrid.advisor"), "x_y", "en", "S", "B", cases.CaseForbidden),
        (demo_user("analyst"), "Bad Name", "en", "S", "B", replies.ReplyError),
        (demo_user("analyst"), "thanks", "de", "S", "B", replies.ReplyError),
        (demo_user("analyst"), "thanks", "en", "", "B", replies.ReplyError),
        (demo_user("analyst"), "thanks", "en", "two\nlines", "B", replies.ReplyError),
        (demo_user("analyst"), "thanks", "en", "S", "b" * 5001, replies.ReplyError),
    ]
    for user, name, lang, subject, body, error in bad:
        with store.session(engine) as s, pytest.raises(error):
            replies.save_template(s, user, name, lang, subject, body)
    with store.session(engine) as s:
        assert s.exec(select(ReplyTemplate)).all() == []


def test_replies_are_refused_outside_the_role_and_scope_and_on_closed_cases(
    engine: Engine,
) -> None:
    case = open_case(engine)
    for user, words in [
        (PARIS_ADVISOR, "does not exist in your scope"),
        (demo_user("paris.manager"), "does not exist in your scope"),
        (demo_user("analyst"), "may not work complaint cases"),
    ]:
        with store.session(engine) as s, pytest.raises(cases.CaseForbidden, match=words):
            replies.reply(s, user, case.id, "acknowledge")
    with store.session(engine) as s, pytest.raises(replies.ReplyError, match="unknown reply"):
        replies.reply(s, demo_user("madrid.advisor"), case.id, "no_such_template")
    with store.session(engine) as s, pytest.raises(replies.ReplyError, match="only the subject"):
        replies.reply(s, demo_user("madrid.advisor"), case.id, "acknowledge", edits={"to": "x"})
    with store.session(engine) as s:
        row = s.get(Case, case.id)
        assert row is not None
        row.status = "closed"
        s.add(row)
    with store.session(engine) as s, pytest.raises(replies.ReplyError, match="closed"):
        replies.reply(s, demo_user("madrid.advisor"), case.id, "acknowledge")
    with store.session(engine) as s:
        assert s.exec(select(Notification)).all() == []
        assert [e.kind for e in cases.case_events(s, Scope.world(), case.id)] == ["opened"]
