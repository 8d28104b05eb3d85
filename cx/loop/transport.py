"""How a message leaves: an SMTP client (STARTTLS whenever the server offers it, SSL, login only
over an encrypted connection unless allowed), the Telegram Bot API and JSON posts over HTTP(S)
(webhooks, Slack and Teams incoming webhooks, the helpdesk API).

Transports only send. What to send, to whom and when (retries, scope checks) is the outbox's job
(:mod:`cx.loop.notify`). Every e-mail carries a ``Message-ID`` derived from its outbox
``dedupe_key`` and every Telegram message a tag of it, so a resend after a crash is recognisable.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import mimetypes
import smtplib
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate
from types import TracebackType

TLS_MODES = ("auto", "starttls", "ssl", "none")
"""``auto`` (the default): STARTTLS when the server offers it; ``starttls``: required; ``ssl``:
TLS from the first byte (port 465); ``none``: never (a local relay)."""
TELEGRAM_LIMIT = 4000
"""Characters of one Telegram message (the Bot API refuses more than 4096)."""


class TransportError(ValueError):
    """A transport asked for something it cannot do (an unknown TLS mode, STARTTLS required but not
    offered, a password to send over an unencrypted connection)."""


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
    (the next send reconnects), closed by :meth:`close` or at the end of a ``with`` block.

    The password is only ever sent over TLS (SSL or STARTTLS) unless ``allow_plain``; ``ca_file``
    adds a certificate authority to trust (a company's own, or a test server's)."""

    def __init__(
        self,
        host: str,
        port: int = 25,
        *,
        tls: str = "auto",
        user: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
        allow_plain: bool = False,
        ca_file: str | None = None,
    ) -> None:
        if tls not in TLS_MODES:
            raise TransportError(f"SMTP TLS mode {tls!r}: use one of {', '.join(TLS_MODES)}")
        self.host, self.port, self.tls = host, port, tls
        self.user, self.password, self.timeout = user, password, timeout
        self.allow_plain, self.ca_file = allow_plain, ca_file
        self.conn: smtplib.SMTP | None = None
        self.encrypted = False

    def send(self, msg: EmailMessage) -> None:
        """Hand one e-mail to the server; raise what the server or the network said."""
        try:
            if self.conn is None:
                self.conn = self._connect()
            self.conn.send_message(msg)
        except Exception:
            self.close()
            raise

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file)

    def _connect(self) -> smtplib.SMTP:
        if self.tls == "ssl":
            conn: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self._context()
            )
            self.encrypted = True
        else:
            conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            self.encrypted = False
            try:
                if self.tls in ("auto", "starttls"):
                    conn.ehlo()
                    if conn.has_extn("starttls"):
                        conn.starttls(context=self._context())
                        conn.ehlo()
                        self.encrypted = True
                    elif self.tls == "starttls":
                        raise TransportError(
                            f"SMTP server {self.host}:{self.port} does not offer STARTTLS "
                            "(CX_SMTP_TLS=starttls)"
                        )
                if self.user and not self.encrypted and not self.allow_plain:
                    raise TransportError(
                        f"refusing to send the SMTP password to {self.host}:{self.port} in clear "
                        "text: the connection is not encrypted (use a server offering STARTTLS, "
                        "CX_SMTP_TLS=ssl, or set CX_SMTP_ALLOW_PLAIN=1)"
                    )
            except Exception:
                with contextlib.suppress(Exception):
                    conn.close()
                raise
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


def post_json(
    url: str,
    body: bytes,
    *,
    headers: dict[str, str] | None = None,
    timeout: float,
    auth: tuple[str, str] | None = None,
    method: str = "POST",
) -> bytes:
    """Send one JSON body to an HTTP(S) endpoint (a webhook receiver, a chat's incoming webhook,
    a helpdesk API) within ``timeout`` seconds; the answer's body, or raise on a non-2xx status."""
    sent = {"Content-Type": "application/json", "User-Agent": "cx-review", **(headers or {})}
    if auth is not None:
        sent["Authorization"] = (
            "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        )
    req = urllib.request.Request(url, data=body, headers=sent, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (checked http(s) URL)
            return bytes(resp.read())
    except urllib.error.HTTPError as exc:
        raise RuntimeError(
            f"{urllib.parse.urlsplit(url).netloc} answered HTTP {exc.code}"
        ) from None
