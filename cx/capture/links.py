"""Survey links: the ``<link>`` of ``/s/<link>`` that opens a survey, and what it stands for.

Two kinds, told apart by their shape:

- an *open link* (one per survey × agency × channel, for QR codes, kiosks, receipts) is
  ``<payload>.<mac>``: the payload names survey, agency, channel, language and kiosk mode
  (base64url), the mac is a truncated HMAC of it with the signing key. Same inputs, same link;
  any change to either part is refused. Nothing is stored to make one.
- a *personal invitation* is a random token (no dot) whose keyed hash is an :class:`Invitation`
  row: single use, expiring, bound to a customer (made by :mod:`cx.capture.invitations`).

:func:`resolve` turns either into a :class:`Target` or a :class:`LinkError` whose one-line reason
is shown to the respondent as is: it never says which part of a link was wrong.
"""

from __future__ import annotations

import hmac
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, func, update
from sqlmodel import Session, col, select

from cx import store
from cx.core import keys
from cx.core.org import Org
from cx.store.models import Invitation, SurveyEvent

PREFIX = "/s/"
DEFAULT_BASE = "http://localhost:8501"
CHANNELS = ("qr", "email", "sms", "web", "in_person", "ivr", "phone", "chat")
"""Channels a link may name: the data contract's (a kiosk's answers are ``in_person``)."""
EVENTS = ("opened", "started", "completed")
INVITATION_PURPOSE = "invitation"
_OPEN_PURPOSE = "open-link"
_MAC_BYTES = 12
_SEP = "\n"
_LANGUAGE = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z]{2,4})?$")
_NAME = re.compile(r"^[^\n\r\x00]{1,120}$")

INVALID = "This survey link is not valid."
EXPIRED = "This invitation has expired."
ANSWERED = "This invitation has already been answered."


class LinkError(ValueError):
    """A link that opens nothing: ``status`` for the page (404 unknown, 410 expired or used…) and a
    one-line reason meant for the respondent."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class Target:
    """What a link opens: the survey, where the answer belongs, and who was invited (if anyone)."""

    survey_id: str
    agency: str
    region: str
    country: str
    city: str | None
    channel: str
    language: str | None
    kiosk: bool
    invitation_id: int | None = None
    customer_id: str | None = None
    first_name: str = ""
    link: str = ""

    @property
    def personal(self) -> bool:
        return self.invitation_id is not None


def _unb64(text: str) -> bytes:
    raw = keys.unb64(text)
    if raw is None:
        raise LinkError(INVALID, 404)
    return raw


def _mac(payload: str) -> str:
    return keys.b64(bytes.fromhex(keys.keyed_hash(payload, _OPEN_PURPOSE))[:_MAC_BYTES])


def open_link(
    survey_id: str,
    agency: str,
    channel: str = "qr",
    *,
    language: str | None = None,
    kiosk: bool = False,
) -> str:
    """The path ``/s/<link>`` of the open link of a survey at an agency on a channel: stable (same
    inputs, same path), signed, URL-safe. ``ValueError`` for a bad survey id, agency, channel or
    language."""
    for what, value in (("survey id", survey_id), ("agency", agency)):
        if not _NAME.match(value or ""):
            raise ValueError(f"{what} {value!r} cannot be put in a survey link")
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}: use one of {', '.join(CHANNELS)}")
    if language is not None and not _LANGUAGE.match(language):
        raise ValueError(f"language {language!r} is not an ISO 639-1 code such as es or fr")
    payload = _SEP.join((survey_id, agency, channel, language or "", "k" if kiosk else ""))
    return f"{PREFIX}{keys.b64(payload.encode('utf-8'))}.{_mac(payload)}"


def link_of(path: str) -> str:
    """The ``<link>`` part of ``/s/<link>`` (a bare link is returned as is)."""
    return path.removeprefix(PREFIX)


def invitation_hash(token: str) -> str:
    """The keyed hash an invitation token is stored under (the token itself never is)."""
    return keys.keyed_hash(token, INVITATION_PURPOSE)


def _open_target(organisation: Org, link: str) -> Target:
    encoded, _, mac = link.partition(".")
    raw = _unb64(encoded)
    _unb64(mac)
    try:
        payload = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise LinkError(INVALID, 404) from None
    if not hmac.compare_digest(mac, _mac(payload)):
        raise LinkError(INVALID, 404)
    parts = payload.split(_SEP)
    if len(parts) != 5:
        raise LinkError(INVALID, 404)
    survey_id, agency_name, channel, language, kiosk = parts
    agency = organisation.agency(agency_name)
    if agency is None:  # signed, but the agency has left the organisation since
        raise LinkError(INVALID, 404)
    return Target(
        survey_id=survey_id,
        agency=agency.name,
        region=agency.region,
        country=agency.country,
        city=agency.city,
        channel=channel,
        language=language or None,
        kiosk=kiosk == "k",
        link=link,
    )


def _invitation_target(engine: Engine, organisation: Org, link: str, now: datetime) -> Target:
    with store.session(engine) as s:
        row = s.exec(
            select(Invitation).where(Invitation.token_hash == invitation_hash(link))
        ).first()
    if row is None or row.agency is None:
        raise LinkError(INVALID, 404)
    if row.completed_at is not None:
        raise LinkError(ANSWERED, 410)
    if row.expires_at <= now:
        raise LinkError(EXPIRED, 410)
    agency = organisation.agency(row.agency)
    return Target(
        survey_id=row.survey_id,
        agency=row.agency,
        region=row.region or (agency.region if agency else ""),
        country=row.country or (agency.country if agency else ""),
        city=agency.city if agency else None,
        channel=row.channel,
        language=row.language or None,
        kiosk=False,
        invitation_id=row.id,
        customer_id=row.customer_id,
        first_name=row.first_name,
        link=link,
    )


def resolve(engine: Engine, organisation: Org, link: str, *, now: datetime | None = None) -> Target:
    """What ``link`` (the part after ``/s/``) opens, or :class:`LinkError`: 404 for a link that is
    unknown, forged or names an agency no longer in ``organisation``; 410 for an expired or already
    answered invitation."""
    link = link_of(link or "")
    if not link or len(link) > 400 or not re.fullmatch(r"[A-Za-z0-9_.-]+", link):
        raise LinkError(INVALID, 404)
    if "." in link:
        return _open_target(organisation, link)
    return _invitation_target(engine, organisation, link, now or datetime.now(UTC))


def _record(s: Session, target: Target, event: str, at: datetime, response_id: str | None) -> None:
    if event not in EVENTS:
        raise ValueError(f"unknown survey event {event!r}: use one of {', '.join(EVENTS)}")
    if target.invitation_id is None:
        s.add(
            SurveyEvent(
                at=at,
                survey_id=target.survey_id,
                channel=target.channel,
                event=event,
                region=target.region,
                country=target.country,
                agency=target.agency,
            )
        )
        return
    steps = EVENTS[: EVENTS.index(event) + 1]
    values: dict[str, object] = {
        f"{step}_at": func.coalesce(getattr(Invitation, f"{step}_at"), at) for step in steps
    }
    if event == "completed" and response_id is not None:
        values["response_id"] = func.coalesce(col(Invitation.response_id), response_id)
    s.exec(  # type: ignore[call-overload]
        update(Invitation).where(col(Invitation.id) == target.invitation_id).values(**values)
    )


def record(
    engine: Engine,
    target: Target,
    event: str,
    *,
    now: datetime | None = None,
    response_id: str | None = None,
) -> None:
    """Count one funnel step (``opened``, ``started``, ``completed``) in one statement: an
    invitation keeps the first time of each step (a later step fills the earlier ones it implies);
    an open link appends a :class:`SurveyEvent`."""
    with store.session(engine) as s:
        _record(s, target, event, now or datetime.now(UTC), response_id)


def record_many(engine: Engine, events: list[tuple[Target, str, datetime]]) -> int:
    """Count many funnel steps in one transaction (the survey pages buffer them: one commit a
    second instead of one per page view)."""
    if not events:
        return 0
    with store.session(engine) as s:
        for target, event, at in events:
            _record(s, target, event, at, None)
    return len(events)


def absolute_url(path: str) -> str:
    """``path`` on the public address of the server: ``CX_PUBLIC_URL`` (e.g.
    ``https://cx.example.com``), else ``http://localhost:8501``."""
    base = (os.environ.get("CX_PUBLIC_URL") or DEFAULT_BASE).strip().rstrip("/")
    return base + "/" + path.lstrip("/")
