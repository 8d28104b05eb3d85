"""The outbox sender: delivers pending :class:`cx.store.Notification` rows by SMTP, Telegram, or
an HTTP post (webhooks, Slack, Teams, the helpdesk: the transports of :mod:`cx.loop.transport`),
an attached file included.

HTTP rows are posted concurrently (a small thread pool per batch, each post within
``CX_WEBHOOK_TIMEOUT`` seconds), so a slow receiver delays only its own rows; e-mails go one
by one over the batch's SMTP connection.

How a row moves: ``pending`` → claimed (``sending``, with a lease) → ``sent``; on a failure it goes
back to ``pending`` with ``attempts + 1`` and an exponential backoff on ``next_attempt_at``, and to
``dead`` (dead letter) after :attr:`NotifySettings.max_attempts`.

Who may receive what is checked when a row is queued (:func:`check_recipient`, through
:func:`cx.store.enqueue`) and again here before it is sent: a staff row whose recipient is not a
known user or organisation contact, a known one whose scope does not contain the row's geography,
or a malformed address is never sent (``dead``, with the reason).

The lease: a sender claims one row at a time, stamping ``next_attempt_at = claim time + lease``
and its own token (``claimed_by``), renews the lease right before handing the row to the
transport, checking the token (another sender that took over an expired lease wins; this one
skips the row), and keeps renewing it every third of the lease while the transport works. So
however slow a batch or a single send is, a row being sent is never claimed by the app's
background thread and a cron ``cx notify`` at once.

Delivery guarantee, honestly: a row is marked ``sent`` in its own short transaction right after
the server accepted it. If the process dies between the server's "250 OK" and that commit, the
lease expires and the row is sent again: at-least-once at that boundary. Every e-mail carries a
``Message-ID`` derived from the row's ``dedupe_key`` (and Telegram messages a footer with it), so a
duplicate after such a crash is detectable and mail servers/clients fold it. Everywhere else
(server down, refused, timeouts) nothing is lost and nothing is sent twice.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from cx import store
from cx.core import catalog, privacy
from cx.core.org import Org
from cx.core.scope import Scope, contains, restrict_statement
from cx.loop import feed, helpdesk, webhooks
from cx.loop.transport import (
    TLS_MODES,
    SmtpClient,
    dedupe_tag,
    email_message,
    post_json,
    send_telegram,
)
from cx.store import Notification, utcnow
from cx.store.models import WebhookSubscription
from cx.store.outbox import (
    HTTP_CHANNELS,
    RecipientRefused,
    chat_directory,
    check_address,
    check_recipient,
    common_geography,
    directory_key,
    org_chat_directory,
    recipient_directory,
)

__all__ = [  # the outbox's recipient checks live in cx.store.outbox; callers use them from here
    "BackgroundSender",
    "NotifyError",
    "NotifySettings",
    "RecipientRefused",
    "backoff_delay",
    "case_number",
    "check_recipient",
    "common_geography",
    "contact_directory",
    "customer_ack",
    "deliver_pending",
    "email_customer_ack",
    "in_scope",
    "outbox_summary",
    "recipient_directory",
    "refusal",
    "smtp_client",
    "start_background_sender",
    "telegram_case_alert",
    "agency_case_alert",
]


class NotifyError(ValueError):
    """Bad notification settings (names the environment variable)."""


@dataclass(frozen=True)
class NotifySettings:
    """Where and how to send; :meth:`from_env` reads the ``CX_SMTP_*`` / ``CX_TELEGRAM_*`` variables."""

    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_tls: str = "auto"
    smtp_from: str = "cx-review@localhost"
    smtp_timeout: float = 10.0
    smtp_allow_plain: bool = False
    """Send the SMTP password over an unencrypted connection (``CX_SMTP_ALLOW_PLAIN=1``)."""
    smtp_ca_file: str | None = None
    """A certificate authority to trust for the server's TLS certificate (``CX_SMTP_CA_FILE``)."""
    telegram_token: str | None = field(default=None, repr=False)
    telegram_chat_id: str | None = None
    telegram_api: str = "https://api.telegram.org"
    max_attempts: int = 6
    backoff: timedelta = timedelta(minutes=1)
    max_backoff: timedelta = timedelta(hours=6)
    lease: timedelta = timedelta(minutes=5)
    http_timeout: float | None = None
    """Seconds one HTTP post may take; None: ``CX_WEBHOOK_TIMEOUT`` (default 10) when sent."""
    http_workers: int = 8
    """HTTP posts of one batch sent at once (a slow receiver holds one of them)."""
    directory: dict[str, Scope] | None = field(default=None, hash=False, compare=False)
    """Known recipients (user e-mails, org contacts, ``telegram:<chat>``) and the scope each may
    see; None: read from the users file and ``org.yaml`` of the data folder."""

    def __post_init__(self) -> None:
        if self.smtp_tls not in TLS_MODES:
            raise NotifyError(f"CX_SMTP_TLS={self.smtp_tls!r}: use one of {', '.join(TLS_MODES)}")
        if self.directory is None:
            object.__setattr__(self, "directory", recipient_directory())

    @classmethod
    def from_env(
        cls, root: Path | None = None, env: dict[str, str] | None = None
    ) -> NotifySettings:
        e = dict(os.environ if env is None else env)
        tls = e.get("CX_SMTP_TLS", "auto").strip().lower() or "auto"
        port_text = e.get("CX_SMTP_PORT") or (
            "465" if tls == "ssl" else "587" if tls == "starttls" else "25"
        )
        try:
            port = int(port_text)
        except ValueError:
            raise NotifyError(f"CX_SMTP_PORT={port_text!r} is not a port number") from None
        lease_text = e.get("CX_OUTBOX_LEASE_SECONDS") or "300"
        try:
            lease = timedelta(seconds=float(lease_text))
        except ValueError:
            raise NotifyError(f"CX_OUTBOX_LEASE_SECONDS={lease_text!r} is not a number") from None
        if lease <= timedelta(0):
            raise NotifyError(f"CX_OUTBOX_LEASE_SECONDS={lease_text!r} must be positive")
        chat = e.get("CX_TELEGRAM_CHAT_ID") or None
        return cls(
            smtp_host=e.get("CX_SMTP_HOST") or None,
            smtp_port=port,
            smtp_user=e.get("CX_SMTP_USER") or None,
            smtp_password=e.get("CX_SMTP_PASSWORD") or None,
            smtp_tls=tls,
            smtp_from=e.get("CX_SMTP_FROM") or "cx-review@localhost",
            smtp_allow_plain=(e.get("CX_SMTP_ALLOW_PLAIN") or "").strip().lower()
            in ("1", "true", "yes"),
            smtp_ca_file=e.get("CX_SMTP_CA_FILE") or None,
            telegram_token=e.get("CX_TELEGRAM_TOKEN") or None,
            telegram_chat_id=chat,
            telegram_api=(e.get("CX_TELEGRAM_API") or "https://api.telegram.org").rstrip("/"),
            lease=lease,
            directory=recipient_directory(root, env=e),
        )


def contact_directory(organisation: Org) -> dict[str, Scope]:
    """E-mail → scope of every agency contact of an organisation (what a routing rule may mail)."""
    return {
        mail.strip().lower(): Scope.parse(f"agency:{a.name}")
        for a in organisation.agencies
        for mail in a.contacts.values()
    }


def backoff_delay(attempts: int, settings: NotifySettings) -> timedelta:
    """Exponential backoff: base × 2^(attempts − 1), capped."""
    return min(settings.backoff * (2 ** max(attempts - 1, 0)), settings.max_backoff)


def refusal(n: Notification, settings: NotifySettings) -> str | None:
    """Why ``n`` must not be sent, or None: a malformed address or list, a staff row to someone
    unknown, or a known recipient whose scope does not hold the row's geography (a customer row
    goes to the customer's own address; rows queued before the check count as customers)."""
    try:
        check_address(n.recipient, n.channel)
    except RecipientRefused as exc:
        return f"recipient refused: {exc}"
    key = directory_key(n.recipient, n.channel)
    scope = (settings.directory or {}).get(key)
    if scope is None and n.channel == "telegram" and n.recipient == settings.telegram_chat_id:
        scope = Scope.world()  # the configured chat, without a CX_TELEGRAM_SCOPE
    if scope is None and n.channel == "helpdesk":
        scope = helpdesk.DIRECTORY.get(key)
    if scope is None:
        if n.audience == "staff" or n.channel != "email":
            return f"recipient unknown: {n.recipient!r} is not a known user or contact, not sent"
        return None
    if not contains(scope, region=n.region, country=n.country, agency=n.agency):
        return "recipient out of scope: not sent"
    return None


def in_scope(n: Notification, settings: NotifySettings) -> bool:
    """Whether ``n`` may be sent to its recipient (see :func:`refusal`)."""
    return refusal(n, settings) is None


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
        allow_plain=settings.smtp_allow_plain,
        ca_file=settings.smtp_ca_file,
    )


def _attachments(n: Notification) -> list[tuple[str, bytes]]:
    """The row's attached file, read when it is sent (a missing file fails the attempt, by name)."""
    if not n.attachment_path:
        return []
    path = Path(n.attachment_path)
    return [(n.attachment_name or path.name, path.read_bytes())]


def _send(
    n: Notification,
    settings: NotifySettings,
    smtp: SmtpClient | None,
    attachments: list[tuple[str, bytes]],
    engine: Engine | None = None,
) -> None:
    """One outbox row through its channel's transport."""
    if n.channel in HTTP_CHANNELS:
        seconds = settings.http_timeout or webhooks.timeout()
        if n.channel in ("slack", "teams"):
            # Slack and Teams incoming webhooks both take a plain {"text": ...} message.
            text = f"{n.subject}\n\n{n.body}".strip() + f"\n\n{dedupe_tag(n.dedupe_key)}"
            post_json(check_address(n.recipient, n.channel), _json({"text": text}), timeout=seconds)
            return
        if engine is None:
            raise NotifyError(f"a {n.channel} row needs the store to be sent")
        if n.channel == "webhook":
            with Session(engine) as s:
                sub = s.get(WebhookSubscription, n.recipient)
            if sub is None or sub.disabled_at is not None:
                raise NotifyError(f"webhook subscription {n.recipient} was removed")
            webhooks.deliver(n, sub, seconds)
            return
        desk = helpdesk.HelpdeskSettings.from_env()
        if desk is None:
            raise NotifyError("CX_HELPDESK is not set")
        helpdesk.deliver(engine, n, desk, seconds)
        return
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
            attachments=attachments,
        )
    )


# ---------------------------------------------------------------- delivery


def _claim(engine: Engine, row_id: int, at: datetime, token: str, lease: timedelta) -> bool:
    """Take a due row for ourselves (a short transaction): only one sender can win it. The lease
    runs from now, the claim time, not from the start of the batch."""
    table = Notification.__table__  # type: ignore[attr-defined]
    with store.session(engine) as s:
        result = s.execute(
            update(table)
            .where(
                table.c.id == row_id,
                table.c.next_attempt_at <= at,
                table.c.status.in_(("pending", "sending")),
            )
            .values(status="sending", next_attempt_at=at + lease, claimed_by=token)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def _renew(engine: Engine, row_id: int, at: datetime, token: str, lease: timedelta) -> bool:
    """Extend our lease right before sending; False when another sender has taken the row over."""
    table = Notification.__table__  # type: ignore[attr-defined]
    with store.session(engine) as s:
        result = s.execute(
            update(table)
            .where(table.c.id == row_id, table.c.status == "sending", table.c.claimed_by == token)
            .values(next_attempt_at=at + lease)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def _finish(engine: Engine, row_id: int, token: str, values: Mapping[str, Any]) -> None:
    table = Notification.__table__  # type: ignore[attr-defined]
    with store.session(engine) as s:
        s.execute(
            update(table)
            .where(table.c.id == row_id, table.c.status == "sending", table.c.claimed_by == token)
            .values(claimed_by=None, **values)
        )


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def _clock(start: datetime) -> Callable[[], datetime]:
    """The batch's start (``now``, given or real) moved on by the real time elapsed since: each
    claim reads it, so a lease runs from its own claim even when the caller fixes ``now``."""
    t0 = time.monotonic()
    return lambda: start + timedelta(seconds=time.monotonic() - t0)


def deliver_pending(
    engine: Engine, settings: NotifySettings, *, now: datetime | None = None, limit: int = 100
) -> dict[str, int]:
    """Send the due outbox rows (oldest first); returns counts of sent, retry, dead, skipped (taken by
    another sender) and, when a channel has no settings, ``unconfigured`` (left pending)."""
    started = now or utcnow()  # backoffs count from the batch, leases from each claim
    clock = _clock(started)
    token = uuid.uuid4().hex
    with Session(engine) as s:
        due = s.exec(
            select(Notification.id, Notification.channel)
            .where(
                col(Notification.status).in_(("pending", "sending")),
                col(Notification.next_attempt_at) <= clock(),
            )
            .order_by(col(Notification.next_attempt_at), col(Notification.id))
            .limit(limit)
        ).all()
    counts = {"sent": 0, "retry": 0, "dead": 0, "skipped": 0}
    channels = {channel for _, channel in due}
    extra: dict[str, Scope] = {}
    if "telegram" in channels:  # agencies' own chats (feed settings)
        with Session(engine) as s:
            extra.update(feed.chat_scopes(s))
    if "webhook" in channels:  # the active subscriptions, each with its scope
        with Session(engine) as s:
            extra.update(webhooks.directory(s))
    if extra:
        settings = replace(settings, directory={**(settings.directory or {}), **extra})
    smtp = smtp_client(settings) if settings.smtp_host else None
    configured = {
        "email": bool(settings.smtp_host),
        "telegram": bool(settings.telegram_token),
        "webhook": True,
        "slack": True,
        "teams": True,
        "helpdesk": "helpdesk" in channels and helpdesk.HelpdeskSettings.from_env() is not None,
    }

    def one(row_id: int) -> str:
        return _deliver_row(engine, row_id, settings, smtp, token, clock, started)

    try:
        with ThreadPoolExecutor(max_workers=max(settings.http_workers, 1)) as pool:
            posts = []
            for row_id, channel in due:
                assert row_id is not None
                if not configured.get(channel, False):
                    # A channel without settings keeps its rows pending (no attempt spent).
                    counts["unconfigured"] = counts.get("unconfigured", 0) + 1
                elif channel in HTTP_CHANNELS:
                    posts.append(pool.submit(one, row_id))  # a slow receiver holds only its own
                else:
                    outcome = one(row_id)
                    counts[outcome] += 1
            for post in posts:
                counts[post.result()] += 1
    finally:
        if smtp is not None:
            smtp.close()
    return counts


@contextmanager
def _lease_kept(
    engine: Engine, row_id: int, token: str, lease: timedelta, clock: Callable[[], datetime]
) -> Iterator[None]:
    """Renew our lease on the row every third of the lease while the transport is sending it
    (a slow server or a large attachment can take longer than the lease itself)."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(lease.total_seconds() / 3):
            try:
                if not _renew(engine, row_id, clock(), token, lease):
                    return  # taken over: nothing more to keep
            except Exception:  # the store is busy or away: try again at the next beat
                continue

    keeper = threading.Thread(target=beat, name=f"cx-outbox-lease-{row_id}", daemon=True)
    keeper.start()
    try:
        yield
    finally:
        stop.set()
        keeper.join()


def _deliver_row(
    engine: Engine,
    row_id: int,
    settings: NotifySettings,
    smtp: SmtpClient | None,
    token: str,
    clock: Callable[[], datetime],
    started: datetime,
) -> str:
    """Claim, check, send and settle one row; the count it adds to (sent, retry, dead, skipped)."""
    if not _claim(engine, row_id, clock(), token, settings.lease):
        return "skipped"  # another sender took it
    with Session(engine) as s:
        n = s.get(Notification, row_id)
    assert n is not None
    refused = refusal(n, settings)
    if refused is not None:
        _finish(engine, row_id, token, {"status": "dead", "last_error": refused})
        return "dead"
    failure: Exception | None = None
    try:
        attachments = _attachments(n)
    except Exception as exc:  # a missing file fails this attempt, by name
        attachments, failure = [], exc
    if not _renew(engine, row_id, clock(), token, settings.lease):
        return "skipped"  # our lease ran out and another sender has it now
    try:
        if failure is not None:
            raise failure
        with _lease_kept(engine, row_id, token, settings.lease, clock):
            _send(n, settings, smtp, attachments, engine)
    except Exception as exc:
        attempts = n.attempts + 1
        dead = attempts >= settings.max_attempts
        _finish(
            engine,
            row_id,
            token,
            {
                "status": "dead" if dead else "pending",
                "attempts": attempts,
                "next_attempt_at": started + backoff_delay(attempts, settings),
                "last_error": f"{exc.__class__.__name__}: {exc}"[:500],
            },
        )
        return "dead" if dead else "retry"
    _finish(
        engine,
        row_id,
        token,
        {"status": "sent", "attempts": n.attempts + 1, "sent_at": utcnow(), "last_error": None},
    )
    return "sent"


# ---------------------------------------------------------------- background loop


class BackgroundSender:
    """A daemon thread running :func:`deliver_pending` every ``interval`` seconds until stopped."""

    def __init__(self, engine: Engine, settings: NotifySettings, interval: float) -> None:
        self.engine, self.settings, self.interval = engine, settings, interval
        self.stopped = threading.Event()
        self.kick = threading.Event()
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
            self.kick.wait(self.interval)
            self.kick.clear()

    def wake(self) -> None:
        """Send now (a survey answer just queued mail) instead of at the next interval."""
        self.kick.set()

    def stop(self, timeout: float = 10.0) -> None:
        self.stopped.set()
        self.kick.set()
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
        audience="customer",
        dedupe_key=f"case:{case.id}:ack",
        region=case.region,
        country=case.country,
        agency=case.agency,
    )


def telegram_case_alert(
    s: Session, case: Any, *, chat_id: str, directory: Mapping[str, Scope] | None = None
) -> Notification | None:
    """Queue a team-chat message about a new case (masked comment) in the caller's transaction
    (``directory``: the known chats, default the configured one)."""
    subject = f"New complaint {case_number(case.id)} at {case.agency}: NPS {case.nps}"
    body = f"Customer {case.customer_id}, wave {case.wave}." + (
        f"\n“{case.comment}”" if case.comment else ""
    )
    return store.enqueue(
        s,
        channel="telegram",
        recipient=chat_id,
        subject=subject,
        body=privacy.mask_text(body),
        directory=chat_directory() if directory is None else directory,
        dedupe_key=f"case:{case.id}:telegram",
        region=case.region,
        country=case.country,
        agency=case.agency,
    )


def agency_case_alert(s: Session, case: Any, *, root: Path | None = None) -> Notification | None:
    """Queue the new-case message to the agency's own chat of ``org.yaml`` (Slack, Teams or
    Telegram) in the caller's transaction; None when the agency has none or it was queued."""
    from cx.core import org
    from cx.core.data import data_dir

    organisation = org.load(data_dir() if root is None else root)
    place = organisation.agency(str(case.agency or ""))
    if place is None or not place.chat:
        return None
    kind, target = place.chat["kind"], place.chat["target"]
    if kind == "telegram":
        return telegram_case_alert(
            s,
            case,
            chat_id=target,
            directory={**chat_directory(), **org_chat_directory(organisation)},
        )
    subject = f"New complaint {case_number(case.id)} at {case.agency}: NPS {case.nps}"
    body = f"Customer {case.customer_id}, wave {case.wave}." + (
        f"\n“{case.comment}”" if case.comment else ""
    )
    return store.enqueue(
        s,
        channel=kind,
        recipient=target,
        subject=subject,
        body=privacy.mask_text(body),
        directory=org_chat_directory(organisation),
        dedupe_key=f"case:{case.id}:{kind}",
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
