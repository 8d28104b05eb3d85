"""The weekly report by e-mail: each manager gets the PDF of their OWN scope, nothing wider.

Cron-friendly and idempotent: one e-mail per manager and ISO week. The outbox table has no
attachment column, so the PDF goes out by SMTP directly with the outbox's settings
(:class:`cx.loop.notify.NotifySettings`, ``CX_SMTP_*``); each e-mail sent is then recorded in the outbox
as an already ``sent`` row (its ``dedupe_key`` stops a second send that week) and in the audit log.

Example crontab line (Mondays 07:00)::

    0 7 * * 1  cd /srv/cx-review && CX_SMTP_HOST=smtp.example.com CX_SMTP_FROM=cx@example.com \
        uv run cx report --email-managers --out /var/lib/cx/reports
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy.engine import Engine
from sqlmodel import select

from cx import reports, store
from cx.core import users
from cx.core.filters import Filters
from cx.core.roles import MANAGERS
from cx.core.users import User


class MailerError(ValueError):
    """The weekly mailing cannot run (no SMTP host, no output folder)."""


@dataclass(frozen=True)
class SmtpSettings:
    """The SMTP part of the outbox settings (host, port, TLS mode, login, sender)."""

    host: str
    port: int = 25
    tls: str = "none"
    user: str | None = None
    password: str | None = None
    sender: str = "cx-review@localhost"
    timeout: float = 20.0

    @classmethod
    def from_notify(cls, settings: Any) -> SmtpSettings:
        """From :class:`cx.loop.notify.NotifySettings` (the same ``CX_SMTP_*`` variables as the outbox)."""
        if not settings.smtp_host:
            raise MailerError("CX_SMTP_HOST is not set: the weekly report cannot be e-mailed")
        return cls(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_tls,
            settings.smtp_user,
            settings.smtp_password,
            settings.smtp_from,
            settings.smtp_timeout,
        )


def recipients(all_users: list[User] | None = None) -> list[User]:
    """Managers (CEO, country and agency managers) with an e-mail and a non-empty scope."""
    people = users.all_users() if all_users is None else all_users
    return [u for u in people if u.has(*MANAGERS) and u.email and not u.scope.is_empty]


def week_key(now: datetime) -> str:
    year, week, _ = now.isocalendar()
    return f"{year}-W{week:02d}"


def dedupe_key(user: User, now: datetime) -> str:
    return f"weekly-report:{user.username}:{week_key(now)}"


def message(settings: SmtpSettings, user: User, pdf: Path, wave: str) -> EmailMessage:
    """The e-mail: a short text naming the scope, the PDF attached."""
    label = reports.scope_label(user.scope)
    msg = EmailMessage()
    msg["From"] = settings.sender
    msg["To"] = user.email
    msg["Subject"] = f"CX Review weekly report: {label}, {wave}"
    msg["Date"] = formatdate(localtime=False)
    msg.set_content(
        f"Hello {user.name},\n\nAttached: the CX Review report for your scope ({label}), wave {wave}.\n"
        "It covers key figures with margins of error, evolution, strengths and weaknesses, "
        "benchmarks, themes, alerts and action plans.\n\nCX Review\n"
    )
    msg.add_attachment(pdf.read_bytes(), maintype="application", subtype="pdf", filename=pdf.name)
    return msg


def _connect(settings: SmtpSettings) -> smtplib.SMTP:
    if settings.tls == "ssl":
        conn: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.host,
            settings.port,
            timeout=settings.timeout,
            context=ssl.create_default_context(),
        )
    else:
        conn = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        if settings.tls == "starttls":
            conn.starttls(context=ssl.create_default_context())
    if settings.user:
        conn.login(settings.user, settings.password or "")
    return conn


def _already_sent(engine: Engine | None, key: str) -> bool:
    if engine is None:
        return False
    with store.session(engine) as s:
        return (
            s.exec(select(store.Notification).where(store.Notification.dedupe_key == key)).first()
            is not None
        )


def _record(
    engine: Engine | None, user: User, key: str, subject: str, pdf: Path, now: datetime
) -> None:
    """Log the sent e-mail in the outbox (as ``sent``: its dedupe key blocks a resend) and the audit log."""
    if engine is None:
        return
    with store.session(engine) as s:
        s.add(
            store.Notification(
                recipient=user.email,
                subject=subject,
                body=f"weekly report PDF attached: {pdf.name}",
                dedupe_key=key,
                status="sent",
                sent_at=now,
                attempts=1,
                created_at=now,
                next_attempt_at=now,
            )
        )
        store.audit(
            s,
            actor="cx report",
            action="weekly_report_sent",
            entity="user",
            entity_id=user.username,
            detail={"scope": str(user.scope), "file": pdf.name, "recipient": user.email},
        )


def send_weekly(
    frame: pl.LazyFrame,
    out_dir: Path,
    settings: SmtpSettings,
    *,
    filters: Filters | None = None,
    engine: Engine | None = None,
    now: datetime | None = None,
    only: list[User] | None = None,
) -> list[dict[str, Any]]:
    """Build each manager's PDF for their own scope and e-mail it; one row per manager.

    ``status`` is ``sent``, ``skipped`` (already sent this ISO week) or ``failed`` (with ``error``;
    a failed e-mail is not recorded, so the next run tries again).
    """
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise MailerError(f"{out_dir}: output folder does not exist")
    now = now or store.utcnow()
    f = filters or Filters()
    rows: list[dict[str, Any]] = []
    conn: smtplib.SMTP | None = None
    try:
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
            if _already_sent(engine, key):
                rows.append(row)
                continue
            pdf = out_dir / f"cx-report-{user.username}-{week_key(now)}.pdf"
            built = reports.build_sections(frame, user.scope, f, engine=engine, user_name=user.name)
            reports.write_pdf(built, pdf)
            row["file"] = str(pdf)
            msg = message(settings, user, pdf, built.ctx.wave)
            try:
                conn = conn or _connect(settings)
                conn.send_message(msg)
            except (OSError, smtplib.SMTPException) as exc:
                conn = None
                row.update(status="failed", error=f"{exc.__class__.__name__}: {exc}")
                rows.append(row)
                continue
            _record(engine, user, key, str(msg["Subject"]), pdf, now)
            row["status"] = "sent"
            rows.append(row)
    finally:
        if conn is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                conn.quit()
    return rows
