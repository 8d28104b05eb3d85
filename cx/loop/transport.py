"""How a message leaves: an SMTP client (TLS none / STARTTLS / SSL, login) and the Telegram Bot API.

Transports only send. What to send, to whom and when (retries, scope checks) is the outbox's job
(:mod:`cx.loop.notify`). Every e-mail carries a ``Message-ID`` derived from its outbox
``dedupe_key`` and every Telegram message a tag of it, so a resend after a crash is recognisable.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import mimetypes
import smtplib
import ssl
import urllib.error
import urllib.request
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate
from types import TracebackType

TLS_MODES = ("none", "starttls", "ssl")
TELEGRAM_LIMIT = 4000
"""Characters of one Telegram message (the Bot API refuses more than 4096)."""


class TransportError(ValueError):
    """A transport asked for something it cannot do (an unknown TLS mode)."""


def message_id(dedupe_key: str) -> str:
    """A stable Message-ID per outbox row: a resend after a crash carries the same id."""
    return f"<{hashlib.sha256(dedupe_key.encode()).hexdigest()[:32]}@cx-review>"


def dedupe_tag(dedupe_key: str) -> str:
    """The tag closing a Telegram message, the chat's equivalent of the Message-ID."""
    return f"#{hashlib.sha256(dedupe_key.encode()).hexdigest()[:12]}"


def email_message(
    *,
    sender: str,
    recipient: str,
    subject: str,
    body: str,
    dedupe_key: str,
    attachments: Sequence[tuple[str, bytes]] = (),
) -> EmailMessage:
    """A plain-text e-mail with its stable ``Message-ID``; ``attachments`` are (file name, bytes)."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = recipient
    msg["Subject"] = subject
    msg["Message-ID"] = message_id(dedupe_key)
    msg["Date"] = formatdate(localtime=False)
    msg["X-CX-Dedupe-Key"] = dedupe_key
    msg.set_content(body)
    for name, data in attachments:
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        maintype, _, subtype = kind.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg


class SmtpClient:
    """One SMTP connection for a batch of e-mails: opened on the first send, dropped on any error
    (the next send reconnects), closed by :meth:`close` or at the end of a ``with`` block."""

    def __init__(
        self,
        host: str,
        port: int = 25,
        *,
        tls: str = "none",
        user: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        if tls not in TLS_MODES:
            raise TransportError(f"SMTP TLS mode {tls!r}: use one of {', '.join(TLS_MODES)}")
        self.host, self.port, self.tls = host, port, tls
        self.user, self.password, self.timeout = user, password, timeout
        self.conn: smtplib.SMTP | None = None

    def send(self, msg: EmailMessage) -> None:
        """Hand one e-mail to the server; raise what the server or the network said."""
        try:
            if self.conn is None:
                self.conn = self._connect()
            self.conn.send_message(msg)
        except Exception:
            self.close()
            raise

    def _connect(self) -> smtplib.SMTP:
        if self.tls == "ssl":
            conn: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host,
                self.port,
                timeout=self.timeout,
                context=ssl.create_default_context(),
            )
        else:
            conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.tls == "starttls":
                conn.starttls(context=ssl.create_default_context())
        if self.user:
            conn.login(self.user, self.password or "")
        return conn

    def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.quit()
            self.conn = None

    def __enter__(self) -> SmtpClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def send_telegram(*, api: str, token: str, chat_id: str, text: str, timeout: float) -> None:
    """Post one message to a chat through the Bot API (``sendMessage``); raise when it is refused."""
    payload = json.dumps(
        {"chat_id": chat_id, "text": text[:TELEGRAM_LIMIT], "disable_web_page_preview": True}
    ).encode()
    req = urllib.request.Request(
        f"{api}/bot{token}/sendMessage",
        data=payload,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (configured https/loopback URL)
            answer = json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        raise RuntimeError(f"Telegram API answered HTTP {exc.code}") from None
    if not answer.get("ok"):
        raise RuntimeError(
            f"Telegram API refused the message: {answer.get('description', 'no reason given')}"
        )
