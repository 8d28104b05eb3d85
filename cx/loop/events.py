"""Domain events for the rest of the stack: each one queues, in the caller's transaction, one
outbox row per matching webhook subscription (:mod:`cx.loop.webhooks`), and a case's opening or
change goes to the helpdesk (:mod:`cx.loop.helpdesk`).

An event is queued once per subscription (dedupe ``webhook:<sub>:<key>``), so emitting it again,
after a retry of the action or a crash, sends nothing more.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlmodel import Session

from cx.loop import helpdesk, webhooks
from cx.loop.notify import agency_case_alert, case_number
from cx.store import Notification, utcnow

EVENT_TYPES = webhooks.EVENT_TYPES
CASE_KINDS = {"opened": "case.opened", "closed": "case.closed"}
"""Case event kinds with a type of their own; every other change is ``case.updated``."""


def emit(
    s: Session,
    type: str,  # noqa: A002 (the event's field name)
    data: Mapping[str, Any],
    *,
    region: str | None,
    country: str | None,
    agency: str | None,
    key: str,
    at: datetime | None = None,
) -> list[Notification]:
    """Queue the event for every subscription to ``type`` whose scope contains the geography."""
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type!r}: use one of {', '.join(EVENT_TYPES)}")
    body = webhooks.payload(type, data, at or utcnow())
    with s.no_autoflush:  # the caller's pending rows stay pending (it flushes when it wants)
        rows = [
            webhooks.queue(
                s, sub, type, body, key=key, region=region, country=country, agency=agency
            )
            for sub in webhooks.matching(s, type, region=region, country=country, agency=agency)
        ]
    return [r for r in rows if r is not None]


def case_data(case: Any) -> dict[str, Any]:
    """What a webhook tells about a case (the comment is stored masked already)."""
    return {
        "id": case.id,
        "number": case_number(case.id),
        "status": case.status,
        "agency": case.agency,
        "country": case.country,
        "region": case.region,
        "nps": case.nps,
        "importance": case.importance,
        "topic": case.topic,
        "assignee": case.assignee,
        "wave": case.wave,
        "comment": case.comment,
        "response_id": case.response_id,
    }


def case_event(
    s: Session, case: Any, *, kind: str, actor: str, now: datetime
) -> list[Notification]:
    """The event of one change of a case (``kind`` of its event log), its helpdesk row and, for a
    new case, the message to the agency's own chat. Nothing is flushed: the caller's pending rows
    (the case event itself) stay pending."""
    with s.no_autoflush:
        s.refresh(case)  # the change was a versioned UPDATE: read what it wrote
        type_ = CASE_KINDS.get(kind, "case.updated")
        key = f"case:{case.id}:{kind}:{uuid.uuid4().hex}"  # each change is its own event
        data = {**case_data(case), "change": kind, "actor": actor}
        rows = emit(
            s,
            type_,
            data,
            region=case.region,
            country=case.country,
            agency=case.agency,
            key=key,
            at=now,
        )
        if kind == "opened":
            agency_case_alert(s, case)  # the agency's own chat of org.yaml, if it has one
            ticket = helpdesk.queue_ticket(s, case, case_number(case.id))
        else:
            ticket = helpdesk.queue_update(s, case, kind=kind, actor=actor, key=key)
    return rows + ([ticket] if ticket is not None else [])
