"""Outgoing webhooks per the Standard Webhooks specification: subscriptions (URL, event types,
scope, ``whsec_…`` secret), the signed request of one outbox row, and its delivery.

Events are queued by :mod:`cx.loop.events` as outbox rows (channel ``webhook``, recipient the
subscription id) and sent by the outbox sender (:func:`cx.loop.notify.deliver_pending`), which
retries with backoff and dead-letters. The ``webhook-id`` derives from the row's ``dedupe_key``,
so a retry carries the same id and a receiver can drop a duplicate.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import polars as pl
from sqlmodel import Session, col, select
from standardwebhooks.webhooks import Webhook

from cx import store
from cx.core.scope import Scope, contains
from cx.loop.transport import post_json
from cx.store import Notification, utcnow
from cx.store.models import WebhookSubscription
from cx.store.outbox import RecipientRefused, check_url

EVENT_TYPES = (
    "response.created",
    "case.opened",
    "case.updated",
    "case.closed",
    "alert.raised",
    "plan.updated",
)
TEST_EVENT = "webhook.test"
"""The type of the "send a test event" delivery (sent whatever the subscription's events)."""
DEFAULT_TIMEOUT = 10.0


class WebhookError(ValueError):
    """A subscription that cannot be saved or found (bad URL, event type, scope); says why."""


def timeout(env: Mapping[str, str] | None = None) -> float:
    """Seconds one HTTP post may take (``CX_WEBHOOK_TIMEOUT``, default 10): a slow receiver
    costs its own rows that long, never the others'."""
    text = (os.environ if env is None else env).get("CX_WEBHOOK_TIMEOUT") or ""
    try:
        value = float(text) if text.strip() else DEFAULT_TIMEOUT
    except ValueError:
        raise WebhookError(f"CX_WEBHOOK_TIMEOUT={text!r} is not a number of seconds") from None
    if value <= 0:
        raise WebhookError(f"CX_WEBHOOK_TIMEOUT={text!r} must be positive")
    return value


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _events(events: Iterable[str]) -> list[str]:
    chosen = sorted({e.strip() for e in events if e.strip()})
    if not chosen:
        raise WebhookError(f"no event type given: use some of {', '.join(EVENT_TYPES)}")
    unknown = [e for e in chosen if e not in EVENT_TYPES]
    if unknown:
        raise WebhookError(
            f"unknown event type {unknown[0]!r}: use some of {', '.join(EVENT_TYPES)}"
        )
    return chosen


def add(
    s: Session, *, url: str, events: Iterable[str], scope: str = "world", actor: str
) -> WebhookSubscription:
    """Subscribe ``url`` to ``events`` inside ``scope``; audited. The secret is in the returned row."""
    try:
        checked = check_url(url)
    except RecipientRefused as exc:
        raise WebhookError(str(exc)) from None
    try:
        parsed = Scope.parse(scope)
    except ValueError as exc:
        raise WebhookError(f"scope {scope!r}: {exc}") from None
    if not parsed.entries and not parsed.is_world:
        raise WebhookError("an empty scope receives nothing: give world or a place")
    sub = WebhookSubscription(
        id="wh_" + secrets.token_hex(12),
        url=checked,
        events=_events(events),
        scope=str(parsed) or "world",
        secret=new_secret(),
        created_by=actor,
    )
    s.add(sub)
    store.audit(
        s,
        actor=actor,
        action="webhook.add",
        entity="webhook",
        entity_id=sub.id,
        detail={"url": sub.url, "events": sub.events, "scope": sub.scope},
    )
    s.flush()
    return sub


def subscriptions(s: Session, *, include_removed: bool = False) -> list[WebhookSubscription]:
    """The subscriptions, oldest first (active ones only unless ``include_removed``)."""
    stmt = select(WebhookSubscription)
    if not include_removed:
        stmt = stmt.where(col(WebhookSubscription.disabled_at).is_(None))
    return list(
        s.exec(stmt.order_by(col(WebhookSubscription.created_at), col(WebhookSubscription.id)))
    )


def get(s: Session, sub_id: str) -> WebhookSubscription:
    """The active subscription ``sub_id``; :class:`WebhookError` when there is none."""
    sub = s.get(WebhookSubscription, sub_id)
    if sub is None or sub.disabled_at is not None:
        raise WebhookError(f"no webhook subscription {sub_id!r}")
    return sub


def remove(s: Session, sub_id: str, *, actor: str) -> WebhookSubscription:
    """Stop a subscription (kept, disabled, so its past deliveries still name it); audited. Its
    rows still queued are dead-lettered by the sender."""
    sub = get(s, sub_id)
    sub.disabled_at = utcnow()
    s.add(sub)
    store.audit(
        s, actor=actor, action="webhook.remove", entity="webhook", entity_id=sub.id, detail={}
    )
    s.flush()
    return sub


def matching(
    s: Session, event_type: str, *, region: str | None, country: str | None, agency: str | None
) -> list[WebhookSubscription]:
    """Active subscriptions to ``event_type`` whose scope contains the event's geography."""
    return [
        sub
        for sub in subscriptions(s)
        if event_type in sub.events
        and contains(Scope.parse(sub.scope), region=region, country=country, agency=agency)
    ]


def directory(s: Session) -> dict[str, Scope]:
    """The outbox directory of the active subscriptions: ``{"webhook:<id>": its scope}``."""
    return {f"webhook:{sub.id}": Scope.parse(sub.scope) for sub in subscriptions(s)}


def payload(event_type: str, data: Mapping[str, Any], at: datetime) -> str:
    """The JSON body of one event: ``{"type", "timestamp", "data"}``."""
    return json.dumps(
        {"type": event_type, "timestamp": at.isoformat(), "data": dict(data)},
        default=str,
        ensure_ascii=False,
        sort_keys=True,
    )


def message_id(dedupe_key: str) -> str:
    """The ``webhook-id`` of an outbox row: the same on every attempt."""
    return "msg_" + hashlib.sha256(dedupe_key.encode()).hexdigest()[:32]


def sign(sub: WebhookSubscription, msg_id: str, timestamp: datetime, body: str) -> dict[str, str]:
    """The Standard Webhooks headers of one request."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": Webhook(sub.secret).sign(msg_id, timestamp, body),
    }


def deliver(row: Notification, sub: WebhookSubscription, timeout_seconds: float) -> None:
    """Post one outbox row to its subscription, signed now; raise when it is not accepted."""
    post_json(
        check_url(sub.url),
        row.body.encode(),
        headers=sign(sub, message_id(row.dedupe_key), utcnow(), row.body),
        timeout=timeout_seconds,
    )


def queue(
    s: Session,
    sub: WebhookSubscription,
    event_type: str,
    body: str,
    *,
    key: str,
    region: str | None,
    country: str | None,
    agency: str | None,
) -> Notification | None:
    """The outbox row of one event for one subscription (dedupe ``webhook:<sub>:<key>``)."""
    return store.enqueue(
        s,
        channel="webhook",
        recipient=sub.id,
        subject=event_type,
        body=body,
        dedupe_key=f"webhook:{sub.id}:{key}",
        directory={f"webhook:{sub.id}": Scope.parse(sub.scope)},
        region=region,
        country=country,
        agency=agency,
    )


def send_test(s: Session, sub_id: str, *, actor: str) -> Notification:
    """Queue a test event (type ``webhook.test``) for one subscription, placed inside its scope."""
    sub = get(s, sub_id)
    scope = Scope.parse(sub.scope)
    geo: dict[str, str | None] = {"region": None, "country": None, "agency": None}
    if not scope.is_world and scope.entries:
        first = scope.entries[0]
        geo[first.level] = first.value
    now = utcnow()
    row = queue(
        s,
        sub,
        TEST_EVENT,
        payload(TEST_EVENT, {"subscription": sub.id, "requested_by": actor}, now),
        key=f"test:{secrets.token_hex(8)}",
        **geo,
    )
    assert row is not None, "a test event has a fresh key"
    s.flush()
    return row


def deliveries(s: Session, limit: int = 50) -> list[Notification]:
    """The most recent webhook deliveries (outbox rows of channel ``webhook``), newest first."""
    stmt = (
        select(Notification)
        .where(Notification.channel == "webhook")
        .order_by(col(Notification.created_at).desc(), col(Notification.id).desc())
        .limit(limit)
    )
    return list(s.exec(stmt))


def subscriptions_frame(s: Session) -> pl.DataFrame:
    """The active subscriptions as a table (no secrets)."""
    rows = [
        (sub.id, sub.url, ", ".join(sub.events), sub.scope, sub.created_by, sub.created_at)
        for sub in subscriptions(s)
    ]
    return pl.DataFrame(
        rows,
        schema={
            "id": pl.String,
            "url": pl.String,
            "events": pl.String,
            "scope": pl.String,
            "created_by": pl.String,
            "created_at": pl.Datetime("us", "UTC"),
        },
        orient="row",
    )


def deliveries_frame(s: Session, limit: int = 50) -> pl.DataFrame:
    """The recent deliveries with their status, attempts and last error, newest first."""
    rows = [
        (n.created_at, n.recipient, n.subject, n.status, n.attempts, n.sent_at, n.last_error)
        for n in deliveries(s, limit)
    ]
    return pl.DataFrame(
        rows,
        schema={
            "queued_at": pl.Datetime("us", "UTC"),
            "subscription": pl.String,
            "event": pl.String,
            "status": pl.String,
            "attempts": pl.Int64,
            "sent_at": pl.Datetime("us", "UTC"),
            "last_error": pl.String,
        },
        orient="row",
    )
