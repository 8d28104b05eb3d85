"""The Zendesk connector against a fake Zendesk on loopback: an opened case creates a ticket of the
documented shape, a signed callback resolves / closes the case, a forged one is refused (401)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from cx import store
from cx.loop import cases, helpdesk, notify
from cx.server import hooks
from cx.store.models import Case, HelpdeskTicket
from tests.support.receivers import FakeZendesk, fake_zendesk

SECRET = "zendesk-signing-secret"


@pytest.fixture
def zendesk(monkeypatch: pytest.MonkeyPatch, root: Path) -> Any:
    with fake_zendesk() as zd:
        for key, value in {
            "CX_WEBHOOKS_ALLOW_LOCAL": "1",
            "CX_DATA_DIR": str(root),
            "CX_HELPDESK": "zendesk",
            "CX_ZENDESK_URL": zd.url,
            "CX_ZENDESK_EMAIL": zd.email,
            "CX_ZENDESK_TOKEN": zd.token,
            "CX_HELPDESK_SECRET": SECRET,
        }.items():
            monkeypatch.setenv(key, value)
        monkeypatch.delenv("CX_TELEGRAM_CHAT_ID", raising=False)
        yield zd


def open_case(engine: Engine, comment: str | None = None) -> int:
    with store.session(engine) as s:
        case = cases.open_case(
            s,
            response={
                "response_id": "r1",
                "nps": 1,
                "agency": "Madrid",
                "country": "ES",
                "region": "Europe",
                "wave": "2024-Q1",
                "customer_id": "C1",
                "comment": comment,
                "themes": [],
            },
            reason="test",
            actor="rules",
        )
        s.commit()
        assert case is not None and case.id is not None
        return case.id


def client(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.setattr(hooks, "store_engine", lambda: engine)
    return TestClient(Starlette(routes=hooks.ROUTES))


def signed(body: dict[str, Any], secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    stamp = str(int(time.time()))
    return raw, {
        "X-Zendesk-Webhook-Signature": helpdesk.signature(secret, stamp, raw),
        "X-Zendesk-Webhook-Signature-Timestamp": stamp,
        "Content-Type": "application/json",
    }


def test_an_opened_case_creates_a_ticket_of_the_documented_shape(
    sqlite_engine: Engine, zendesk: FakeZendesk
) -> None:
    case_id = open_case(sqlite_engine, "Call me at 612 345 678, the queue was endless")
    counts = notify.deliver_pending(sqlite_engine, notify.NotifySettings(directory={}))
    assert counts["sent"] == 1
    (ticket,) = zendesk.tickets.values()
    assert ticket["external_id"] == f"CX-{case_id:06d}"
    assert set(ticket) >= {"subject", "comment", "priority", "external_id", "tags"}
    assert ticket["priority"] == "high" and "cx-review" in ticket["tags"]
    assert "612 345 678" not in ticket["comment"]["body"]  # masked
    with store.session(sqlite_engine) as s:
        stored = s.exec(select(HelpdeskTicket)).one()
    assert (stored.case_id, stored.ticket_id, stored.provider) == (case_id, "1", "zendesk")


def test_wrong_credentials_are_retried_not_lost(
    sqlite_engine: Engine, zendesk: FakeZendesk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CX_ZENDESK_TOKEN", "wrong")
    open_case(sqlite_engine)
    assert notify.deliver_pending(sqlite_engine, notify.NotifySettings(directory={}))["retry"] == 1
    assert zendesk.refused == ["/api/v2/tickets.json"] and zendesk.tickets == {}


def test_a_signed_callback_resolves_then_closes_the_case(
    sqlite_engine: Engine, zendesk: FakeZendesk, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = open_case(sqlite_engine)
    notify.deliver_pending(sqlite_engine, notify.NotifySettings(directory={}))
    http = client(sqlite_engine, monkeypatch)
    body, headers = signed({"ticket_id": "1", "status": "Solved", "comment": "Refunded the fee"})
    answer = http.post("/hooks/helpdesk", content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "resolved"
    with store.session(sqlite_engine) as s:
        case = s.get(Case, case_id)
        assert case is not None and case.status == "resolved"
        assert case.solution == "Refunded the fee"
        actors = {e.actor for e in cases.case_events(s, cases.Scope.world(), case_id)}
    assert "helpdesk" in actors
    body, headers = signed({"external_id": f"CX-{case_id:06d}", "status": "closed"})
    assert http.post("/hooks/helpdesk", content=body, headers=headers).json()["status"] == "closed"
    with store.session(sqlite_engine) as s:
        case = s.get(Case, case_id)
        ticket = s.exec(select(HelpdeskTicket)).one()
    assert case is not None and case.status == "closed" and ticket.status == "closed"
    # the helpdesk's own changes are not echoed back to it as comments
    notify.deliver_pending(sqlite_engine, notify.NotifySettings(directory={}))
    assert zendesk.updates == []


@pytest.mark.parametrize("forgery", ["other secret", "no signature", "tampered body"])
def test_a_forged_callback_is_refused_and_changes_nothing(
    sqlite_engine: Engine, zendesk: FakeZendesk, monkeypatch: pytest.MonkeyPatch, forgery: str
) -> None:
    case_id = open_case(sqlite_engine)
    notify.deliver_pending(sqlite_engine, notify.NotifySettings(directory={}))
    body, headers = signed(
        {"ticket_id": "1", "status": "solved"}, "guess" if forgery == "other secret" else SECRET
    )
    if forgery == "no signature":
        headers.pop("X-Zendesk-Webhook-Signature")
    if forgery == "tampered body":
        body = body.replace(b"solved", b"closed")
    answer = client(sqlite_engine, monkeypatch).post(
        "/hooks/helpdesk", content=body, headers=headers
    )
    assert answer.status_code == 401
    with store.session(sqlite_engine) as s:
        case = s.get(Case, case_id)
    assert case is not None and case.status == "new"


def test_a_case_change_comments_on_the_ticket(sqlite_engine: Engine, zendesk: FakeZendesk) -> None:
    from cx.core import users

    case_id = open_case(sqlite_engine)
    settings = notify.NotifySettings(directory={})
    notify.deliver_pending(sqlite_engine, settings)
    manager = users.get("madrid.manager")
    assert manager is not None
    with store.session(sqlite_engine) as s:
        case = s.get(Case, case_id)
        assert case is not None
        cases.classify(
            s,
            manager,
            case_id,
            expected_version=case.version,
            importance="critical",
            topic="billing",
        )
        s.commit()
    assert notify.deliver_pending(sqlite_engine, settings)["sent"] == 1
    ((number, update),) = zendesk.updates
    assert number == 1 and "classified by madrid.manager" in update["comment"]["body"]
    assert update["comment"]["public"] is False
