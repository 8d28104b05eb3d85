"""Every table of the operational store, in one module: the geography mixin, audit log, outbox,
cases, alerts, routing rules, action plans and meeting agendas.

Domain modules import their tables from here and keep the behaviour (queries, rules, lifecycle);
:func:`cx.store.engine.init` creates them all from this one ``SQLModel.metadata``.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

CASE_STATUSES = ("new", "in_progress", "callback_scheduled", "resolved", "closed")
CASE_OPEN_STATUSES = ("new", "in_progress", "callback_scheduled")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC, always returns aware datetimes (SQLite keeps no time zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def ts_field(**kwargs: Any) -> Any:
    """A time-zone-aware timestamp column."""
    return Field(sa_type=UTCDateTime, **kwargs)


class GeoFields(SQLModel):
    """Where a record belongs; a country-level record has ``agency`` NULL, a world one all NULL."""

    region: str | None = Field(default=None, index=True)
    country: str | None = Field(default=None, index=True)
    agency: str | None = Field(default=None, index=True)


class AuditLog(GeoFields, table=True):
    """Append-only trail of every change (a database trigger refuses UPDATE and DELETE)."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = ts_field(default_factory=utcnow, index=True)
    actor: str = Field(index=True)
    action: str
    entity: str = Field(index=True)
    entity_id: str = Field(index=True)
    detail: str = "{}"


class Notification(GeoFields, table=True):
    """Transactional outbox: written in the same transaction as the event that causes it."""

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = ts_field(default_factory=utcnow, index=True)
    channel: str = "email"  # email | telegram
    recipient: str
    subject: str = ""
    body: str = ""
    dedupe_key: str = Field(unique=True, index=True)
    status: str = Field(default="pending", index=True)  # pending | sending | sent | dead
    attempts: int = 0
    next_attempt_at: datetime = ts_field(default_factory=utcnow, index=True)
    last_error: str | None = None
    sent_at: datetime | None = ts_field(default=None)
    attachment_path: str | None = None  # a file sent with the e-mail, read when it goes out
    attachment_name: str | None = None  # its name in the e-mail (default: the file's name)
    audience: str | None = None  # staff | customer (checked when queued); NULL: before the check
    claimed_by: str | None = None  # the sender holding a "sending" row (lease: next_attempt_at)


class Case(GeoFields, table=True):
    """One complaint, opened from one survey response (at most one case per response)."""

    id: int | None = Field(default=None, primary_key=True)
    version: int = 1
    response_id: str = Field(unique=True, index=True)
    wave: str = ""
    customer_id: str = Field(default="", index=True)
    language: str | None = None
    advisor_id: str | None = None
    nps: int | None = None
    scores: str = "{}"  # JSON snapshot of the response's attribute scores
    comment: str | None = None  # stored masked
    themes: str = "[]"  # JSON list of theme ids
    reason: str = ""
    rule_id: int | None = None
    status: str = Field(default="new", index=True)
    importance: str = "normal"
    topic: str | None = None
    assignee: str | None = Field(default=None, index=True)
    urgency: float = Field(default=0.0, index=True)
    attempts: int = 0
    created_at: datetime = ts_field(default_factory=utcnow, index=True)
    due_at: datetime = ts_field(default_factory=utcnow)  # first contact due (SLA)
    close_due_at: datetime = ts_field(default_factory=utcnow)  # close due (SLA)
    first_contact_at: datetime | None = ts_field(default=None)
    resolved_at: datetime | None = ts_field(default=None)
    closed_at: datetime | None = ts_field(default=None)
    solution: str | None = None
    close_note: str | None = None

    @property
    def score_map(self) -> dict[str, int]:
        return dict(json.loads(self.scores or "{}"))

    @property
    def theme_list(self) -> list[str]:
        return list(json.loads(self.themes or "[]"))

    @property
    def is_open(self) -> bool:
        return self.status in CASE_OPEN_STATUSES


class CaseEvent(GeoFields, table=True):
    """Append-only log of what happened to a case (calls, callbacks, classification, closing)."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    at: datetime = ts_field(default_factory=utcnow, index=True)
    actor: str = Field(index=True)
    kind: str = Field(
        index=True
    )  # opened | call | callback_scheduled | classified | solution | forwarded | resolved | closed
    outcome: str | None = None  # call outcome
    detail: str = "{}"


class Callback(GeoFields, table=True):
    """A promised call back to the customer: due at a time, done when the next call is logged."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    due_at: datetime = ts_field(index=True)
    done_at: datetime | None = ts_field(default=None)
    by: str = ""
    note: str = ""
    phone: str = ""  # the number the customer gave on the survey page (shown to case workers only)
    slot: str = ""  # the time slot the customer chose (morning | afternoon | evening …)


class AlertState(GeoFields, table=True):
    """What people did about an alert: acknowledged, dismissed, linked to a plan or a reference."""

    __table_args__ = (UniqueConstraint("key"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(index=True)  # level:entity:attribute:wave
    level: str
    entity: str
    attribute: str
    wave: str
    status: str = Field(default="open", index=True)
    action_ref: str | None = None  # a plan id ("plan:12") or a free-text reference
    updated_by: str = ""
    updated_at: datetime = ts_field(default_factory=utcnow)
    version: int = 1


class RoutingRule(SQLModel, table=True):
    """A routing rule: condition, the scope it applies to, actions (JSON list), versioned."""

    __table_args__ = (UniqueConstraint("name"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True)
    condition: str
    scope: str = "world"
    actions: str = (
        "[]"  # JSON list of {"type": "email_contact" | "open_case" | "email_customer", ...}
    )
    enabled: bool = True
    source: str = "app"  # app | file
    updated_by: str = ""
    updated_at: datetime = ts_field(default_factory=utcnow)
    version: int = 1


class RuleHit(GeoFields, table=True):
    """A response that fired a rule: at most once per (rule, response), whatever is re-run."""

    __table_args__ = (UniqueConstraint("rule_id", "response_id"),)

    id: int | None = Field(default=None, primary_key=True)
    rule_id: int = Field(foreign_key="routingrule.id", index=True)
    response_id: str = Field(index=True)
    wave: str = ""
    customer_id: str | None = None
    fired_at: datetime = ts_field(default_factory=utcnow)
    actions_done: str = "[]"


class Plan(GeoFields, table=True):
    """An action plan; the geography fields are its scope (agency plans carry country and region)."""

    id: int | None = Field(default=None, primary_key=True)
    version: int = 1
    title: str
    problem_kind: str = "attribute"
    problem_ref: str = ""
    owner: str = Field(index=True)
    contributors: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    target_attribute: str | None = None  # "nps" or an attr_<id> column
    target_op: str = ">="
    target_value: float | None = None
    target_wave: str | None = None
    due_date: date | None = Field(default=None, index=True)
    status: str = Field(default="planned", index=True)
    approval: str = Field(default="proposed", index=True)
    approved_by: str | None = None
    approved_at: datetime | None = ts_field(default=None)
    progress: int = 0
    created_by: str = ""
    created_at: datetime = ts_field(default_factory=utcnow)
    updated_at: datetime = ts_field(default_factory=utcnow)


class PlanTask(SQLModel, table=True):
    """A step of a plan with its own owner and due date."""

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id", index=True)
    version: int = 1
    title: str
    owner: str = Field(index=True)
    due_date: date | None = None
    done: bool = False
    done_at: datetime | None = ts_field(default=None)
    created_by: str = ""
    created_at: datetime = ts_field(default_factory=utcnow)


class PlanComment(SQLModel, table=True):
    """A note on a plan (rendered escaped: it is user text)."""

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id", index=True)
    author: str
    text: str
    at: datetime = ts_field(default_factory=utcnow)


class Agenda(SQLModel, table=True):
    """A scope's own list of screens for one kind of meeting (replaces the built-in list)."""

    __table_args__ = (UniqueConstraint("scope_key", "kind"),)
    id: int | None = Field(default=None, primary_key=True)
    scope_key: str = Field(index=True)
    kind: str
    screens: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    updated_by: str = ""
    updated_at: datetime = ts_field(default_factory=utcnow)


class AuthSession(SQLModel, table=True):
    """A signed-in browser. The browser holds only a random token; the store keeps its keyed
    hash (HMAC with the signing key: rotating the key ends every session), the user it belongs
    to and the account stamp it was opened with (a changed stamp ends it)."""

    token_hash: str = Field(primary_key=True)
    username: str = Field(index=True)
    stamp: str = ""
    kind: str = "password"  # password | sso
    created_at: datetime = ts_field(default_factory=utcnow)
    last_seen_at: datetime = ts_field(default_factory=utcnow)
    expires_at: datetime = ts_field(index=True)
    address: str = ""
    user_agent: str = ""


class SignInAttempt(SQLModel, table=True):
    """One sign-in attempt: counted per username and per client address for lockout and rate
    limiting (``cleared`` once an administrator unlocks the account)."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = ts_field(default_factory=utcnow, index=True)
    username: str = Field(index=True)
    address: str = Field(index=True)
    ok: bool = False
    cleared: bool = False


# ---------------------------------------------------------------- feedback capture (surveys)


class SurveyAnswer(GeoFields, table=True):
    """One answer submitted on a survey page: stored durably (committed) before the thank-you
    page, then folded into its wave's Parquet (``folded_at``) and looped (rules run: ``looped_at``).

    ``response_id`` is derived from the form's submission nonce: a double click or a replayed
    form hits the unique constraint and stays one response. ``row`` is the data-contract row
    (JSON); ``followups`` the answers that have no data-contract column (JSON)."""

    id: int | None = Field(default=None, primary_key=True)
    response_id: str = Field(unique=True, index=True)
    survey_id: str = Field(index=True)
    survey_version: int = 1
    wave: str = Field(index=True)
    channel: str = ""
    language: str = "en"
    customer_id: str = ""
    invitation_id: int | None = Field(default=None, index=True)
    row: str = "{}"
    followups: str = "{}"
    received_at: datetime = ts_field(default_factory=utcnow, index=True)
    folded_at: datetime | None = ts_field(default=None, index=True)
    looped_at: datetime | None = ts_field(default=None, index=True)
    loop_error: str | None = None


class Invitation(GeoFields, table=True):
    """A personal single-use survey link: the customer holds a random token, the store its keyed
    hash. Funnel timestamps: sent → opened → started → completed."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, index=True)
    survey_id: str = Field(index=True)
    customer_id: str = Field(index=True)
    transaction_id: str | None = Field(default=None, index=True)
    channel: str = "email"
    language: str = "en"
    first_name: str = ""
    recipient: str = ""
    reason: str = "manual"  # manual | transaction | daily | weekly | monthly
    created_at: datetime = ts_field(default_factory=utcnow, index=True)
    expires_at: datetime = ts_field(index=True)
    sent_at: datetime | None = ts_field(default=None)
    opened_at: datetime | None = ts_field(default=None)
    started_at: datetime | None = ts_field(default=None)
    completed_at: datetime | None = ts_field(default=None)
    response_id: str | None = None


class SurveyEvent(GeoFields, table=True):
    """The funnel of open links (QR codes, kiosks, receipts), one row per event: ``opened``
    (first page shown), ``started`` (first step submitted), ``completed``."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = ts_field(default_factory=utcnow, index=True)
    survey_id: str = Field(index=True)
    channel: str = ""
    event: str = Field(index=True)  # opened | started | completed
    invitation_id: int | None = None


class OptOut(SQLModel, table=True):
    """A customer who asked not to be invited again (honoured by every invitation path)."""

    customer_id: str = Field(primary_key=True)
    at: datetime = ts_field(default_factory=utcnow)
    source: str = ""  # link | staff | import


class RatingComment(GeoFields, table=True):
    """A staff member's comment on a rating posted to the team chat (every negative one must be
    commented; the 24 h figure counts the first comment per response)."""

    id: int | None = Field(default=None, primary_key=True)
    response_id: str = Field(index=True)
    nps: int | None = None
    rated_at: datetime = ts_field(index=True)
    author: str
    text: str
    at: datetime = ts_field(default_factory=utcnow, index=True)


class ChatFeed(SQLModel, table=True):
    """Per agency: which answers go to its chat (``all`` | ``negatives`` | ``off``)."""

    agency: str = Field(primary_key=True)
    mode: str = "negatives"
    chat_id: str = ""
    updated_by: str = ""
    updated_at: datetime = ts_field(default_factory=utcnow)


class ReplyTemplate(SQLModel, table=True):
    """A "generic answer" to a respondent, per language, editable by case workers' managers."""

    __table_args__ = (UniqueConstraint("name", "language"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True)
    language: str = "en"
    subject: str = ""
    body: str = ""
    updated_by: str = ""
    updated_at: datetime = ts_field(default_factory=utcnow)
    version: int = 1


# ---------------------------------------------------------------- integrations (API, webhooks)


class ApiToken(SQLModel, table=True):
    """A REST API token: scoped like a user, stored as its keyed hash (the token is shown once)."""

    __table_args__ = (UniqueConstraint("name"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True)
    token_hash: str = Field(unique=True, index=True)
    scope: str = "world"
    role: str = "analyst"
    created_by: str = ""
    created_at: datetime = ts_field(default_factory=utcnow)
    last_used_at: datetime | None = ts_field(default=None)
    revoked_at: datetime | None = ts_field(default=None, index=True)


class WebhookSubscription(SQLModel, table=True):
    """An outgoing webhook: where, which event types, inside which scope, signed with ``secret``
    (Standard Webhooks ``whsec_…``; kept in the store, never in git)."""

    id: str = Field(primary_key=True)  # "wh_…"
    url: str
    events: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    scope: str = "world"
    secret: str = ""
    created_by: str = ""
    created_at: datetime = ts_field(default_factory=utcnow)
    disabled_at: datetime | None = ts_field(default=None)


class HelpdeskTicket(SQLModel, table=True):
    """The helpdesk ticket (Zendesk, Freshdesk) a case was mirrored to."""

    __table_args__ = (UniqueConstraint("provider", "ticket_id"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True, unique=True)
    provider: str = "zendesk"
    ticket_id: str = ""
    status: str = ""
    created_at: datetime = ts_field(default_factory=utcnow)
    updated_at: datetime = ts_field(default_factory=utcnow)


# ---------------------------------------------------------------- customers served (manual entry)


class ServedCount(GeoFields, table=True):
    """Customers served by one agency in one month, entered by hand where no till feed exists
    (the basic level of the support and criticality indices); ``fieldwork.parquet`` wins when it
    has a count for the wave (:mod:`cx.analytics.indices`)."""

    __table_args__ = (UniqueConstraint("agency", "month"),)

    id: int | None = Field(default=None, primary_key=True)
    month: str = Field(index=True)  # YYYY-MM
    served: int = 0
    entered_by: str = ""
    entered_at: datetime = ts_field(default_factory=utcnow)
    version: int = 1
