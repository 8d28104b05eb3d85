"""The survey pages over real HTTP against the running server: each path of the default survey,
the loop it closes (case, e-mail on loopback SMTP, callback, the wave within a minute) and every
refusal (tampered state, missing CSRF token, replay, used invitation, oversize, honeypot)."""

from __future__ import annotations

import html
import re
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from cx import store
from cx.capture import invitations, links
from cx.core import data, org
from cx.store.models import Callback, Case, SurveyAnswer
from tests.support.chat import ChatLog
from tests.support.smtp import Sink
from tests.support.wait import wait_until

MADRID = links.open_link("experience", "Madrid", "qr", language="es")
PARIS_EN = links.open_link("experience", "Paris", "web", language="en")


def hidden(page: str) -> dict[str, str]:
    """The hidden fields of the page's form (state, csrf), unescaped."""
    found = re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page)
    return {k: html.unescape(v) for k, v in found}


def fields(page: str) -> set[str]:
    return set(
        re.findall(
            r'name="((?:nps|csat|attr_\w+|comment|followup_\w+|callback|phone|callback_slot))"',
            page,
        )
    )


def walk(client: httpx.Client, path: str, steps: list[dict[str, str]]) -> list[httpx.Response]:
    """Open ``path`` and post each step's answers; every response, the first GET included."""
    pages = [client.get(path)]
    for answers in steps:
        assert pages[-1].status_code == 200, pages[-1].text[:500]
        pages.append(client.post(path, data={**hidden(pages[-1].text), **answers}))
    return pages


def store_of(root: Path):  # type: ignore[no-untyped-def]
    return store.init(store.make_engine(f"sqlite:///{root / 'cx.db'}"))


@pytest.fixture
def client(survey_url: str):  # type: ignore[no-untyped-def]
    with httpx.Client(base_url=survey_url, timeout=30, follow_redirects=False) as c:
        yield c


def test_a_detractor_asking_a_callback_opens_a_case_mails_the_cleaning_contact_and_reaches_the_wave(
    client: httpx.Client,
    survey_root: Path,
    mailbox: tuple[Sink, int],
    team_chat: tuple[ChatLog, str],
) -> None:
    pages = walk(
        client,
        MADRID,
        [
            {"nps": "2"},
            {
                "attr_cleanliness": "1",
                "attr_waiting_time": "6",
                "attr_staff_attitude": "7",
                "attr_staff_competence": "7",
            },
            {"followup_cleanliness": "toilets"},
            {"comment": "Los baños estaban sucios <script>alert(1)</script>", "callback": "yes"},
            {"phone": "+34 612 345 678", "callback_slot": "afternoon"},
        ],
    )
    first, last = pages[0], pages[-1]
    assert (
        'lang="es"' in first.text
        and 'name="nps"' in first.text
        and "<script" not in first.text.lower()
    )
    assert fields(pages[1].text) >= {"attr_cleanliness", "attr_waiting_time"}
    assert fields(pages[2].text) == {"followup_cleanliness"}  # only the low attribute's precision
    assert fields(pages[3].text) == {"comment", "callback"}  # a detractor is offered a callback
    assert fields(pages[4].text) == {"phone", "callback_slot"}
    assert fields(pages[5].text) == set() and last.status_code == 200
    assert "<form" not in last.text
    engine = store_of(survey_root)
    with store.session(engine) as s:
        answer = s.exec(select(SurveyAnswer).where(SurveyAnswer.agency == "Madrid")).one()
    rid = answer.response_id

    def looped() -> Case | None:
        with store.session(engine) as s:
            found = s.exec(select(Case).where(Case.response_id == rid)).first()
            return found if found is not None and found.status == "callback_scheduled" else None

    case = wait_until(looped, 60)
    assert case is not None and case.status == "callback_scheduled"
    with store.session(engine) as s:
        callback = s.exec(select(Callback).where(Callback.case_id == case.id)).one()
    assert callback.phone == "+34612345678" and callback.slot == "afternoon"
    sink = mailbox[0]
    mail = wait_until(
        lambda: [m for m in sink.messages if m["To"] == "cleaning.madrid@cx-demo.example"], 30
    )
    assert mail, [m["To"] for m in sink.messages]
    chat = team_chat[0]
    posted = wait_until(
        lambda: [
            b for _, b in chat.posts if "Madrid" in b["text"] and "Case management" in b["text"]
        ],
        30,
    )
    assert posted, chat.texts()  # the negative rating, with the link to comment it
    assert "parse_mode" not in posted[0]  # plain text: the customer's "<script>" is never markup

    def in_wave() -> bool:
        frame = data.scan_responses(survey_root).filter(data.pl.col("response_id") == rid).collect()
        return frame.height == 1

    assert wait_until(in_wave, 60)
    row = (
        data.scan_responses(survey_root)
        .filter(data.pl.col("response_id") == rid)
        .collect()
        .row(0, named=True)
    )
    assert (row["wave"], row["nps"], row["attr_cleanliness"], row["channel"]) == (
        "2026-Q4",
        2,
        1,
        "qr",
    )


def test_a_promoter_is_asked_for_a_public_review_and_skips_the_callback(
    client: httpx.Client,
) -> None:
    pages = walk(
        client, PARIS_EN, [{"nps": "10"}, {"attr_cleanliness": "9"}, {"comment": "Lovely team"}]
    )
    assert fields(pages[2].text) == {"comment"}  # no precision question, no callback offer
    assert (
        pages[-1].status_code == 200
        and "https://" in pages[-1].text
        and "review" in pages[-1].text.lower()
    )


def test_a_replayed_last_step_and_a_tampered_state_store_nothing(
    client: httpx.Client, survey_root: Path
) -> None:
    engine = store_of(survey_root)
    pages = walk(client, PARIS_EN, [{"nps": "8"}, {"attr_cleanliness": "8"}])
    last_form = {**hidden(pages[-1].text), "comment": "fine"}
    with store.session(engine) as s:
        before = len(list(s.exec(select(SurveyAnswer))))
    done = client.post(PARIS_EN, data=last_form)
    again = client.post(PARIS_EN, data=last_form)
    assert done.status_code == 200 and again.status_code == 409
    state = last_form["state"]
    forged = {**last_form, "state": state[:-3] + ("aaa" if state[-3:] != "aaa" else "bbb")}
    no_csrf = {k: v for k, v in last_form.items() if k != "csrf"}
    assert client.post(PARIS_EN, data=forged).status_code == 400
    assert client.post(PARIS_EN, data=no_csrf).status_code == 400
    with store.session(engine) as s:
        assert len(list(s.exec(select(SurveyAnswer)))) == before + 1


@pytest.mark.parametrize(
    ("answers", "reason"),
    [
        ({"nps": "11"}, "Please check"),
        ({"nps": "7; drop table"}, "Please check"),
        ({}, "Please check"),
    ],
)
def test_a_malformed_score_is_refused_on_the_same_step(
    client: httpx.Client, answers: dict[str, str], reason: str
) -> None:
    first = client.get(PARIS_EN)
    refused = client.post(PARIS_EN, data={**hidden(first.text), **answers})
    assert refused.status_code == 400 and reason in refused.text and 'name="nps"' in refused.text


def test_forged_links_oversize_forms_and_the_honeypot_are_refused_without_a_traceback(
    client: httpx.Client, survey_root: Path
) -> None:
    assert client.get(MADRID[:-2] + "xx").status_code == 404
    assert client.get("/s/%3Cscript%3E").status_code == 404
    first = client.get(PARIS_EN)
    big = client.post(PARIS_EN, data={**hidden(first.text), "nps": "5", "comment": "x" * 20_000})
    assert big.status_code == 413
    engine = store_of(survey_root)
    with store.session(engine) as s:
        before = len(list(s.exec(select(SurveyAnswer))))
    pages = walk(client, PARIS_EN, [{"nps": "9"}, {"attr_cleanliness": "9"}])
    bot = client.post(
        PARIS_EN, data={**hidden(pages[-1].text), "comment": "buy now", "website": "http://spam"}
    )
    assert bot.status_code == 200
    with store.session(engine) as s:
        assert len(list(s.exec(select(SurveyAnswer)))) == before
    for r in (big, bot):
        assert "Traceback" not in r.text


def test_a_personal_invitation_answers_once_then_says_it_was_answered(
    client: httpx.Client, survey_root: Path
) -> None:
    engine = store_of(survey_root)
    organisation = org.load(survey_root)
    _, path = invitations.invite(
        engine,
        organisation,
        survey_id="experience",
        customer_id="C0000042",
        agency="Madrid",
        language="fr",
        first_name="Amélie",
    )
    pages = walk(client, path, [{"nps": "9"}, {"attr_cleanliness": "9"}, {"comment": "Très bien"}])
    assert 'lang="fr"' in pages[0].text and "Amélie" in html.unescape(
        pages[-1].text + pages[0].text
    )
    assert pages[-1].status_code == 200
    again = client.get(path)
    assert again.status_code == 410 and "déjà" in html.unescape(again.text)


def test_a_kiosk_thanks_the_customer_then_opens_the_survey_again_for_the_next_one(
    client: httpx.Client,
) -> None:
    kiosk = links.open_link("experience", "Valencia", "in_person", language="es", kiosk=True)
    pages = walk(client, kiosk, [{"nps": "9"}, {"attr_cleanliness": "9"}, {"comment": ""}])
    assert pages[-1].status_code == 200
    assert f'http-equiv="refresh" content="10;url={kiosk}"' in pages[-1].text
    assert f'href="{kiosk}"' in pages[-1].text  # "Siguiente cliente"


def test_the_opt_out_link_of_an_invitation_stops_the_next_invitation(
    client: httpx.Client, survey_root: Path
) -> None:
    engine = store_of(survey_root)
    organisation = org.load(survey_root)
    _, path = invitations.invite(
        engine,
        organisation,
        survey_id="experience",
        customer_id="C0000077",
        agency="Paris",
        language="fr",
    )
    token = links.link_of(path)
    form = client.get(f"/s/optout/{token}?lang=fr")
    assert form.status_code == 200 and "Confirmer" in form.text
    done = client.post(f"/s/optout/{token}?lang=fr", data=hidden(form.text))
    assert done.status_code == 200
    with pytest.raises(invitations.InvitationRefused):
        invitations.invite(
            engine,
            organisation,
            survey_id="experience",
            customer_id="C0000077",
            agency="Paris",
            cap_days=0,
        )
    assert client.post(f"/s/optout/{token}", data={}).status_code == 400  # no CSRF token
