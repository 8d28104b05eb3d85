"""Action plans: who fixes which problem, by when, towards which target, and whether it worked.

A plan belongs to a geography (world, a region, a country or an agency: the ``GeoFields`` of
the record) and is seen through :func:`cx.core.scope.restrict_statement` like every other record.
Anyone may propose a plan inside their own scope; managers approve plans inside theirs (the
proposer never approves their own plan, except a CEO). Every change is audited and every edit
carries the ``version`` it was made on (:func:`cx.store.update_versioned`), so concurrent edits
never silently overwrite each other. Owners get one digest e-mail per day through the outbox.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from cx import store
from cx.analytics import overview
from cx.core import labels, metrics, users
from cx.core import org as org_mod
from cx.core.data import attribute_label, attributes, data_dir, sort_waves, wave_period
from cx.core.filters import Filters
from cx.core.org import Org
from cx.core.roles import MANAGERS
from cx.core.scope import Scope, contains, restrict_statement
from cx.core.users import User
from cx.loop import events
from cx.store.models import Plan, PlanComment, PlanTask

PROBLEM_KINDS = ("improvement_area", "attribute", "theme", "alert")
STATUSES = ("planned", "in_progress", "done", "abandoned")
OPEN_STATUSES = ("planned", "in_progress")
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "planned": ("in_progress", "done", "abandoned"),
    "in_progress": ("planned", "done", "abandoned"),
    "done": ("planned", "in_progress"),
    "abandoned": (),
}
"""The statuses a plan may move to from each status (keeping its status is no move); anything
else is refused. A done plan reopens (planned again when it needs a new approval); an abandoned
one, dropped or rejected, stays closed: propose a new plan instead."""
APPROVALS = ("proposed", "approved", "rejected")
TARGET_OPS = (">=", "<=")
EDITABLE = (
    "title",
    "owner",
    "contributors",
    "target_attribute",
    "target_op",
    "target_value",
    "target_wave",
    "due_date",
    "status",
    "progress",
    "problem_kind",
    "problem_ref",
)
EVIDENCE_PAGES = {
    "improvement_area": ("drivers", "attribute"),
    "attribute": ("drivers", "attribute"),
    "theme": ("themes", "theme"),
    "alert": ("alerts", "alert"),
}


class PlanError(ValueError):
    """A plan value that breaks a rule; the message names the field and the value."""


class PlanForbidden(PermissionError):
    """The user may not do this to this plan (outside their scope, or not their role)."""


class PlanNotFound(LookupError):
    """No such plan inside the user's scope (plans outside it are reported as absent)."""


REAPPROVE_ON = ("title", "owner", "target_attribute", "target_op", "target_value", "target_wave")
"""An edit of any of these sends an approved plan back to "proposed"."""


def may_edit(user: User, plan: Plan) -> bool:
    """Managers of the plan's geography, its proposer and its owner edit it."""
    return _inside(user.scope, plan) and (
        user.has(*MANAGERS) or user.username in (plan.created_by, plan.owner)
    )


def _placed(region: str | None, country: str | None, agency: str | None) -> dict[str, str | None]:
    """The plan's geography from its most specific level, the parents from ``org.yaml`` (never
    from the caller); without an ``org.yaml`` the caller's levels are kept as given."""
    org = org_mod.load(data_dir())
    if not org.agencies:
        return {"region": region, "country": country, "agency": agency}
    spec = (
        f"agency:{agency}"
        if agency
        else f"country:{country}"
        if country
        else f"region:{region}"
        if region
        else "world"
    )
    placed = geography(spec, org)
    given = {"region": region, "country": country, "agency": agency}
    for level in ("region", "country"):
        if given[level] and given[level] != placed[level]:
            raise PlanError(
                f"{level} {given[level]!r} does not hold {spec.split(':', 1)[1]!r} "
                f"(it is in {placed[level]})"
            )
    return placed


def check_person(username: str, where: dict[str, str | None], what: str = "owner") -> str:
    """A plan owner (or task owner, contributor) must be a user who sees the plan's place:
    digests and reminders go only to them, never to free text or an outside address."""
    name = (username or "").strip()
    person = users.get(name)
    if person is None or person.disabled:
        raise PlanError(
            f"{what} {name!r}: not a user of CX Review; pick one of the users of this place"
        )
    if not contains(person.scope, **where):
        place = where["agency"] or where["country"] or where["region"] or "the world"
        raise PlanError(f"{what} {name!r} does not see {place}; pick a user of that place")
    return name


# ---------------------------------------------------------------- geography


def geography(spec: str, org: Org) -> dict[str, str | None]:
    """``world``, ``region:X``, ``country:ES`` or ``agency:Madrid`` -> region/country/agency of a plan."""
    placed = org.place(spec)
    if placed is None:
        raise PlanError(
            f"unknown plan scope {spec!r}: use world, region:<name>, country:<code> or agency:<name>"
        )
    return placed


def scope_options(scope: Scope, org: Org) -> list[str]:
    """The geographies a user may propose plans for: their scope entries and everything below them."""
    out: list[str] = ["world"] if scope.is_world else []
    for region in org.regions():
        if contains(scope, region=region, country=None, agency=None):
            out.append(f"region:{region}")
        for country in org.countries(region):
            if contains(scope, region=region, country=country, agency=None):
                out.append(f"country:{country}")
            out += [
                f"agency:{a}"
                for a in org.agencies_of(country)
                if contains(scope, region=region, country=country, agency=a)
            ]
    return out


def scope_label(plan: Plan) -> str:
    """The plan's own scope as a scope entry, e.g. ``agency:Madrid``."""
    if plan.agency:
        return f"agency:{plan.agency}"
    if plan.country:
        return f"country:{plan.country}"
    if plan.region:
        return f"region:{plan.region}"
    return "world"


def plan_scope(plan: Plan) -> Scope:
    """The Scope whose responses measure the plan's target."""
    return Scope.parse(scope_label(plan))


def _inside(scope: Scope, plan: Plan) -> bool:
    return contains(scope, region=plan.region, country=plan.country, agency=plan.agency)


def evidence_link(plan: Plan) -> str:
    """Relative URL of the page that shows the problem the plan addresses (drivers, themes, alerts)."""
    page, param = EVIDENCE_PAGES.get(plan.problem_kind, ("drivers", "attribute"))
    from urllib.parse import urlencode

    return f"{page}?{urlencode({param: plan.problem_ref})}" if plan.problem_ref else page


def problem_label(kind: str, ref: str) -> str:
    """Human label of a problem, e.g. ``Cleanliness (attribute)``."""
    name = attribute_label(ref) if ref.startswith("attr_") else ref.replace("_", " ").capitalize()
    return f"{name} ({kind.replace('_', ' ')})" if ref else kind.replace("_", " ")


def target_text(plan: Plan) -> str:
    """E.g. ``Cleanliness ≥ 7.5 by 2026-Q3``; empty when the plan has no measurable target."""
    if not plan.target_attribute or plan.target_value is None:
        return ""
    name = "NPS" if plan.target_attribute == "nps" else attribute_label(plan.target_attribute)
    op = "≥" if plan.target_op == ">=" else "≤"
    return f"{name} {op} {plan.target_value:g}" + (
        f" by {plan.target_wave}" if plan.target_wave else ""
    )


# ---------------------------------------------------------------- validation


def _check(values: dict[str, Any]) -> dict[str, Any]:
    """Validate plan fields; raise PlanError naming the field and the bad value."""
    if "title" in values:
        values["title"] = str(values["title"] or "").strip()
        if not values["title"] or len(values["title"]) > 200:
            raise PlanError("title: give 1 to 200 characters")
    if "owner" in values:
        values["owner"] = str(values["owner"] or "").strip()
        if not values["owner"]:
            raise PlanError("owner: a plan needs an owner")
    if "contributors" in values:
        values["contributors"] = sorted(
            {str(c).strip() for c in values["contributors"] or () if str(c).strip()}
        )
    if "problem_kind" in values and values["problem_kind"] not in PROBLEM_KINDS:
        raise PlanError(
            f"problem_kind {values['problem_kind']!r}: use one of {', '.join(PROBLEM_KINDS)}"
        )
    if "status" in values and values["status"] not in STATUSES:
        raise PlanError(f"status {values['status']!r}: use one of {', '.join(STATUSES)}")
    if "target_op" in values and values["target_op"] not in TARGET_OPS:
        raise PlanError(f"target_op {values['target_op']!r}: use >= or <=")
    if (
        (attr := values.get("target_attribute"))
        and attr != "nps"
        and not str(attr).startswith("attr_")
    ):
        raise PlanError(f"target_attribute {attr!r}: use nps or an attr_<id> column")
    if wave := values.get("target_wave"):
        wave_period(wave)  # raises DataError naming the bad label
    if "progress" in values:
        progress = int(values["progress"])
        if not 0 <= progress <= 100:
            raise PlanError(f"progress {progress}: use 0 to 100")
        values["progress"] = progress
    return values


def _check_move(plan: Plan, status: str) -> None:
    """Refuse a status change that :data:`TRANSITIONS` does not list, naming both statuses."""
    if status != plan.status and status not in TRANSITIONS[plan.status]:
        onward = TRANSITIONS[plan.status]
        why = f"it may become {', '.join(onward)}" if onward else "it stays so; propose a new plan"
        raise PlanError(f"status {status!r}: plan {plan.id} is {plan.status}; {why}")


def _audit(s: Session, plan: Plan, actor: str, action: str, detail: dict[str, Any]) -> None:
    store.audit(
        s,
        actor=actor,
        action=action,
        entity="plan",
        entity_id=plan.id or 0,
        detail=detail,
        region=plan.region,
        country=plan.country,
        agency=plan.agency,
    )
    events.emit(
        s,
        "plan.updated",
        {"id": plan.id, "title": plan.title, "change": action, "actor": actor},
        region=plan.region,
        country=plan.country,
        agency=plan.agency,
        key=f"plan:{plan.id}:{action}:{uuid.uuid4().hex}",  # each change is its own event
    )


# ---------------------------------------------------------------- crud


def create_plan(
    s: Session,
    *,
    user: User,
    title: str,
    owner: str,
    region: str | None = None,
    country: str | None = None,
    agency: str | None = None,
    problem_kind: str = "attribute",
    problem_ref: str = "",
    contributors: Iterable[str] = (),
    target_attribute: str | None = None,
    target_op: str = ">=",
    target_value: float | None = None,
    target_wave: str | None = None,
    due_date: date | None = None,
    now: datetime | None = None,
) -> Plan:
    """Propose a plan; its geography must lie inside the proposer's scope, its parents come
    from ``org.yaml`` and its owner and contributors are users who see it."""
    where = _placed(region, country, agency)
    region, country, agency = where["region"], where["country"], where["agency"]
    if not contains(user.scope, region=region, country=country, agency=agency):
        raise PlanForbidden(
            f"{user.username} may not create a plan for {agency or country or region or 'the world'}: outside their scope {user.scope or 'none'}"
        )
    values = _check(
        {
            "title": title,
            "owner": owner,
            "problem_kind": problem_kind,
            "contributors": list(contributors),
            "target_attribute": target_attribute or None,
            "target_op": target_op,
            "target_value": target_value,
            "target_wave": target_wave or None,
        }
    )
    values["owner"] = check_person(values["owner"], where)
    values["contributors"] = [check_person(c, where, "contributor") for c in values["contributors"]]
    at = now or store.utcnow()
    plan = Plan(
        **values,
        problem_ref=problem_ref.strip(),
        due_date=due_date,
        region=region,
        country=country,
        agency=agency,
        created_by=user.username,
        created_at=at,
        updated_at=at,
    )
    s.add(plan)
    s.flush()
    _audit(
        s,
        plan,
        user.username,
        "create",
        {"title": plan.title, "scope": scope_label(plan), "owner": plan.owner},
    )
    return plan


def list_plans(
    s: Session, scope: Scope, *, status: str | Sequence[str] | None = None
) -> list[Plan]:
    """Plans inside the scope, soonest due first (no due date last), then by id."""
    stmt = restrict_statement(select(Plan), scope, Plan)
    if status is not None:
        stmt = stmt.where(Plan.status.in_([status] if isinstance(status, str) else list(status)))  # type: ignore[attr-defined]
    plans = list(s.exec(stmt))
    return sorted(plans, key=lambda p: (p.due_date is None, p.due_date or date.max, p.id or 0))


def get_plan(s: Session, plan_id: int, scope: Scope) -> Plan:
    """The plan if it lies inside the scope; PlanNotFound otherwise (no hint that it exists)."""
    stmt = restrict_statement(select(Plan).where(Plan.id == plan_id), scope, Plan)
    plan = s.exec(stmt).first()
    if plan is None:
        raise PlanNotFound(f"no action plan {plan_id} in your scope")
    return plan


def can_approve(user: User, plan: Plan) -> bool:
    """Managers approve plans inside their scope; nobody but a CEO approves their own proposal."""
    return (
        user.has(*MANAGERS)
        and _inside(user.scope, plan)
        and (plan.created_by != user.username or user.has("ceo"))
    )


def update_plan(
    s: Session,
    plan_id: int,
    *,
    user: User,
    expected_version: int,
    now: datetime | None = None,
    **changes: Any,
) -> Plan:
    """Change editable fields of a plan seen by ``user``; StaleEdit if someone saved first."""
    plan = get_plan(s, plan_id, user.scope)
    if not may_edit(user, plan):
        raise PlanForbidden(
            f"{user.username} may not edit plan {plan_id}: only its proposer, its owner and "
            "the managers of its place do"
        )
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise PlanError(f"field {unknown[0]!r} cannot be edited; editable: {', '.join(EDITABLE)}")
    values = _check(dict(changes))
    where = {"region": plan.region, "country": plan.country, "agency": plan.agency}
    if "owner" in values:
        values["owner"] = check_person(values["owner"], where)
    if "contributors" in values:
        values["contributors"] = [
            check_person(c, where, "contributor") for c in values["contributors"]
        ]
    reapprove = plan.approval == "approved" and any(
        k in values and values[k] != getattr(plan, k) for k in REAPPROVE_ON
    )
    if reapprove:
        values.update(approval="proposed", approved_by=None, approved_at=None)
        if values.get("status", plan.status) in ("in_progress", "done"):
            values["status"] = "planned"
    status = values.get("status", plan.status)
    _check_move(plan, status)
    if status in ("in_progress", "done") and plan.approval != "approved":
        raise PlanError(
            f"status {status!r}: the plan must be approved first (it is {plan.approval})"
        )
    if status == "done":
        values["progress"] = 100
    if status in ("in_progress", "done") and values.get("approval", plan.approval) != "approved":
        raise PlanError(f"status {status!r}: the plan must be approved again after this edit")
    before = {k: getattr(plan, k) for k in values}
    values = {k: v for k, v in values.items() if before[k] != v}
    if not values:
        return plan
    store.update_versioned(
        s, Plan, plan_id, expected_version, {**values, "updated_at": now or store.utcnow()}
    )
    _audit(
        s,
        plan,
        user.username,
        "update",
        {k: {"from": before[k], "to": v} for k, v in values.items()},
    )
    s.expire(plan)
    return get_plan(s, plan_id, user.scope)


def decide(
    s: Session,
    plan_id: int,
    *,
    user: User,
    expected_version: int,
    approve: bool,
    note: str = "",
    now: datetime | None = None,
) -> Plan:
    """Approve or reject a proposed plan (managers of the plan's scope; see :func:`can_approve`)."""
    plan = get_plan(s, plan_id, user.scope)
    if not can_approve(user, plan):
        why = (
            "only managers approve plans"
            if not user.has(*MANAGERS)
            else "you proposed it: another manager must approve it"
        )
        raise PlanForbidden(f"{user.username} may not approve plan {plan_id}: {why}")
    if plan.approval != "proposed":
        raise PlanError(
            f"plan {plan_id} is already {plan.approval}; only a proposed plan is decided"
        )
    at = now or store.utcnow()
    values: dict[str, Any] = {
        "approval": "approved" if approve else "rejected",
        "approved_by": user.username,
        "approved_at": at,
        "updated_at": at,
    }
    if not approve:
        _check_move(plan, "abandoned")
        values["status"] = "abandoned"
    store.update_versioned(s, Plan, plan_id, expected_version, values)
    _audit(s, plan, user.username, "approve" if approve else "reject", {"note": note.strip()[:500]})
    s.expire(plan)
    return get_plan(s, plan_id, user.scope)


def approve_plan(
    s: Session, plan_id: int, *, user: User, expected_version: int, note: str = ""
) -> Plan:
    return decide(s, plan_id, user=user, expected_version=expected_version, approve=True, note=note)


def reject_plan(
    s: Session, plan_id: int, *, user: User, expected_version: int, note: str = ""
) -> Plan:
    return decide(
        s, plan_id, user=user, expected_version=expected_version, approve=False, note=note
    )


def add_task(
    s: Session, plan_id: int, *, user: User, title: str, owner: str, due_date: date | None = None
) -> PlanTask:
    plan = get_plan(s, plan_id, user.scope)
    if not may_edit(user, plan):
        raise PlanForbidden(f"{user.username} may not add tasks to plan {plan_id}")
    values = _check({"title": title, "owner": owner})
    values["owner"] = check_person(
        values["owner"],
        {"region": plan.region, "country": plan.country, "agency": plan.agency},
        "task owner",
    )
    task = PlanTask(
        plan_id=plan_id,
        title=values["title"],
        owner=values["owner"],
        due_date=due_date,
        created_by=user.username,
    )
    s.add(task)
    s.flush()
    _audit(
        s,
        plan,
        user.username,
        "add_task",
        {"task_id": task.id, "title": task.title, "owner": task.owner},
    )
    return task


def list_tasks(s: Session, plan_id: int, scope: Scope) -> list[PlanTask]:
    get_plan(s, plan_id, scope)
    stmt = select(PlanTask).where(PlanTask.plan_id == plan_id)
    return sorted(s.exec(stmt), key=lambda t: (t.done, t.due_date or date.max, t.id or 0))


def complete_task(
    s: Session,
    task_id: int,
    *,
    user: User,
    expected_version: int,
    done: bool = True,
    now: datetime | None = None,
) -> PlanTask:
    """Tick (or untick) a task; StaleEdit if someone changed it since it was shown."""
    task = s.get(PlanTask, task_id)
    if task is None:
        raise PlanNotFound(f"no task {task_id}")
    plan = get_plan(s, task.plan_id, user.scope)
    if not (may_edit(user, plan) or user.username == task.owner):
        raise PlanForbidden(f"{user.username} may not tick tasks of plan {plan.id}")
    store.update_versioned(
        s,
        PlanTask,
        task_id,
        expected_version,
        {"done": done, "done_at": (now or store.utcnow()) if done else None},
    )
    _audit(s, plan, user.username, "complete_task" if done else "reopen_task", {"task_id": task_id})
    s.expire(task)
    return s.get(PlanTask, task_id)  # type: ignore[return-value]


def add_comment(s: Session, plan_id: int, *, user: User, text: str) -> PlanComment:
    plan = get_plan(s, plan_id, user.scope)
    body = text.strip()
    if not body or len(body) > 4000:
        raise PlanError("comment: give 1 to 4000 characters")
    comment = PlanComment(plan_id=plan_id, author=user.username, text=body)
    s.add(comment)
    s.flush()
    _audit(s, plan, user.username, "comment", {"comment_id": comment.id})
    return comment


def list_comments(s: Session, plan_id: int, scope: Scope) -> list[PlanComment]:
    get_plan(s, plan_id, scope)
    return list(
        s.exec(
            select(PlanComment)
            .where(PlanComment.plan_id == plan_id)
            .order_by(col(PlanComment.at), col(PlanComment.id))
        )
    )


def history(s: Session, plan_id: int, scope: Scope) -> list[store.AuditLog]:
    """The plan's audit trail, newest first."""
    plan = get_plan(s, plan_id, scope)
    return store.audit_trail(s, scope, entity="plan", entity_id=plan.id)


# ---------------------------------------------------------------- follow-up

TRACKER_SCHEMA = {
    "id": pl.Int64,
    "title": pl.String,
    "scope": pl.String,
    "region": pl.String,
    "country": pl.String,
    "agency": pl.String,
    "owner": pl.String,
    "status": pl.String,
    "approval": pl.String,
    "progress": pl.Int64,
    "due_date": pl.Date,
    "late": pl.Boolean,
    "days_late": pl.Int64,
    "problem_kind": pl.String,
    "problem_ref": pl.String,
    "problem": pl.String,
    "target": pl.String,
    "tasks": pl.Int64,
    "tasks_done": pl.Int64,
    "tasks_late": pl.Int64,
    "version": pl.Int64,
    "created_by": pl.String,
}


def _today(today: date | None) -> date:
    return today or datetime.now(UTC).date()


def _late(due: date | None, open_: bool, today: date) -> bool:
    return bool(open_ and due is not None and due < today)


def plan_tracker(s: Session, scope: Scope, *, today: date | None = None) -> pl.DataFrame:
    """One row per plan inside the scope with its status, lateness and task counts (see TRACKER_SCHEMA)."""
    day = _today(today)
    plans = list_plans(s, scope)
    ids = [p.id for p in plans]
    tasks = list(s.exec(select(PlanTask).where(PlanTask.plan_id.in_(ids)))) if ids else []  # type: ignore[attr-defined]
    rows = []
    for p in plans:
        mine = [t for t in tasks if t.plan_id == p.id]
        open_ = p.status in OPEN_STATUSES
        rows.append(
            {
                "id": p.id,
                "title": p.title,
                "scope": scope_label(p),
                "region": p.region,
                "country": p.country,
                "agency": p.agency,
                "owner": p.owner,
                "status": p.status,
                "approval": p.approval,
                "progress": p.progress,
                "due_date": p.due_date,
                "late": _late(p.due_date, open_, day),
                "days_late": (day - p.due_date).days if _late(p.due_date, open_, day) else 0,  # type: ignore[operator]
                "problem_kind": p.problem_kind,
                "problem_ref": p.problem_ref,
                "problem": problem_label(p.problem_kind, p.problem_ref),
                "target": target_text(p),
                "tasks": len(mine),
                "tasks_done": sum(t.done for t in mine),
                "tasks_late": sum(_late(t.due_date, not t.done, day) for t in mine),
                "version": p.version,
                "created_by": p.created_by,
            }
        )
    return pl.DataFrame(rows, schema=TRACKER_SCHEMA)


def tracker_view(tracker: pl.DataFrame) -> pl.DataFrame:
    """The tracker as shown on screen: readable column names, late plans flagged in words."""
    return tracker.select(
        pl.col("id").alias("#"),
        pl.col("title").alias("Plan"),
        pl.col("scope").alias("Scope"),
        pl.col("owner").alias("Owner"),
        pl.col("status").str.replace("_", " ").alias("Status"),
        pl.col("approval").alias("Approval"),
        pl.col("progress").alias("Progress"),
        pl.col("due_date").alias("Due"),
        pl.when(pl.col("late") & (pl.col("days_late") == 1))
        .then(pl.lit("⚠ 1 day late"))
        .when(pl.col("late"))
        .then(pl.format("⚠ {} days late", pl.col("days_late")))
        .when(pl.col("tasks_late") == 1)
        .then(pl.lit("⚠ 1 task late"))
        .when(pl.col("tasks_late") > 0)
        .then(pl.format("⚠ {} tasks late", pl.col("tasks_late")))
        .otherwise(pl.lit(""))
        .alias("Late"),
        pl.col("problem").alias("Problem"),
        pl.col("target").alias("Target"),
        pl.format("{}/{}", pl.col("tasks_done"), pl.col("tasks")).alias("Tasks done"),
    )


def tracker_counts(tracker: pl.DataFrame, by: str) -> pl.DataFrame:
    """Open / late / done / abandoned plans per ``by`` (``owner``, ``problem``, ``scope``…), busiest first."""
    return (
        tracker.group_by(by)
        .agg(
            open=pl.col("status").is_in(OPEN_STATUSES).sum().cast(pl.Int64),
            late=pl.col("late").sum().cast(pl.Int64),
            done=(pl.col("status") == "done").sum().cast(pl.Int64),
            abandoned=(pl.col("status") == "abandoned").sum().cast(pl.Int64),
            total=pl.len().cast(pl.Int64),
        )
        .sort(["open", "late", by], descending=[True, True, False])
    )


def tracker_takeaway(tracker: pl.DataFrame) -> str:
    """E.g. "4 open action plans, 1 late (“Cleaner waiting room”, 5 days late); 2 done; 1 awaits approval."."""
    if tracker.is_empty():
        return "No action plan in this scope yet: create one from an improvement area, a theme or an alert."
    open_ = tracker.filter(pl.col("status").is_in(OPEN_STATUSES))
    late = open_.filter(pl.col("late")).sort(["days_late", "id"], descending=[True, False])
    text = f"{open_.height} open action plan{'s' if open_.height != 1 else ''}"
    if late.height:
        worst = late.row(0, named=True)
        text += f", {late.height} late (“{worst['title']}”, {worst['days_late']} days late)"
    else:
        text += ", none late"
    text += f"; {int((tracker['status'] == 'done').sum())} done"
    waiting = int((tracker["approval"] == "proposed").sum())
    if waiting:
        text += f"; {waiting} await{'s' if waiting == 1 else ''} approval"
    return text + "."


def plans_due(
    s: Session, scope: Scope, *, within_days: int = 7, today: date | None = None
) -> list[Plan]:
    """Open plans inside the scope due within ``within_days`` (overdue ones included), soonest first."""
    limit = _today(today) + timedelta(days=within_days)
    return [
        p
        for p in list_plans(s, scope, status=OPEN_STATUSES)
        if p.due_date is not None and p.due_date <= limit
    ]


# ---------------------------------------------------------------- did it work?

EFFECT_SCHEMA = pl.Schema(
    {
        "wave": pl.String,
        "n": pl.Int64,
        "value": pl.Float64,
        "moe": pl.Float64,
        "low_base": pl.Boolean,
        "suppressed": pl.Boolean,
        "phase": pl.String,
        "change": pl.Float64,
        "significant": pl.Boolean,
        "target": pl.Float64,
        "met": pl.Boolean,
    }
)


def _metric_aggs(metric: str) -> list[pl.Expr]:
    """n, value and 95 % margin of the plan's target metric (weighted; effective base for the margin)."""
    if metric == "nps":
        return [metrics.n(), metrics.nps().alias("value"), metrics.nps_moe().alias("moe")]
    x = pl.col(metric)
    w = pl.col("weight").filter(x.is_not_null())
    v = x.filter(x.is_not_null()).cast(pl.Float64)
    mean = (w * v).sum() / w.sum()
    var = (w * (v - mean).pow(2)).sum() / w.sum()
    n_eff = w.sum().pow(2) / w.pow(2).sum()
    return [
        x.count().alias("n"),
        mean.alias("value"),
        (metrics.Z95 * (var / n_eff).sqrt()).alias("moe"),
    ]


def plan_effect(frame: pl.LazyFrame, plan: Plan) -> pl.DataFrame:
    """The plan's target metric per wave in the plan's own geography, before vs after it started.

    ``phase`` is ``before`` for waves that ended before the plan was created, else ``after``;
    ``change`` and ``significant`` compare each wave with the baseline (the last ``before`` wave).
    Cells with n < 5 are suppressed (no value), n < 30 are low base (never significant).
    """
    return target_trend(
        frame,
        plan_scope(plan),
        Filters(),
        metric=plan.target_attribute or "nps",
        started=plan.created_at.date().isoformat(),
        target=plan.target_value,
        op=plan.target_op,
    )


def target_trend(
    frame: pl.LazyFrame,
    scope: Scope,
    filters: Filters,
    *,
    metric: str = "nps",
    started: str,
    target: float | None = None,
    op: str = ">=",
) -> pl.DataFrame:
    """:func:`plan_effect` as a cacheable query: ``metric`` per wave in ``scope``, waves ending before
    ``started`` (ISO date) are ``before``; the wave filter is ignored (the plan is followed over all waves)."""
    cols = overview.columns_of(frame)
    if metric != "nps" and metric not in cols:
        raise PlanError(f"target_attribute {metric!r}: no such column in the responses")
    df = (
        overview.scoped(frame, scope, filters.with_wave(None))
        .group_by("wave")
        .agg(_metric_aggs(metric))
        .collect()
    )
    if df.is_empty():
        return pl.DataFrame(schema=EFFECT_SCHEMA)
    order = sort_waves(df["wave"].to_list())
    start = date.fromisoformat(started)
    phases = {w: "before" if wave_period(w)[1] < start else "after" for w in order}
    df = df.with_columns(
        order=overview.wave_rank(order),
        phase=pl.col("wave").replace_strict(phases),
        low_base=pl.col("n") < metrics.LOW_BASE,
        suppressed=pl.col("n") < metrics.SUPPRESS_BELOW,
    ).sort("order")
    df = df.with_columns(
        value=pl.when(pl.col("suppressed")).then(None).otherwise(pl.col("value")),
        moe=pl.when(pl.col("suppressed")).then(None).otherwise(pl.col("moe")),
    )
    base = df.filter((pl.col("phase") == "before") & ~pl.col("suppressed")).tail(1)
    b_value, b_moe, b_low = (
        (base["value"][0], base["moe"][0], base["low_base"][0])
        if base.height
        else (None, None, True)
    )
    se = (
        (pl.col("moe") / metrics.Z95).pow(2) + (pl.lit(b_moe, pl.Float64) / metrics.Z95).pow(2)
    ).sqrt()
    change = pl.when(pl.col("phase") == "after").then(pl.col("value") - pl.lit(b_value, pl.Float64))
    goal = pl.lit(target, pl.Float64)
    met = pl.col("value") >= goal if op == ">=" else pl.col("value") <= goal
    return (
        df.with_columns(
            change=change,
            significant=((change.abs() / se) > metrics.Z95).fill_null(False)
            & ~pl.col("low_base")
            & pl.lit(not b_low),
            target=goal,
            met=met,
        )
        .select(list(EFFECT_SCHEMA))
        .cast(EFFECT_SCHEMA)
    )


def effect_sentence(plan: Plan, effect: pl.DataFrame) -> str:
    """One plain sentence: baseline, latest value, change and whether the target is met."""
    name = (
        "NPS"
        if (plan.target_attribute or "nps") == "nps"
        else attribute_label(plan.target_attribute or "")
    )
    shown = effect.filter(~pl.col("suppressed"))
    if shown.is_empty():
        return f"No {name} figures for {scope_label(plan)} yet."
    before = shown.filter(pl.col("phase") == "before")
    after = shown.filter(pl.col("phase") == "after")
    latest = shown.row(-1, named=True)
    target = (
        f"; target {target_text(plan)} {'met' if latest['met'] else 'not met yet'}"
        if plan.target_value is not None
        else ""
    )
    if after.is_empty():
        base = before.row(-1, named=True)
        return f"{name} was {base['value']:.1f} in {base['wave']} when the plan started; no wave since yet{target}."
    if before.is_empty():
        return f"{name} is {latest['value']:.1f} in {latest['wave']} (no wave before the plan to compare with){target}."
    base = before.row(-1, named=True)
    verdict = "a significant change" if latest["significant"] else "not a significant change"
    return (
        f"{name} went from {base['value']:.1f} ({base['wave']}) to {latest['value']:.1f} ({latest['wave']}), "
        f"{latest['change']:+.1f} ({verdict}){target}."
    )


# ---------------------------------------------------------------- digests


@dataclass(frozen=True)
class Digest:
    """What one owner has due (or overdue) in the coming days."""

    owner: str
    plans: tuple[Plan, ...]
    tasks: tuple[tuple[PlanTask, Plan], ...]
    day: date

    @property
    def empty(self) -> bool:
        return not self.plans and not self.tasks

    @property
    def subject(self) -> str:
        late = sum(1 for p in self.plans if p.due_date and p.due_date < self.day) + sum(
            1 for t, _ in self.tasks if t.due_date and t.due_date < self.day
        )
        plans, tasks = labels.count(len(self.plans), "plan"), labels.count(len(self.tasks), "task")
        return f"CX Review: {plans} and {tasks} due" + (f", {late} late" if late else "")

    @property
    def body(self) -> str:
        lines = [
            f"Action plans and tasks due by {self.day + timedelta(days=7):%Y-%m-%d} for {self.owner}:",
            "",
        ]
        for p in self.plans:
            flag = " (LATE)" if p.due_date and p.due_date < self.day else ""
            lines.append(
                f"- Plan #{p.id} {p.title} [{scope_label(p)}], due {p.due_date}{flag}, progress {p.progress} %"
            )
        for t, p in self.tasks:
            flag = " (LATE)" if t.due_date and t.due_date < self.day else ""
            lines.append(f"- Task {t.title} of plan #{p.id} {p.title}, due {t.due_date}{flag}")
        lines += ["", "Open the Action plans page of CX Review to update them."]
        return "\n".join(lines)


def digest(s: Session, owner: str, *, today: date | None = None, within_days: int = 7) -> Digest:
    """Open plans and open tasks owned by ``owner`` due within ``within_days`` (late ones included)."""
    day = _today(today)
    limit = day + timedelta(days=within_days)
    plans = s.exec(
        select(Plan).where(
            Plan.owner == owner, col(Plan.status).in_(OPEN_STATUSES), col(Plan.due_date) <= limit
        )
    )
    tasks = s.exec(
        select(PlanTask, Plan)
        .join(Plan, PlanTask.plan_id == Plan.id)  # type: ignore[arg-type]
        .where(
            PlanTask.owner == owner,
            col(PlanTask.done).is_(False),
            col(PlanTask.due_date) <= limit,
            col(Plan.status).in_(OPEN_STATUSES),
        )
    )
    return Digest(
        owner,
        tuple(sorted(plans, key=lambda p: (p.due_date, p.id))),
        tuple(sorted(tasks, key=lambda tp: (tp[0].due_date, tp[0].id))),
        day,
    )


def send_digests(
    engine: Engine,
    now: datetime | None = None,
    *,
    within_days: int = 7,
    users_file: str | Path | None = None,
) -> dict[str, int]:
    """Enqueue one digest e-mail per owner with something due, at most once per owner per day.

    Owners are usernames (their e-mail comes from the users file) or e-mail addresses.
    Returns counts: ``owners`` with something due, ``enqueued``, ``already`` (sent today), ``no_email``,
    and ``refused`` when the owner may not receive it (an outside address, or plans outside their scope).
    """
    at = now or store.utcnow()
    day = at.astimezone(UTC).date()
    limit = day + timedelta(days=within_days)
    counts = {"owners": 0, "enqueued": 0, "already": 0, "no_email": 0}
    with store.session(engine) as s:
        owners = set(
            s.exec(
                select(Plan.owner).where(
                    col(Plan.status).in_(OPEN_STATUSES), col(Plan.due_date) <= limit
                )
            )
        )
        owners |= set(
            s.exec(
                select(PlanTask.owner)
                .join(Plan, PlanTask.plan_id == Plan.id)  # type: ignore[arg-type]
                .where(
                    col(PlanTask.done).is_(False),
                    col(PlanTask.due_date) <= limit,
                    col(Plan.status).in_(OPEN_STATUSES),
                )
            )
        )
        for owner in sorted(owners):
            d = digest(s, owner, today=day, within_days=within_days)
            if d.empty:
                continue
            counts["owners"] += 1
            user = users.get(owner, users_file)
            email = user.email if user and user.email else (owner if "@" in owner else "")
            if not email:
                counts["no_email"] += 1
                continue
            try:  # filed where its plans are: only an owner whose scope holds them gets it
                row = store.enqueue(
                    s,
                    recipient=email,
                    subject=d.subject,
                    body=d.body,
                    dedupe_key=f"plan-digest:{owner}:{day.isoformat()}",
                    directory=store.outbox.recipient_directory(users_file=users_file),
                    **store.outbox.common_geography([*d.plans, *(p for _, p in d.tasks)]),
                )
            except store.outbox.RecipientRefused:
                counts["refused"] = counts.get("refused", 0) + 1
                continue
            counts["enqueued" if row is not None else "already"] += 1
    return counts


def plan_options(s: Session, scope: Scope) -> list[str]:
    """Action plans of the scope to link an alert to, as ``plan:<id> · title``."""
    return [f"plan:{p.id} · {p.title}" for p in list_plans(s, scope)]


# ---------------------------------------------------------------- the plans screen

REFUSED = (PlanError, PlanForbidden, PlanNotFound, ValueError)
"""What a plan change may be refused with; the screen shows the message and nothing is saved."""


def kind_label(kind: str) -> str:
    """``improvement_area`` -> ``Improvement area``."""
    return kind.replace("_", " ").capitalize()


def status_label(status: str) -> str:
    """``in_progress`` -> ``in progress``."""
    return status.replace("_", " ")


def metric_label(metric: str) -> str:
    """``nps`` -> ``NPS``, ``attr_cleanliness`` -> ``Cleanliness``."""
    return "NPS" if metric == "nps" else attribute_label(metric)


@dataclass(frozen=True)
class Draft:
    """The proposal form's starting values; a link may name the problem (``?problem_kind=…&problem_ref=…``)."""

    linked: bool
    heading: str
    title: str
    kind_index: int
    ref: str
    metrics: list[str]
    metric_index: int


def draft(kind: str, ref: str, columns: Sequence[str]) -> Draft:
    """The proposal form for the problem ``kind``/``ref`` (both may be empty); ``columns`` of the
    responses give the target metrics (NPS and the attributes)."""
    label = problem_label(kind, ref) if kind else ""
    targets = ["nps", *attributes(list(columns))]
    return Draft(
        linked=bool(kind),
        heading=f"Propose an action plan for {label}" if kind else "Propose an action plan",
        title=f"Improve {label.split(' (')[0]}" if kind else "",
        kind_index=PROBLEM_KINDS.index(kind) if kind in PROBLEM_KINDS else 1,
        ref=ref,
        metrics=targets,
        metric_index=targets.index(ref) if ref in targets else 0,
    )


def propose(
    s: Session, *, user: User, org: Org, where: str, contributors: str, **fields: Any
) -> Plan:
    """Create a plan from the proposal form: ``where`` is one of :func:`scope_options`,
    ``contributors`` a comma-separated list; the other fields are those of :func:`create_plan`."""
    geo = geography(where, org)
    return create_plan(
        s,
        user=user,
        region=geo["region"],
        country=geo["country"],
        agency=geo["agency"],
        contributors=contributors.split(","),
        **fields,
    )


def summary_line(plan: Plan) -> str:
    """E.g. ``agency:Madrid · owner madrid.manager · planned · approved by es.manager · due 2026-10-01 · version 2``."""
    return (
        f"{scope_label(plan)} · owner {plan.owner} · {status_label(plan.status)} · {plan.approval}"
        + (f" by {plan.approved_by}" if plan.approved_by else "")
        + f" · due {plan.due_date or '–'} · version {plan.version}"
    )


def awaits_decision(user: User, plan: Plan) -> bool:
    """A proposed plan that ``user`` may approve or reject."""
    return plan.approval == "proposed" and can_approve(user, plan)


def trend_args(plan: Plan) -> dict[str, Any]:
    """The keyword arguments of :func:`target_trend` that follow ``plan``'s target."""
    return {
        "metric": plan.target_attribute,
        "started": plan.created_at.date().isoformat(),
        "target": plan.target_value,
        "op": plan.target_op,
    }


def task_label(task: PlanTask, today: date | None = None) -> str:
    """E.g. ``Retrain the front desk · madrid.manager · due 2026-09-30 · LATE``."""
    late = task.due_date is not None and not task.done and task.due_date < _today(today)
    return f"{task.title} · {task.owner} · due {task.due_date or '–'}" + (" · LATE" if late else "")


def toggle_task(s: Session, task: PlanTask, *, user: User) -> PlanTask:
    """Tick an open task or reopen a done one, from the version the user saw."""
    return complete_task(s, task.id, user=user, expected_version=task.version, done=not task.done)  # type: ignore[arg-type]
