"""The weekly report by e-mail: each manager gets the PDF of their OWN scope, nothing wider.

Through the outbox, like every other notification: each manager's PDF is written to the output
folder and one :class:`cx.store.Notification` per manager and ISO week is queued with it attached
(its ``dedupe_key`` stops a second one that week). The outbox sender
(:func:`cx.loop.notify.deliver_pending`: ``cx notify``, the app's background sender) delivers it
with the same transport, retries and recipient-scope check. :func:`send_weekly` queues, then runs
the sender once, so a cron line sends the reports at once; a failed e-mail stays in the outbox and
is retried there. Settings: :class:`cx.loop.notify.NotifySettings` (``CX_SMTP_*``).

Example crontab line (Mondays 07:00)::

    0 7 * * 1  cd /srv/cx-review && CX_SMTP_HOST=smtp.example.com CX_SMTP_FROM=cx@example.com \
        uv run cx report --email-managers --out /var/lib/cx/reports
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy.engine import Engine
from sqlmodel import select

from cx import store
from cx.core import users
from cx.core.filters import Filters
from cx.core.roles import MANAGERS
from cx.core.scope import Scope
from cx.core.users import User
from cx.loop import notify
from cx.loop.notify import NotifySettings
from cx.reports.model import scope_label
from cx.reports.pdf import write_pdf
from cx.reports.sections import build_sections


class MailerError(ValueError):
    """The weekly mailing cannot run (no SMTP host, no output folder)."""


def recipients(all_users: list[User] | None = None) -> list[User]:
    """Managers (CEO, country and agency managers) with an e-mail and a non-empty scope."""
    people = users.all_users() if all_users is None else all_users
    return [u for u in people if u.has(*MANAGERS) and u.email and not u.scope.is_empty]


def week_key(now: datetime) -> str:
    year, week, _ = now.isocalendar()
    return f"{year}-W{week:02d}"


def dedupe_key(user: User, now: datetime) -> str:
    return f"weekly-report:{user.username}:{week_key(now)}"


def message_text(user: User, wave: str) -> tuple[str, str]:
    """Subject and body of the e-mail: a short text naming the scope (the PDF is attached)."""
    label = scope_label(user.scope)
    subject = f"CX Review weekly report: {label}, {wave}"
    body = (
        f"Hello {user.name},\n\nAttached: the CX Review report for your scope ({label}), wave {wave}.\n"
        "It covers key figures with margins of error, evolution, strengths and weaknesses, "
        "benchmarks, themes, alerts and action plans.\n\nCX Review\n"
    )
    return subject, body


def geography(scope: Scope) -> tuple[str | None, str | None, str | None]:
    """(region, country, agency) under which the outbox files a manager's report: the scope's
    (first) entry, all None for the world. The sender checks it against the recipient's scope."""
    if scope.is_world or not scope.entries:
        return None, None, None
    level, value = scope.entries[0].level, scope.entries[0].value
    return (
        value if level == "region" else None,
        value if level == "country" else None,
        value if level == "agency" else None,
    )


def require_smtp(settings: NotifySettings) -> NotifySettings:
    """The settings, when they can send e-mail; a one-line error naming the variable otherwise."""
    if not settings.smtp_host:
        raise MailerError("CX_SMTP_HOST is not set: the weekly report cannot be e-mailed")
    return settings


def _queued(engine: Engine, key: str) -> store.Notification | None:
    with store.session(engine) as s:
        return s.exec(
            select(store.Notification).where(store.Notification.dedupe_key == key)
        ).first()


def queue_weekly(
    frame: pl.LazyFrame,
    out_dir: Path,
    *,
    engine: Engine,
    filters: Filters | None = None,
    now: datetime | None = None,
    only: list[User] | None = None,
) -> list[dict[str, Any]]:
    """Write each manager's PDF for their own scope and queue its e-mail; one row per manager.

    ``status`` is ``queued`` or ``skipped`` (already queued this ISO week: not built again).
    """
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise MailerError(f"{out_dir}: output folder does not exist")
    now = now or store.utcnow()
    f = filters or Filters()
    rows: list[dict[str, Any]] = []
    for user in recipients(only):
        key = dedupe_key(user, now)
        row: dict[str, Any] = {
            "user": user.username,
            "email": user.email,
            "scope": str(user.scope),
            "file": None,
            "status": "skipped",
            "error": None,
        }
        rows.append(row)
        if _queued(engine, key) is not None:
            continue
        pdf = out_dir / f"cx-report-{user.username}-{week_key(now)}.pdf"
        built = build_sections(frame, user.scope, f, engine=engine, user_name=user.name)
        write_pdf(built, pdf)
        row["file"] = str(pdf)
        subject, body = message_text(user, built.ctx.wave)
        region, country, agency = geography(user.scope)
        with store.session(engine) as s:
            queued = store.enqueue(
                s,
                recipient=user.email,
                subject=subject,
                body=body,
                dedupe_key=key,
                region=region,
                country=country,
                agency=agency,
                attachment=pdf,
            )
            if queued is None:  # another run queued it meanwhile
                continue
            store.audit(
                s,
                actor="cx report",
                action="weekly_report_queued",
                entity="user",
                entity_id=user.username,
                detail={"scope": str(user.scope), "file": pdf.name, "recipient": user.email},
            )
        row["status"] = "queued"
    return rows


def send_weekly(
    frame: pl.LazyFrame,
    out_dir: Path,
    settings: NotifySettings,
    *,
    engine: Engine,
    filters: Filters | None = None,
    now: datetime | None = None,
    only: list[User] | None = None,
) -> list[dict[str, Any]]:
    """Queue the week's reports (:func:`queue_weekly`), then run the outbox sender once.

    ``status`` per manager: ``sent``, ``skipped`` (already queued this ISO week), ``failed`` (with
    ``error``; the outbox retries it with backoff) or ``queued`` (left for the next sender run).
    """
    require_smtp(settings)
    now = now or store.utcnow()
    rows = queue_weekly(frame, out_dir, engine=engine, filters=filters, now=now, only=only)
    if not any(r["status"] == "queued" for r in rows):
        return rows
    notify.deliver_pending(engine, settings)
    for row, user in zip(rows, recipients(only), strict=True):
        if row["status"] != "queued":
            continue
        n = _queued(engine, dedupe_key(user, now))
        if n is not None and n.status == "sent":
            row["status"] = "sent"
        elif n is not None and n.last_error:
            row.update(status="failed", error=n.last_error)
    return rows
