"""Outgoing webhooks: Standard Webhooks signatures, scoped subscriptions, once-per-subscription
delivery through the outbox (receiver down, then back), and a slow receiver that holds only its
own rows. Real HTTP on loopback, a real SQLite store."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from cx import store
from cx.loop import cases, events, notify, webhooks
from cx.store import Notification, utcnow
from tests.support.receivers import receiver


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
    monkeypatch.setenv("CX_WEBHOOKS_ALLOW_LOCAL", "1")
    monkeypatch.setenv("CX_DATA_DIR", str(root))
    for key in ("CX_TELEGRAM_CHAT_ID", "CX_HELPDESK", "CX_WEBHOOK_TIMEOUT"):
        monkeypatch.delenv(key, raising=False)


def settings(**kw: Any) -> notify.NotifySettings:
    return notify.NotifySettings(directory={}, backoff=timedelta(seconds=1), **kw)


def subscribe(engine: Engine, url: str, events_: list[str], scope: str = "world") -> Any:
    with store.session(engine) as s:
        sub = webhooks.add(s, url=url, events=events_, scope=scope, actor="test")
        s.commit()
        s.refresh(sub)
        return sub


def open_case(engine: Engine, response_id: str, agency: str, country: str) -> int:
    with store.session(engine) as s:
        case = cases.open_case(
            s,
            response={
                "response_id": response_id,
                "nps": 2,
                "agency": agency,
                "country": country,
                "region": "Europe",
                "wave": "2024-Q1",
                "customer_id": "C1",
                "themes": [],
            },
            reason="test",
            actor="rules",
        )
        s.commit()
        assert case is not None and case.id is not None
        return case.id


def test_a_delivery_is_verifiable_with_the_standardwebhooks_package(sqlite_engine: Engine) -> None:
    with receiver() as rec:
        sub = subscribe(sqlite_engine, rec.url, ["case.opened"])
        case_id = open_case(sqlite_engine, "r1", "Madrid", "ES")
        assert notify.deliver_pending(sqlite_engine, settings())["sent"] == 1
    (got,) = rec.accepted()
    assert got.headers["webhook-signature"].startswith("v1,")
    payload = Webhook(sub.secret).verify(got.body, got.headers)
    assert payload["type"] == "case.opened"
    assert payload["data"]["id"] == case_id and payload["data"]["number"] == f"CX-{case_id:06d}"
    assert set(payload) == {"type", "timestamp", "data"}
    with pytest.raises(WebhookVerificationError):  # another secret does not verify it
        Webhook(webhooks.new_secret()).verify(got.body, got.headers)
    tampered = got.body.replace(b"Madrid", b"Paris!")
    with pytest.raises(WebhookVerificationError):
        Webhook(sub.secret).verify(tampered, got.headers)


def test_a_scoped_subscription_gets_only_its_events_inside_its_scope(sqlite_engine: Engine) -> None:
    with receiver() as spain, receiver() as everything:
        subscribe(sqlite_engine, spain.url, ["case.opened"], scope="country:ES")
        subscribe(sqlite_engine, everything.url, ["case.opened", "case.updated"])
        open_case(sqlite_engine, "r1", "Madrid", "ES")
        open_case(sqlite_engine, "r2", "Paris", "FR")
        with store.session(sqlite_engine) as s:  # an event type the Spanish one did not ask for
            events.emit(
                s,
                "case.updated",
                {"id": 1},
                region="Europe",
                country="ES",
                agency="Madrid",
                key="manual:1",
            )
            s.commit()
        notify.deliver_pending(sqlite_engine, settings())
    spanish = [r.json() for r in spain.accepted()]
    assert [(p["type"], p["data"]["agency"]) for p in spanish] == [("case.opened", "Madrid")]
    assert sorted(r.json()["type"] for r in everything.accepted()) == [
        "case.opened",
        "case.opened",
        "case.updated",
    ]


def test_a_receiver_down_then_back_gets_each_event_once_with_the_same_id(
    sqlite_engine: Engine,
) -> None:
    with receiver() as rec:
        subscribe(sqlite_engine, rec.url, ["case.opened"])
        open_case(sqlite_engine, "r1", "Madrid", "ES")
        open_case(sqlite_engine, "r2", "Madrid", "ES")
        for expected in (1, 0):  # emitting the same event again queues nothing
            with store.session(sqlite_engine) as s:
                queued = events.emit(
                    s,
                    "case.opened",
                    {"id": 1},
                    region="Europe",
                    country="ES",
                    agency="Madrid",
                    key="replayed:1",
                )
                s.commit()
            assert len(queued) == expected
        rec.status = 503  # down
        first = notify.deliver_pending(sqlite_engine, settings())
        assert first["retry"] == 3 and first["sent"] == 0
        later = utcnow() + timedelta(seconds=5)
        assert notify.deliver_pending(sqlite_engine, settings(), now=later)["retry"] == 3
        rec.status = 200  # back
        back = notify.deliver_pending(sqlite_engine, settings(), now=later + timedelta(minutes=1))
        assert back["sent"] == 3
        assert notify.deliver_pending(sqlite_engine, settings(), now=later + timedelta(days=1)) == {
            "sent": 0,
            "retry": 0,
            "dead": 0,
            "skipped": 0,
        }
    ids = [r.headers["webhook-id"] for r in rec.requests]
    assert len(rec.requests) == 9 and len(set(ids)) == 3  # 3 attempts each, one id per event
    accepted = [r.headers["webhook-id"] for r in rec.accepted()]
    assert sorted(accepted) == sorted(set(ids))  # each event accepted exactly once


def test_a_slow_receiver_does_not_delay_another_subscription(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CX_WEBHOOK_TIMEOUT", "1")
    with receiver(delay=3.0) as slow, receiver() as fast:
        subscribe(sqlite_engine, slow.url, ["case.opened"])  # queued first
        subscribe(sqlite_engine, fast.url, ["case.opened"])
        open_case(sqlite_engine, "r1", "Madrid", "ES")
        started = time.monotonic()
        counts = notify.deliver_pending(sqlite_engine, settings())
        took = time.monotonic() - started
    assert counts["sent"] == 1 and counts["retry"] == 1  # the slow one timed out, retried later
    (got,) = fast.accepted()
    assert got.at - started < 0.8  # not behind the slow receiver's 1 s timeout
    assert took < 2.5  # the batch waited the timeout, never the receiver's 3 s
    with store.session(sqlite_engine) as s:
        errors = [n.last_error for n in s.exec(select(Notification)) if n.status == "pending"]
    assert len(errors) == 1 and "timed out" in (errors[0] or "")


def test_a_removed_subscription_is_never_sent_to(sqlite_engine: Engine) -> None:
    with receiver() as rec:
        sub = subscribe(sqlite_engine, rec.url, ["case.opened"])
        open_case(sqlite_engine, "r1", "Madrid", "ES")
        with store.session(sqlite_engine) as s:
            webhooks.remove(s, sub.id, actor="test")
            s.commit()
        assert notify.deliver_pending(sqlite_engine, settings())["dead"] == 1
    assert rec.requests == []


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/hook", "not an http"),
        ("https://user:pw@example.com/hook", "credentials"),
        ("not a url", "not an http"),
    ],
)
def test_bad_urls_are_refused(sqlite_engine: Engine, url: str, message: str) -> None:
    with store.session(sqlite_engine) as s, pytest.raises(webhooks.WebhookError, match=message):
        webhooks.add(s, url=url, events=["case.opened"], actor="test")


def test_loopback_needs_the_local_switch(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CX_WEBHOOKS_ALLOW_LOCAL")
    with store.session(sqlite_engine) as s, pytest.raises(webhooks.WebhookError, match="local"):
        webhooks.add(s, url="http://127.0.0.1:9/hook", events=["case.opened"], actor="test")
    with store.session(sqlite_engine) as s, pytest.raises(webhooks.WebhookError, match="unknown"):
        webhooks.add(s, url="https://example.com/h", events=["case.eaten"], actor="test")


def test_the_test_event_reaches_a_scoped_subscription(sqlite_engine: Engine) -> None:
    with receiver() as rec:
        sub = subscribe(sqlite_engine, rec.url, ["plan.updated"], scope="agency:Madrid")
        with store.session(sqlite_engine) as s:
            webhooks.send_test(s, sub.id, actor="test")
            s.commit()
        assert notify.deliver_pending(sqlite_engine, settings())["sent"] == 1
    assert Webhook(sub.secret).verify(rec.requests[0].body, rec.requests[0].headers)["type"] == (
        "webhook.test"
    )
