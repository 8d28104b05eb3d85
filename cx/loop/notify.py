"""The outbox sender: delivers pending :class:`cx.store.Notification` rows by SMTP or Telegram
(the transports of :mod:`cx.loop.transport`), an attached file included.

How a row moves: ``pending`` → claimed (``sending``, with a lease) → ``sent``; on a failure it goes
back to ``pending`` with ``attempts + 1`` and an exponential backoff on ``next_attempt_at``, and to
``dead`` (dead letter) after :attr:`NotifySettings.max_attempts`. A row whose recipient is a known
user or organisation contact whose scope does not contain the row's geography is never sent
(``dead``, "recipient out of scope").

Delivery guarantee, honestly: a row is marked ``sent`` in its own short transaction right after
the server accepted it. If the process dies between the server's "250 OK" and that commit, the
lease expires and the row is sent again: at-least-once at that boundary. Every e-mail carries a
``Message-ID`` derived from the row's ``dedupe_key`` (and Telegram messages a footer with it), so a
duplicate after such a crash is detectable and mail servers/clients fold it. Everywhere else
(server down, refused, timeouts) nothing is lost and nothing is sent twice.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from cx import store
from cx.core import catalog, org, users
from cx.core.scope import Scope, contains, restrict_statement
from cx.loop.transport import (
    TLS_MODES,
    SmtpClient,
    dedupe_tag,
    email_message,
    send_telegram,
)
from cx.store import Notification, utcnow


class NotifyError(ValueError):
    """Bad notification settings (names the environment variable)."""


@dataclass(frozen=True)
class NotifySettings:
    """Where and how to send; :meth:`from_env` reads the ``CX_SMTP_*`` / ``CX_TELEGRAM_*`` variables."""

    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_tls: str = "none"
    smtp_from: str = "cx-review@localhost"
    smtp_timeout: float = 10.0
    telegram_token: str | None = field(default=None, repr=False)
    telegram_chat_id: str | None = None
    telegram_api: str = "https://api.telegram.org"
    max_attempts: int = 6
    backoff: timedelta = timedelta(minutes=1)
    max_backoff: timedelta = timedelta(hours=6)
    lease: timedelta = timedelta(minutes=5)
    directory: dict[str, Scope] = field(default_factory=dict, hash=False, compare=False)
    """Known recipients (user e-mails, org contacts, ``telegram:<chat>``) and the scope each may see."""

    def __post_init__(self) -> None:
        if self.smtp_tls not in TLS_MODES:
            raise NotifyError(f"CX_SMTP_TLS={self.smtp_tls!r}: use one of {', '.join(TLS_MODES)}")

    @classmethod
    def from_env(
        cls, root: Path | None = None, env: dict[str, str] | None = None
    ) -> NotifySettings:
        e = dict(os.environ if env is None else env)
        tls = e.get("CX_SMTP_TLS", "none").strip().lower() or "none"
        port_text = e.get("CX_SMTP_PORT") or (
            "465" if tls == "ssl" else "587" if tls == "starttls" else "25"
        )
        try:
            port = int(port_text)
        except ValueError:
            raise NotifyError(f"CX_SMTP_PORT={port_text!r} is not a port number") from None
        chat = e.get("CX_TELEGRAM_CHAT_ID") or None
        directory = recipient_directory(root)
        if chat:
            directory.setdefault(
                f"telegram:{chat}", Scope.parse(e.get("CX_TELEGRAM_SCOPE") or "world")
            )
        return cls(
            smtp_host=e.get("CX_SMTP_HOST") or None,
            smtp_port=port,
            smtp_user=e.get("CX_SMTP_USER") or None,
            smtp_password=e.get("CX_SMTP_PASSWORD") or None,
            smtp_tls=tls,
            smtp_from=e.get("CX_SMTP_FROM") or "cx-review@localhost",
            telegram_token=e.get("CX_TELEGRAM_TOKEN") or None,
            telegram_chat_id=chat,
            telegram_api=(e.get("CX_TELEGRAM_API") or "https://api.telegram.org").rstrip("/"),
            directory=directory,
        )


def recipient_directory(root: Path | None = None) -> dict[str, Scope]:
    """E-mail → scope of every demo/app user and every contact of ``org.yaml`` (agency or country)."""
    out: dict[str, Scope] = {u.email.lower(): u.scope for u in users.all_users() if u.email}
    if root is not None and (root / "org.yaml").exists():
        import yaml  # type: ignore[import-untyped]

        raw = yaml.safe_load((root / "org.yaml").read_text(encoding="utf-8")) or {}
        for region in raw.get("regions", []):
            for country in region.get("countries", []):
                for mail in (country.get("contacts") or {}).values():
                    out.setdefault(str(mail).lower(), Scope.parse(f"country:{country['code']}"))
        for agency in org.load(root).agencies:
            for mail in agency.contacts.values():
                out.setdefault(mail.lower(), Scope.parse(f"agency:{agency.name}"))
    return out


def backoff_delay(attempts: int, settings: NotifySettings) -> timedelta:
    """Exponential backoff: base × 2^(attempts − 1), capped."""
    return min(settings.backoff * (2 ** max(attempts - 1, 0)), settings.max_backoff)


def in_scope(n: Notification, settings: NotifySettings) -> bool:
    """A known recipient only receives notifications about its own scope (unknown: a customer)."""
    key = f"telegram:{n.recipient}" if n.channel == "telegram" else n.recipient.lower()
    scope = settings.directory.get(key)
    if scope is None:
        return True
    return contains(scope, region=n.region, country=n.country, agency=n.agency)


# ---------------------------------------------------------------- transports


def smtp_client(settings: NotifySettings) -> SmtpClient:
    """The SMTP client of the ``CX_SMTP_*`` settings (it connects on its first e-mail)."""
    if not settings.smtp_host:
        raise NotifyError("CX_SMTP_HOST is not set")
    return SmtpClient(
        settings.smtp_host,
        settings.smtp_port,
        tls=settings.smtp_tls,
        user=settings.smtp_user,
        password=settings.smtp_password,
        timeout=settings.smtp_timeout,
    )


def _attachments(n: Notification) -> list[tuple[str, bytes]]:
    """The row's attached file, read when it is sent (a missing file fails the attempt, by name)."""
    if not n.attachment_path:
        return []
    path = Path(n.attachment_path)
    return [(n.attachment_name or path.name, path.read_bytes())]


def _send(n: Notification, settings: NotifySettings, smtp: SmtpClient | None) -> None:
    """One outbox row through its channel's transport."""
    if n.channel == "telegram":
        if not settings.telegram_token:
            raise NotifyError("CX_TELEGRAM_TOKEN is not set")
        send_telegram(
            api=settings.telegram_api,
            token=settings.telegram_token,
            chat_id=n.recipient or settings.telegram_chat_id or "",
            text=f"{n.subject}\n\n{n.body}".strip() + f"\n\n{dedupe_tag(n.dedupe_key)}",
            timeout=settings.smtp_timeout,
        )
        return
    if smtp is None:
        raise NotifyError("CX_SMTP_HOST is not set")
    smtp.send(
        email_message(
            sender=settings.smtp_from,
            recipient=n.recipient,
            subject=n.subject,
            body=n.body,
            dedupe_key=n.dedupe_key,
            attachments=_attachments(n),
        )
    )


# ---------------------------------------------------------------- delivery


def _claim(engine: Engine, row_id: int, now: datetime, settings: NotifySettings) -> bool:
    """Take a row for ourselves (a short transaction): only one sender can win it."""
    table = Notification.__table__  # type: ignore[attr-defined]
    with store.session(engine) as s:
        result = s.execute(
            update(table)
            .where(
                table.c.id == row_id,
                table.c.next_attempt_at <= now,
                table.c.status.in_(("pending", "sending")),
            )
            .values(status="sending", next_attempt_at=now + settings.lease)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def _finish(engine: Engine, row_id: int, values: dict[str, Any]) -> None:
    table = Notification.__table__  # type: ignore[attr-defined]
    with store.session(engine) as s:
        s.execute(
            update(table).where(table.c.id == row_id, table.c.status == "sending").values(**values)
        )


def deliver_pending(
    engine: Engine, settings: NotifySettings, *, now: datetime | None = None, limit: int = 100
) -> dict[str, int]:
    """Send the due outbox rows (oldest first); returns counts of sent, retry, dead, skipped (taken by
    another sender) and, when a channel has no settings, ``unconfigured`` (left pending)."""
    now = now or utcnow()
    with Session(engine) as s:
        due = s.exec(
            select(Notification.id, Notification.channel)
            .where(
                col(Notification.status).in_(("pending", "sending")),
                col(Notification.next_attempt_at) <= now,
            )
            .order_by(col(Notification.next_attempt_at), col(Notification.id))
            .limit(limit)
        ).all()
    counts = {"sent": 0, "retry": 0, "dead": 0, "skipped": 0}
    smtp = smtp_client(settings) if settings.smtp_host else None
    configured = {"email": bool(settings.smtp_host), "telegram": bool(settings.telegram_token)}
    try:
        for row_id, channel in due:
            assert row_id is not None
            if not configured.get(channel, False):
                # A channel without settings keeps its rows pending (no attempt spent, nothing lost).
                counts["unconfigured"] = counts.get("unconfigured", 0) + 1
                continue
            if not _claim(engine, row_id, now, settings):
                counts["skipped"] += 1  # another sender took it
                continue
            with Session(engine) as s:
                n = s.get(Notification, row_id)
            assert n is not None
            if not in_scope(n, settings):
                _finish(
                    engine,
                    row_id,
                    {"status": "dead", "last_error": "recipient out of scope: not sent"},
                )
                counts["dead"] += 1
                continue
            try:
                _send(n, settings, smtp)
            except Exception as exc:
                attempts = n.attempts + 1
                dead = attempts >= settings.max_attempts
                _finish(
                    engine,
                    row_id,
                    {
                        "status": "dead" if dead else "pending",
                        "attempts": attempts,
                        "next_attempt_at": now + backoff_delay(attempts, settings),
                        "last_error": f"{exc.__class__.__name__}: {exc}"[:500],
                    },
                )
                counts["dead" if dead else "retry"] += 1
                continue
            _finish(
                engine,
                row_id,
                {
                    "status": "sent",
                    "attempts": n.attempts + 1,
                    "sent_at": utcnow(),
                    "last_error": None,
                },
            )
            counts["sent"] += 1
    finally:
        if smtp is not None:
            smtp.close()
    return counts


# ---------------------------------------------------------------- background loop


class BackgroundSender:
    """A daemon thread running :func:`deliver_pending` every ``interval`` seconds until stopped."""

    def __init__(self, engine: Engine, settings: NotifySettings, interval: float) -> None:
        self.engine, self.settings, self.interval = engine, settings, interval
        self.stopped = threading.Event()
        self.last: dict[str, int] | None = None
        self.last_error: str | None = None
        self.thread = threading.Thread(target=self._run, name="cx-outbox-sender", daemon=True)

    def _run(self) -> None:
        while not self.stopped.is_set():
            try:
                self.last = deliver_pending(self.engine, self.settings)
                self.last_error = None
            except Exception as exc:  # keep the loop alive; the next round retries
                self.last_error = f"{exc.__class__.__name__}: {exc}"
            self.stopped.wait(self.interval)

    def stop(self, timeout: float = 10.0) -> None:
        self.stopped.set()
        self.thread.join(timeout)


def start_background_sender(
    engine: Engine, settings: NotifySettings, interval: float = 30.0
) -> BackgroundSender:
    """Start the outbox loop in a daemon thread (the app starts it once, via ``st.cache_resource``)."""
    sender = BackgroundSender(engine, settings, interval)
    sender.thread.start()
    return sender


# ---------------------------------------------------------------- customer acknowledgement


def case_number(case_id: int) -> str:
    return f"CX-{case_id:06d}"


def customer_ack(
    *,
    case_id: int,
    agency: str,
    customer_id: str,
    name: str | None = None,
    language: str | None = None,
) -> tuple[str, str]:
    """Subject and body of the acknowledgement e-mail, personalised, in the customer's language
    (English when unknown): the ``ack.subject`` and ``ack.body`` texts of :mod:`cx.core.catalog`."""
    values = {"agency": agency, "number": case_number(case_id), "name": name or customer_id}
    return (
        catalog.text("ack.subject", language, **values),
        catalog.text("ack.body", language, **values),
    )


def email_customer_ack(
    s: Session, case: Any, *, recipient: str, name: str | None = None
) -> Notification | None:
    """Queue the acknowledgement of ``case`` (a :class:`cx.loop.cases.Case`) in the caller's transaction.

    None when it was already queued for this case (dedupe key ``case:<id>:ack``).
    """
    subject, body = customer_ack(
        case_id=case.id,
        agency=case.agency or "",
        customer_id=case.customer_id,
        name=name,
        language=case.language,
    )
    return store.enqueue(
        s,
        recipient=recipient,
        subject=subject,
        body=body,
        dedupe_key=f"case:{case.id}:ack",
        region=case.region,
        country=case.country,
        agency=case.agency,
    )


def telegram_case_alert(s: Session, case: Any, *, chat_id: str) -> Notification | None:
    """Queue a team-chat message about a new case (masked comment) in the caller's transaction."""
    subject = f"New complaint {case_number(case.id)} at {case.agency}: NPS {case.nps}"
    body = f"Customer {case.customer_id}, wave {case.wave}." + (
        f"\n“{case.comment}”" if case.comment else ""
    )
    return store.enqueue(
        s,
        channel="telegram",
        recipient=chat_id,
        subject=subject,
        body=body,
        dedupe_key=f"case:{case.id}:telegram",
        region=case.region,
        country=case.country,
        agency=case.agency,
    )


def outbox_summary(s: Session, scope: Scope) -> dict[str, int]:
    """Counts of outbox rows by status inside the scope."""
    from sqlalchemy import func

    stmt = restrict_statement(
        select(Notification.status, func.count()).group_by(Notification.status), scope, Notification
    )
    return {str(k): int(v) for k, v in s.exec(stmt).all()}
