"""The helpdesk connector (Zendesk): an opened case becomes a ticket, a change of the case a
private comment on it, and the helpdesk's signed webhook back tells us the ticket's status.

Configured by ``CX_HELPDESK=zendesk``, ``CX_ZENDESK_URL``, ``CX_ZENDESK_EMAIL``,
``CX_ZENDESK_TOKEN`` (API token, basic auth ``email/token:token``) and ``CX_HELPDESK_SECRET`` (the
signing secret of the Zendesk webhook calling ``POST /hooks/helpdesk``). Tickets are created
through the outbox (channel ``helpdesk``), so a helpdesk that is down delays, never loses, them.

The Zendesk webhook's JSON body (a trigger on ticket updates) is expected as::

    {"ticket_id": "{{ticket.id}}", "external_id": "{{ticket.external_id}}",
     "status": "{{ticket.status}}", "comment": "{{ticket.latest_public_comment}}"}
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from cx import store
from cx.core import privacy
from cx.core.scope import Scope
from cx.loop.transport import post_json
from cx.store import Notification, utcnow
from cx.store.models import HelpdeskTicket
from cx.store.outbox import check_url

PROVIDERS = ("zendesk",)
SYSTEM_USER = "helpdesk"
"""The actor of case changes that come from the helpdesk (they are not echoed back to it)."""
STATUS_ACTIONS = {"solved": "resolve", "closed": "close"}
"""Ticket statuses that change the case; others (new, open, pending, hold) only update the ticket."""


class HelpdeskError(ValueError):
    """Bad helpdesk settings or callback (names the variable or field)."""


@dataclass(frozen=True)
class HelpdeskSettings:
    provider: str
    url: str
    email: str
    token: str = field(repr=False)
    secret: str = field(repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> HelpdeskSettings | None:
        """The ``CX_HELPDESK`` / ``CX_ZENDESK_*`` settings; None when no helpdesk is configured."""
        e = os.environ if env is None else env
        provider = (e.get("CX_HELPDESK") or "").strip().lower()
        if not provider:
            return None
        if provider not in PROVIDERS:
            raise HelpdeskError(f"CX_HELPDESK={provider!r}: use one of {', '.join(PROVIDERS)}")
        missing = [
            k
            for k in (
                "CX_ZENDESK_URL",
                "CX_ZENDESK_EMAIL",
                "CX_ZENDESK_TOKEN",
                "CX_HELPDESK_SECRET",
            )
            if not (e.get(k) or "").strip()
        ]
        if missing:
            raise HelpdeskError(f"CX_HELPDESK=zendesk needs {', '.join(missing)}")
        return cls(
            provider=provider,
            url=str(e["CX_ZENDESK_URL"]).strip().rstrip("/"),
            email=str(e["CX_ZENDESK_EMAIL"]).strip(),
            token=str(e["CX_ZENDESK_TOKEN"]).strip(),
            secret=str(e["CX_HELPDESK_SECRET"]).strip(),
        )


DIRECTORY = {f"helpdesk:{p}": Scope.world() for p in PROVIDERS}
"""The outbox directory of the helpdesk channel: the configured helpdesk sees every case."""


def _priority(importance: str) -> str:
    return {"low": "low", "normal": "normal", "high": "high", "critical": "urgent"}.get(
        importance, "normal"
    )


def ticket_request(case: Any, number: str) -> dict[str, Any]:
    """The documented ``POST /api/v2/tickets.json`` body for a case (comment masked)."""
    comment = privacy.mask_text(
        f"Complaint {number} at {case.agency}: NPS {case.nps}, wave {case.wave}."
        + (f"\n“{case.comment}”" if case.comment else "")
    )
    return {
        "ticket": {
            "subject": f"Complaint {number} at {case.agency}: NPS {case.nps}",
            "comment": {"body": comment},
            "priority": _priority(case.importance),
            "external_id": number,
            "tags": ["cx-review", f"agency-{str(case.agency or '').lower()}"],
        }
    }


def queue_ticket(s: Session, case: Any, number: str) -> Notification | None:
    """Queue the ticket of a new case in the caller's transaction; None without a helpdesk."""
    settings = HelpdeskSettings.from_env()
    if settings is None:
        return None
    body = {"action": "create", "case_id": case.id, **ticket_request(case, number)}
    return store.enqueue(
        s,
        channel="helpdesk",
        recipient=settings.provider,
        subject=f"ticket for {number}",
        body=json.dumps(body, ensure_ascii=False),
        dedupe_key=f"helpdesk:case:{case.id}:ticket",
        directory=DIRECTORY,
        region=case.region,
        country=case.country,
        agency=case.agency,
    )


def queue_update(s: Session, case: Any, *, kind: str, actor: str, key: str) -> Notification | None:
    """Queue a private comment on the case's ticket about a change (not for the helpdesk's own
    changes, which would echo back); None without a helpdesk."""
    settings = HelpdeskSettings.from_env()
    if settings is None or actor == SYSTEM_USER:
        return None
    text = privacy.mask_text(
        f"CX Review: {kind.replace('_', ' ')} by {actor}; status {case.status}."
    )
    body = {
        "action": "update",
        "case_id": case.id,
        "ticket": {"comment": {"body": text, "public": False}},
    }
    return store.enqueue(
        s,
        channel="helpdesk",
        recipient=settings.provider,
        subject=f"ticket update ({kind})",
        body=json.dumps(body, ensure_ascii=False),
        dedupe_key=f"helpdesk:{key}",
        directory=DIRECTORY,
        region=case.region,
        country=case.country,
        agency=case.agency,
    )


def deliver(engine: Engine, row: Notification, settings: HelpdeskSettings, timeout: float) -> None:
    """Send one helpdesk row: create the ticket (and store its :class:`HelpdeskTicket`), or
    comment on it; raise when Zendesk refuses or the ticket is not created yet (retried)."""
    body = json.loads(row.body)
    case_id = int(body["case_id"])
    auth = (f"{settings.email}/token", settings.token)
    payload = json.dumps({"ticket": body["ticket"]}, ensure_ascii=False).encode()
    if body["action"] == "create":
        answer = json.loads(
            post_json(
                check_url(f"{settings.url}/api/v2/tickets.json"),
                payload,
                timeout=timeout,
                auth=auth,
            )
            or b"{}"
        )
        ticket = answer.get("ticket") or {}
        if ticket.get("id") is None:
            raise HelpdeskError("Zendesk answered without a ticket id")
        with store.session(engine) as s:
            if (
                s.exec(select(HelpdeskTicket).where(HelpdeskTicket.case_id == case_id)).first()
                is None
            ):
                s.add(
                    HelpdeskTicket(
                        case_id=case_id,
                        provider=settings.provider,
                        ticket_id=str(ticket["id"]),
                        status=str(ticket.get("status") or "new"),
                    )
                )
                s.commit()
        return
    with Session(engine) as s:
        found = s.exec(select(HelpdeskTicket).where(HelpdeskTicket.case_id == case_id)).first()
    if found is None:
        raise HelpdeskError(f"case {case_id} has no ticket yet; retried later")
    post_json(
        check_url(f"{settings.url}/api/v2/tickets/{found.ticket_id}.json"),
        payload,
        timeout=timeout,
        auth=auth,
        method="PUT",
    )


# ---------------------------------------------------------------- the webhook back


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """Zendesk's webhook signature: base64(HMAC-SHA256(secret, timestamp + body))."""
    digest = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verified(secret: str, timestamp: str | None, body: bytes, given: str | None) -> bool:
    """Whether ``given`` is the signature of ``timestamp`` + ``body`` (constant-time compare)."""
    if not secret or not timestamp or not given:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body).encode(), given.strip().encode())


@dataclass(frozen=True)
class Callback:
    """What the helpdesk told us about one ticket."""

    ticket_id: str
    external_id: str
    status: str
    comment: str


def parse_callback(body: bytes) -> Callback:
    """The callback's fields; :class:`HelpdeskError` naming the bad one."""
    try:
        raw = json.loads(body or b"{}")
    except ValueError:
        raise HelpdeskError("the body is not JSON") from None
    if not isinstance(raw, dict):
        raise HelpdeskError("the body is not a JSON object")
    status = str(raw.get("status") or "").strip().lower()
    if not status:
        raise HelpdeskError("status is missing")
    ticket_id, external_id = (
        str(raw.get("ticket_id") or "").strip(),
        str(raw.get("external_id") or "").strip(),
    )
    if not ticket_id and not external_id:
        raise HelpdeskError("ticket_id and external_id are missing")
    return Callback(ticket_id, external_id, status, str(raw.get("comment") or "").strip()[:4000])


def case_of(s: Session, callback: Callback) -> int | None:
    """The case a callback is about: by its stored ticket, else by the case number (external id)."""
    if callback.ticket_id:
        found = s.exec(
            select(HelpdeskTicket).where(HelpdeskTicket.ticket_id == callback.ticket_id)
        ).first()
        if found is not None:
            return found.case_id
    number = callback.external_id.removeprefix("CX-")
    return int(number) if number.isdigit() else None


def record_status(s: Session, case_id: int, status: str) -> None:
    """Remember the ticket's last status (in the caller's transaction)."""
    found = s.exec(select(HelpdeskTicket).where(HelpdeskTicket.case_id == case_id)).first()
    if found is not None:
        found.status, found.updated_at = status, utcnow()
        s.add(found)
