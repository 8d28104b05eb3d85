"""Complaint cases: the work list of advisors and teleoperators, its append-only event log,
callbacks, call scripts and the call / case management figures of managers.

Every change goes through :func:`cx.store.update_versioned` (no lost update: the second of two
concurrent saves raises :class:`cx.store.StaleEdit`), appends a :class:`CaseEvent` and an audit row
in the same transaction. Every read goes through :func:`cx.core.scope.restrict_statement`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from cx import store
from cx.core import catalog, labels, privacy, users
from cx.core.roles import FRONT_LINE, MANAGERS
from cx.core.scope import Scope, contains, restrict_statement
from cx.core.users import User
from cx.loop import events, notify
from cx.store import utcnow
from cx.store.models import CASE_OPEN_STATUSES, CASE_STATUSES, Callback, Case, CaseEvent
from cx.voice import themes

FIRST_CONTACT_SLA = timedelta(hours=48)
"""A complaint gets a first call that reaches the customer within 48 hours."""
CLOSE_SLA = timedelta(days=7)
"""A complaint is closed within 7 days."""
CALLBACK_DUE_SOON = timedelta(hours=24)

STATUSES = CASE_STATUSES
OPEN_STATUSES = CASE_OPEN_STATUSES
ACTIVE_STATUSES = (*OPEN_STATUSES, "resolved")
"""What the work list shows by default: open cases and resolved ones still waiting to be closed."""
IMPORTANCES = ("low", "normal", "high", "critical")
OUTCOMES = ("reached", "no_answer", "voicemail", "wrong_number")
TOPICS = (
    "cleanliness",
    "waiting_time",
    "staff_attitude",
    "staff_competence",
    "price",
    "product_quality",
    "billing",
    "digital",
    "phone_support",
    "opening_hours",
    "problem_resolution",
    "delivery",
    "other",
)
_IMPORTANCE_WEIGHT = {"low": 0, "normal": 1, "high": 2, "critical": 3}


class CaseError(ValueError):
    """A case action that cannot be done (unknown case, closed case, bad value); says why."""


class CaseForbidden(CaseError, PermissionError):
    """The acting user's role may not work complaint cases."""


CASE_WORKERS = (*FRONT_LINE, *MANAGERS)
"""Who works cases: advisors, teleoperators and the managers of the case's geography."""
ALLOWED_FROM: dict[str, tuple[str, ...]] = {
    "call": (*OPEN_STATUSES, "resolved"),
    "callback_scheduled": OPEN_STATUSES,
    "classified": (*OPEN_STATUSES, "resolved"),
    "solution": (*OPEN_STATUSES, "resolved"),
    "forwarded": OPEN_STATUSES,
    "resolved": OPEN_STATUSES,
    "closed": ("resolved",),
}
"""Each action and the statuses it may start from; anything else is refused."""


# ---------------------------------------------------------------- tables


# ---------------------------------------------------------------- masking


def mask(text: str | None) -> str | None:
    """Mask personal data in a comment with the one masker, :func:`cx.core.privacy.mask_text`."""
    return None if text is None else privacy.mask_text(text)


def _themes_of(response: dict[str, Any]) -> list[str]:
    """Themes of the response: given, or tagged with :func:`cx.voice.themes.tag`."""
    if response.get("themes") is not None:
        return [str(t) for t in response["themes"]]
    if not response.get("comment"):
        return []
    tagged = themes.tag(
        pl.DataFrame(
            {"comment": [response["comment"]], "language": [response.get("language")]},
            schema={"comment": pl.String, "language": pl.String},
        )
    )
    return [str(t) for t in (tagged["themes"].to_list()[0] or [])]


# ---------------------------------------------------------------- opening and reading


def default_importance(nps: int | None) -> str:
    """Strong detractors (0–2) are high importance, other detractors normal, the rest low."""
    if nps is None:
        return "normal"
    return "high" if nps <= 2 else "normal" if nps <= 6 else "low"


def urgency(importance: str, nps: int | None) -> float:
    """Sort key of the work list: importance first, then how strong a detractor (age breaks ties)."""
    return _IMPORTANCE_WEIGHT[importance] * 100 + (10 - (nps if nps is not None else 5)) * 10


def _event(
    s: Session,
    case: Case,
    *,
    actor: str,
    kind: str,
    now: datetime,
    outcome: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    assert case.id is not None, "a case gets its id when it is flushed"
    geo = {"region": case.region, "country": case.country, "agency": case.agency}
    s.add(
        CaseEvent(
            case_id=case.id,
            at=now,
            actor=actor,
            kind=kind,
            outcome=outcome,
            detail=json.dumps(detail or {}, default=str, ensure_ascii=False),
            region=case.region,
            country=case.country,
            agency=case.agency,
        )
    )
    store.audit(
        s,
        actor=actor,
        action=f"case.{kind}",
        entity="case",
        entity_id=case.id or 0,
        detail={"outcome": outcome, **(detail or {})},
        **geo,
    )
    events.case_event(s, case, kind=kind, actor=actor, now=now)


def open_case(
    s: Session,
    *,
    response: dict[str, Any],
    reason: str,
    actor: str,
    rule_id: int | None = None,
    now: datetime | None = None,
) -> Case | None:
    """Open a case for one response; None when that response already has a case (idempotent)."""
    response_id = str(response["response_id"])
    if s.exec(select(Case.id).where(Case.response_id == response_id)).first() is not None:
        return None
    now = now or utcnow()
    nps = None if response.get("nps") is None else int(response["nps"])
    importance = default_importance(nps)
    scores = {k: int(v) for k, v in response.items() if k.startswith("attr_") and v is not None}
    case = Case(
        response_id=response_id,
        wave=str(response.get("wave") or ""),
        customer_id=str(response.get("customer_id") or ""),
        language=response.get("language"),
        advisor_id=response.get("advisor_id"),
        nps=nps,
        scores=json.dumps(scores, sort_keys=True),
        comment=mask(response.get("comment")),
        themes=json.dumps(_themes_of(response)),
        reason=reason,
        rule_id=rule_id,
        importance=importance,
        urgency=urgency(importance, nps),
        created_at=now,
        due_at=now + FIRST_CONTACT_SLA,
        close_due_at=now + CLOSE_SLA,
        region=response.get("region"),
        country=response.get("country"),
        agency=response.get("agency"),
    )
    try:
        with s.begin_nested():  # a concurrent opener of the same response loses quietly
            s.add(case)
            s.flush()
    except IntegrityError:
        return None
    _event(
        s,
        case,
        actor=actor,
        kind="opened",
        now=now,
        detail={"reason": reason, "rule_id": rule_id, "response_id": response_id},
    )
    if chat := os.environ.get("CX_TELEGRAM_CHAT_ID"):
        notify.telegram_case_alert(s, case, chat_id=chat)  # same transaction as the case (outbox)
    return case


def list_cases(
    s: Session,
    scope: Scope,
    *,
    status: str | Sequence[str] | None = None,
    assignee: str | None = None,
) -> list[Case]:
    """Cases inside the scope, most urgent first (importance, detractor score, then oldest)."""
    stmt = restrict_statement(select(Case), scope, Case)
    if status is not None:
        stmt = stmt.where(Case.status.in_([status] if isinstance(status, str) else list(status)))  # type: ignore[attr-defined]
    if assignee is not None:
        stmt = stmt.where(Case.assignee == assignee)
    return list(s.exec(stmt.order_by(Case.urgency.desc(), Case.created_at, Case.id)))  # type: ignore[attr-defined, arg-type]


def get_case(s: Session, scope: Scope, case_id: int) -> Case | None:
    """The case, or None when it does not exist or lies outside the scope."""
    stmt = restrict_statement(select(Case).where(Case.id == case_id), scope, Case)
    return s.exec(stmt.execution_options(populate_existing=True)).first()


def case_events(s: Session, scope: Scope, case_id: int) -> list[CaseEvent]:
    """The event log of a case inside the scope, oldest first."""
    stmt = restrict_statement(
        select(CaseEvent).where(CaseEvent.case_id == case_id), scope, CaseEvent
    )
    return list(s.exec(stmt.order_by(CaseEvent.at, CaseEvent.id)))  # type: ignore[arg-type]


def case_callbacks(s: Session, scope: Scope, case_id: int) -> list[Callback]:
    stmt = restrict_statement(select(Callback).where(Callback.case_id == case_id), scope, Callback)
    return list(s.exec(stmt.order_by(Callback.due_at, Callback.id)))  # type: ignore[arg-type]


# ---------------------------------------------------------------- actions


def _change(
    s: Session,
    user: User,
    case_id: int,
    *,
    expected_version: int,
    kind: str,
    now: datetime | None,
    values: Callable[[Case], dict[str, Any]],
    outcome: str | None = None,
    detail: dict[str, Any] | None = None,
) -> Case:
    if not user.has(*CASE_WORKERS):
        raise CaseForbidden(
            f"{user.username} may not work complaint cases (role {', '.join(user.roles) or 'none'})"
        )
    case = get_case(s, user.scope, case_id)
    if case is None:
        raise CaseError(f"case {case_id} does not exist in your scope")
    if case.status == "closed":
        raise CaseError(f"case {case_id} is closed; it can no longer be changed")
    if case.status not in ALLOWED_FROM[kind]:
        state = case.status.replace("_", " ")
        if kind == "closed":
            raise CaseError(f"case {case_id} is {state}; resolve it before closing")
        raise CaseError(f"case {case_id} is {state}: it cannot be {kind.replace('_', ' ')} now")
    now = now or utcnow()
    changes = values(case)
    store.update_versioned(s, Case, case_id, expected_version, changes)
    _event(s, case, actor=user.username, kind=kind, now=now, outcome=outcome, detail=detail)
    s.flush()
    updated = get_case(s, user.scope, case_id)
    assert updated is not None
    return updated


def _text(value: str, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise CaseError(f"{what} is empty; write a few words")
    if len(value) > 4000:
        raise CaseError(f"{what} is too long ({len(value)} characters; at most 4000)")
    return value


def log_call(
    s: Session,
    user: User,
    case_id: int,
    *,
    expected_version: int,
    outcome: str,
    note: str = "",
    now: datetime | None = None,
) -> Case:
    """Log a call attempt and its outcome; the first call that reaches the customer is the first contact."""
    if outcome not in OUTCOMES:
        raise CaseError(f"unknown call outcome {outcome!r}; use one of {', '.join(OUTCOMES)}")
    now = now or utcnow()

    def values(case: Case) -> dict[str, Any]:
        out: dict[str, Any] = {
            "attempts": case.attempts + 1,
            "assignee": case.assignee or user.username,
        }
        if outcome == "reached" and case.first_contact_at is None:
            out["first_contact_at"] = now
        if case.status in ("new", "callback_scheduled"):
            out["status"] = "in_progress"
        return out

    case = _change(
        s,
        user,
        case_id,
        expected_version=expected_version,
        kind="call",
        now=now,
        values=values,
        outcome=outcome,
        detail={"note": mask(note) or ""},
    )
    for cb in s.exec(
        select(Callback).where(Callback.case_id == case_id, col(Callback.done_at).is_(None))
    ):
        cb.done_at = now
        s.add(cb)
    return case


def schedule_callback(
    s: Session,
    user: User,
    case_id: int,
    *,
    expected_version: int,
    due_at: datetime,
    note: str = "",
    now: datetime | None = None,
) -> Case:
    """Promise the customer a call back at ``due_at`` (listed as due, then overdue)."""
    now = now or utcnow()
    if due_at.tzinfo is None:
        raise CaseError("the callback time has no time zone")
    case = _change(
        s,
        user,
        case_id,
        expected_version=expected_version,
        kind="callback_scheduled",
        now=now,
        values=lambda c: {"status": "callback_scheduled", "assignee": c.assignee or user.username},
        detail={"due_at": due_at.isoformat(), "note": mask(note) or ""},
    )
    s.add(
        Callback(
            case_id=case_id,
            due_at=due_at,
            by=user.username,
            note=mask(note) or "",
            region=case.region,
            country=case.country,
            agency=case.agency,
        )
    )
    return case


CALLBACK_SLOTS = ("morning", "afternoon", "evening")
"""The time slots a customer may choose on the survey page (their labels: the catalog)."""


def requested_callback(s: Session, scope: Scope, case_id: int) -> Callback | None:
    """The callback the customer asked for on the survey page, if any (inside ``scope``)."""
    stmt = select(Callback).where(Callback.case_id == case_id, Callback.by == "respondent")
    return s.exec(restrict_statement(stmt, scope, Callback)).first()


def request_callback(
    s: Session,
    case: Case,
    *,
    due_at: datetime,
    phone: str,
    slot: str,
    now: datetime | None = None,
) -> bool:
    """The customer asked for a call back on the survey page: a Callback due at ``due_at`` with
    the number they gave, and the case marked callback scheduled (a new or in-progress case only).

    Not a staff action (no user: the respondent asked); idempotent — False when the customer's
    callback is already on the case.
    """
    assert case.id is not None
    asked = s.exec(
        select(Callback.id).where(Callback.case_id == case.id, Callback.by == "respondent")
    ).first()
    if asked is not None:
        return False
    now = now or utcnow()
    s.add(
        Callback(
            case_id=case.id,
            due_at=due_at,
            by="respondent",
            note=f"Asked on the survey page ({slot or 'no slot'})",
            phone=phone,
            slot=slot,
            region=case.region,
            country=case.country,
            agency=case.agency,
        )
    )
    if case.status in ("new", "in_progress"):
        store.update_versioned(s, Case, case.id, case.version, {"status": "callback_scheduled"})
    _event(
        s,
        case,
        actor="respondent",
        kind="callback_requested",
        now=now,
        detail={"due_at": due_at.isoformat(), "slot": slot},
    )
    s.flush()
    return True


def classify(
    s: Session,
    user: User,
    case_id: int,
    *,
    expected_version: int,
    importance: str,
    topic: str | None,
    now: datetime | None = None,
) -> Case:
    """Set importance and topic (the work list re-sorts by the new urgency)."""
    if importance not in IMPORTANCES:
        raise CaseError(f"unknown importance {importance!r}; use one of {', '.join(IMPORTANCES)}")
    if topic is not None and topic not in TOPICS:
        raise CaseError(f"unknown topic {topic!r}; use one of {', '.join(TOPICS)}")
    return _change(
        s,
        user,
        case_id,
        expected_version=expected_version,
        kind="classified",
        now=now,
        values=lambda c: {
            "importance": importance,
            "topic": topic,
            "urgency": urgency(importance, c.nps),
        },
        detail={"importance": importance, "topic": topic},
    )


def record_solution(
    s: Session,
    user: User,
    case_id: int,
    *,
    expected_version: int,
    solution: str,
    now: datetime | None = None,
) -> Case:
    """Record what was done for the customer."""
    text = mask(_text(solution, "the solution")) or ""
    return _change(
        s,
        user,
        case_id,
        expected_version=expected_version,
        kind="solution",
        now=now,
        values=lambda c: {
            "solution": text,
            "status": "in_progress" if c.status == "new" else c.status,
        },
        detail={"solution": text},
    )


def forward(
    s: Session,
    user: User,
    case_id: int,
    *,
    expected_version: int,
    to: str,
    note: str = "",
    now: datetime | None = None,
) -> Case:
    """Hand the case to another user, who must exist and see the case's agency."""
    target = users.get(to)
    case = get_case(s, user.scope, case_id)
    if target is None:
        raise CaseError(f"unknown user {to!r}; forward to a user of the agency")
    if case is not None and not contains(
        target.scope, region=case.region, country=case.country, agency=case.agency
    ):
        raise CaseError(f"{to} cannot see cases of {case.agency}; forward to a user of the agency")
    if not target.has(*CASE_WORKERS) or target.disabled:
        raise CaseError(f"{to} does not work complaint cases; forward to an advisor or a manager")
    return _change(
        s,
        user,
        case_id,
        expected_version=expected_version,
        kind="forwarded",
        now=now,
        values=lambda c: {"assignee": to},
        detail={"to": to, "note": mask(note) or ""},
    )


def resolve(
    s: Session,
    user: User,
    case_id: int,
    *,
    expected_version: int,
    note: str = "",
    now: datetime | None = None,
) -> Case:
    """Mark the customer's problem solved (a solution must be recorded first)."""
    now = now or utcnow()

    def values(case: Case) -> dict[str, Any]:
        if not case.solution:
            raise CaseError(
                f"case {case_id} has no solution recorded; record the solution before resolving"
            )
        return {"status": "resolved", "resolved_at": now}

    return _change(
        s,
        user,
        case_id,
        expected_version=expected_version,
        kind="resolved",
        now=now,
        values=values,
        detail={"note": mask(note) or ""},
    )


def close(
    s: Session,
    user: User,
    case_id: int,
    *,
    expected_version: int,
    note: str,
    now: datetime | None = None,
) -> Case:
    """Close a resolved case with a note (closed cases are read-only)."""
    now = now or utcnow()
    text = mask(_text(note, "the closing note")) or ""

    def values(case: Case) -> dict[str, Any]:
        if case.status != "resolved":
            raise CaseError(
                f"case {case_id} is {case.status.replace('_', ' ')}; resolve it before closing"
            )
        return {"status": "closed", "closed_at": now, "close_note": text}

    return _change(
        s,
        user,
        case_id,
        expected_version=expected_version,
        kind="closed",
        now=now,
        values=values,
        detail={"note": text},
    )


# ---------------------------------------------------------------- call script


def call_script(case: Case, agent: str = "", asked: Callback | None = None) -> str:
    """A plain-text call script in the customer's language (English when unknown), from the response;
    its texts are the ``case.call_script.*`` entries of the catalog (:mod:`cx.core.catalog`), its
    attribute and theme names those of :func:`cx.core.labels.attribute_name` / ``theme_name``.
    ``asked``: the callback the customer asked for on the survey page (number and time slot)."""

    def t(name: str, **values: object) -> str:
        return catalog.text(f"case.call_script.{name}", case.language, **values)

    def attribute(column: str) -> str:  # read out to the customer: in their language too
        return labels.attribute_name(column, case.language)

    low = sorted(case.score_map.items(), key=lambda kv: (kv[1], kv[0]))[:3]
    low = [(k, v) for k, v in low if v <= 6]
    nps = "–" if case.nps is None else str(case.nps)
    lines = [
        t("title", id=case.id),
        "",
        f"{t('customer')}: {case.customer_id}",
        f"{t('agency')}: {case.agency or '–'}",
        f"{t('wave')}: {case.wave}",
        f"{t('nps')}: {nps}/10",
        f"{t('low')}: " + (", ".join(f"{attribute(k)} {v}/10" for k, v in low) or t("none")),
        f"{t('themes')}: "
        + (", ".join(labels.theme_name(th, case.language) for th in case.theme_list) or t("none")),
        f"{t('comment')}: " + (f"“{case.comment}”" if case.comment else t("none")),
        *(
            [
                f"{t('callback')}: {asked.phone or '–'}"
                + (f" · {t('slot.' + asked.slot)}" if asked.slot in CALLBACK_SLOTS else "")
            ]
            if asked is not None
            else []
        ),
        "",
        f"{t('opening')}:",
        t("open", agent=agent or "…", agency=case.agency or "", nps=nps),
        "",
        f"{t('questions')}:",
        f"1. {t('q_general')}",
        *(
            f"{i}. {t('q_attr', label=attribute(k), score=v)}"
            for i, (k, v) in enumerate(low, start=2)
        ),
        f"{len(low) + 2}. {t('q_fix')}",
        f"{len(low) + 3}. {t('q_close')}",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------- management figures

_CASE_SCHEMA: dict[str, Any] = {
    "id": pl.Int64,
    "agency": pl.String,
    "country": pl.String,
    "assignee": pl.String,
    "status": pl.String,
    "created_at": pl.Datetime("us", "UTC"),
    "due_at": pl.Datetime("us", "UTC"),
    "close_due_at": pl.Datetime("us", "UTC"),
    "first_contact_at": pl.Datetime("us", "UTC"),
    "closed_at": pl.Datetime("us", "UTC"),
}
_GROUP = {"agency": ["country", "agency"], "advisor": ["country", "agency", "advisor"]}


def _group(by: str) -> list[str]:
    if by not in _GROUP:
        raise CaseError(f"unknown grouping {by!r}; use agency or advisor")
    return _GROUP[by]


def callbacks_due(s: Session, scope: Scope, now: datetime | None = None) -> pl.DataFrame:
    """Pending callbacks in the scope: ``overdue`` (past), ``due`` (next 24 h) or ``upcoming``."""
    now = now or utcnow()
    stmt = restrict_statement(
        select(
            Callback.id,
            Callback.case_id,
            Callback.agency,
            Callback.by,
            Callback.due_at,
            Callback.note,
            Case.customer_id,
            Case.assignee,
        )  # type: ignore[call-overload]
        .join(Case, Case.id == Callback.case_id)
        .where(Callback.done_at.is_(None)),  # type: ignore[union-attr, arg-type]
        scope,
        Callback,
    )
    rows = s.exec(stmt.order_by(Callback.due_at, Callback.id)).all()  # type: ignore[arg-type]
    schema: dict[str, Any] = {
        "callback_id": pl.Int64,
        "case_id": pl.Int64,
        "agency": pl.String,
        "scheduled_by": pl.String,
        "due_at": pl.Datetime("us", "UTC"),
        "note": pl.String,
        "customer_id": pl.String,
        "assignee": pl.String,
    }
    frame = pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")
    return frame.with_columns(
        state=pl.when(pl.col("due_at") < now)
        .then(pl.lit("overdue"))
        .when(pl.col("due_at") < now + CALLBACK_DUE_SOON)
        .then(pl.lit("due"))
        .otherwise(pl.lit("upcoming"))
    )


def call_stats(
    s: Session, scope: Scope, *, by: str = "agency", now: datetime | None = None
) -> pl.DataFrame:
    """Call management by agency or advisor: attempts, reached, reach rate %, callbacks due / overdue."""
    keys = _group(by)
    stmt = restrict_statement(
        select(CaseEvent.country, CaseEvent.agency, CaseEvent.actor, CaseEvent.outcome).where(
            CaseEvent.kind == "call"
        ),
        scope,
        CaseEvent,
    )
    calls = pl.DataFrame(
        [tuple(r) for r in s.exec(stmt).all()],
        schema={
            "country": pl.String,
            "agency": pl.String,
            "advisor": pl.String,
            "outcome": pl.String,
        },
        orient="row",
    )
    cbs = (
        callbacks_due(s, scope, now)
        .join(
            pl.DataFrame(
                [
                    tuple(r)
                    for r in s.exec(
                        restrict_statement(select(Case.id, Case.country), scope, Case)
                    ).all()
                ],
                schema={"case_id": pl.Int64, "country": pl.String},
                orient="row",
            ),
            on="case_id",
            how="left",
        )
        .with_columns(advisor=pl.coalesce("assignee", "scheduled_by"))
    )
    attempts = calls.group_by(keys).agg(
        attempts=pl.len().cast(pl.Int64),
        reached=(pl.col("outcome") == "reached").sum().cast(pl.Int64),
    )
    due = cbs.group_by(keys).agg(
        callbacks_due=(pl.col("state") == "due").sum().cast(pl.Int64),
        callbacks_overdue=(pl.col("state") == "overdue").sum().cast(pl.Int64),
    )
    return (
        attempts.join(due, on=keys, how="full", coalesce=True)
        .with_columns(
            pl.col("attempts", "reached", "callbacks_due", "callbacks_overdue").fill_null(0)
        )
        .with_columns(
            reach_rate=pl.when(pl.col("attempts") > 0).then(
                100.0 * pl.col("reached") / pl.col("attempts")
            )
        )
        .select(*keys, "attempts", "reached", "reach_rate", "callbacks_due", "callbacks_overdue")
        .sort(keys, nulls_last=True)
    )


def case_frame(s: Session, scope: Scope) -> pl.DataFrame:
    """The cases of the scope as a frame (timings only, no customer data)."""
    cols = [getattr(Case, c) for c in _CASE_SCHEMA]
    rows = s.exec(restrict_statement(select(*cols), scope, Case)).all()
    return pl.DataFrame([tuple(r) for r in rows], schema=_CASE_SCHEMA, orient="row")


def case_stats(
    s: Session, scope: Scope, *, by: str = "agency", now: datetime | None = None
) -> pl.DataFrame:
    """Case management by agency or advisor: open, closed, median hours to first contact and to close,
    SLA breaches (first contact later than 48 h or closing later than 7 days, counted also while still late).
    """
    keys = _group(by)
    now = now or utcnow()
    hours = 3_600_000_000  # microseconds in an hour
    frame = case_frame(s, scope).with_columns(advisor=pl.col("assignee").fill_null("unassigned"))
    late_contact = pl.coalesce(
        "first_contact_at", pl.lit(now, dtype=pl.Datetime("us", "UTC"))
    ) > pl.col("due_at")
    late_close = pl.coalesce("closed_at", pl.lit(now, dtype=pl.Datetime("us", "UTC"))) > pl.col(
        "close_due_at"
    )
    return (
        frame.group_by(keys)
        .agg(
            cases=pl.len().cast(pl.Int64),
            open=pl.col("status").is_in(OPEN_STATUSES).sum().cast(pl.Int64),
            resolved=(pl.col("status") == "resolved").sum().cast(pl.Int64),
            closed=(pl.col("status") == "closed").sum().cast(pl.Int64),
            hours_to_first_contact=(
                (pl.col("first_contact_at") - pl.col("created_at")).dt.total_microseconds() / hours
            ).median(),
            hours_to_close=(
                (pl.col("closed_at") - pl.col("created_at")).dt.total_microseconds() / hours
            ).median(),
            sla_breaches=(late_contact | late_close).sum().cast(pl.Int64),
        )
        .sort(keys)
    )


def cases_takeaway(cases: Sequence[Case], now: datetime | None = None) -> str:
    """One sentence for the top of the work list."""
    now = now or utcnow()
    open_cases = [c for c in cases if c.is_open]
    if not open_cases:
        return "No open complaint in your scope: every case has been resolved or closed."
    late = sum(1 for c in open_cases if c.first_contact_at is None and c.due_at < now)
    top = open_cases[0]
    first = f"{len(open_cases)} open complaint{'s' if len(open_cases) != 1 else ''}"
    late_text = (
        f"{late} past the 48-hour first-contact deadline"
        if late
        else "none past the 48-hour first-contact deadline"
    )
    return f"{first}, {late_text}; most urgent: case #{top.id} (NPS {top.nps}, {top.agency})."


def dashboard_takeaway(stats: pl.DataFrame, calls: pl.DataFrame) -> str:
    """One sentence for the managers' case dashboard."""
    if stats.is_empty():
        return "No complaint case in your scope yet."
    total, open_, closed, breaches = (
        int(stats[c].sum()) for c in ("cases", "open", "closed", "sla_breaches")
    )
    attempts, reached = int(calls["attempts"].sum()), int(calls["reached"].sum())
    reach = (
        f"{100 * reached / attempts:.0f} % of {attempts} call{'s' if attempts != 1 else ''} reached the customer"
        if attempts
        else "no call logged yet"
    )
    return f"{open_} of {total} cases open, {closed} closed, {breaches} SLA breach{'es' if breaches != 1 else ''}; {reach}."


# ---------------------------------------------------------------- display helpers


def worklist_frame(items: Sequence[Case], now: datetime | None = None) -> pl.DataFrame:
    """The work list as a table: case, NPS, importance, status, agency, customer, ages and deadlines."""
    now = now or utcnow()
    schema: dict[str, Any] = {
        "Case": pl.String,
        "NPS": pl.Int64,
        "Importance": pl.String,
        "Status": pl.String,
        "Agency": pl.String,
        "Customer": pl.String,
        "Opened": pl.Datetime("us", "UTC"),
        "First contact due": pl.Datetime("us", "UTC"),
        "Attempts": pl.Int64,
        "Assignee": pl.String,
    }
    rows = [
        (
            f"#{c.id}",
            c.nps,
            c.importance,
            c.status.replace("_", " "),
            c.agency,
            c.customer_id,
            c.created_at,
            None if c.first_contact_at else c.due_at,
            c.attempts,
            c.assignee or "—",
        )
        for c in items
    ]
    return pl.DataFrame(rows, schema=schema, orient="row").with_columns(
        Late=(pl.col("First contact due") < now).fill_null(False)
    )


def events_frame(s: Session, scope: Scope, case_id: int) -> pl.DataFrame:
    """The event log of a case as a table (oldest first)."""
    rows = [
        (
            e.at,
            e.actor,
            e.kind.replace("_", " "),
            (e.outcome or "").replace("_", " "),
            "; ".join(f"{k}: {v}" for k, v in json.loads(e.detail).items() if v not in (None, "")),
        )
        for e in case_events(s, scope, case_id)
    ]
    return pl.DataFrame(
        rows,
        schema={
            "When": pl.Datetime("us", "UTC"),
            "Who": pl.String,
            "What": pl.String,
            "Outcome": pl.String,
            "Details": pl.String,
        },
        orient="row",
    )


def forward_targets(case: Case, *, exclude: str | None = None) -> list[str]:
    """Users who may take the case over: front-line staff and managers who see its agency."""
    return [
        u.username
        for u in users.all_users()
        if u.username != exclude
        and not u.disabled
        and u.has("advisor", "teleoperator", "agency_manager")
        and contains(u.scope, region=case.region, country=case.country, agency=case.agency)
    ]


def case_label(case: Case) -> str:
    return f"#{case.id} · NPS {case.nps} · {case.agency} · customer {case.customer_id}"


def _joined(stats: pl.DataFrame, calls: pl.DataFrame, by: str) -> pl.DataFrame:
    """Case and call figures side by side; an advisor with calls but no case of their own counts 0 cases."""
    counts = [
        "cases",
        "open",
        "resolved",
        "closed",
        "sla_breaches",
        "attempts",
        "reached",
        "callbacks_due",
        "callbacks_overdue",
    ]
    return (
        stats.join(calls, on=_group(by), how="full", coalesce=True)
        .with_columns(pl.col(counts).fill_null(0))
        .sort(_group(by), nulls_last=True)
    )


def dashboard(s: Session, scope: Scope, now: datetime | None = None) -> dict[str, Any]:
    """Everything the case management screen shows, computed once for the scope."""
    now = now or utcnow()
    by_agency, by_advisor = (
        case_stats(s, scope, now=now),
        case_stats(s, scope, by="advisor", now=now),
    )
    calls_agency, calls_advisor = (
        call_stats(s, scope, now=now),
        call_stats(s, scope, by="advisor", now=now),
    )
    due = callbacks_due(s, scope, now)
    frame = case_frame(s, scope)
    hours = 3_600_000_000
    totals = {
        **{
            k: int(by_agency[k].sum())
            for k in ("cases", "open", "resolved", "closed", "sla_breaches")
        },
        "hours_to_first_contact": frame.select(
            (
                (pl.col("first_contact_at") - pl.col("created_at")).dt.total_microseconds() / hours
            ).median()
        ).item(),
        "callbacks_due": int((due["state"] == "due").sum()),
        "callbacks_overdue": int((due["state"] == "overdue").sum()),
    }
    return {
        "takeaway": dashboard_takeaway(by_agency, calls_agency),
        "totals": totals,
        "status": by_agency,
        "reach": calls_advisor,
        "by_agency": _joined(by_agency, calls_agency, "agency"),
        "by_advisor": _joined(by_advisor, calls_advisor, "advisor"),
        "due": due.select(
            "state", "due_at", "case_id", "agency", "customer_id", "assignee", "note"
        ),
    }
