"""Writing to the notification outbox, in the same transaction as the event that causes it.

Delivery (SMTP, Telegram, retries) is :mod:`cx.loop.notify`'s job; here a row is only queued.
"""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, select

from cx.store.models import Notification


def enqueue(
    s: Session,
    *,
    recipient: str,
    subject: str,
    body: str,
    dedupe_key: str,
    channel: str = "email",
    region: str | None = None,
    country: str | None = None,
    agency: str | None = None,
    attachment: Path | None = None,
) -> Notification | None:
    """Add a notification to the outbox unless one with the same ``dedupe_key`` exists; an
    ``attachment`` (a file that outlives the transaction) is sent with the e-mail."""
    existing = s.exec(select(Notification).where(Notification.dedupe_key == dedupe_key)).first()
    if existing is not None:
        return None
    row = Notification(
        channel=channel,
        recipient=recipient,
        subject=subject,
        body=body,
        dedupe_key=dedupe_key,
        region=region,
        country=country,
        agency=agency,
        attachment_path=None if attachment is None else str(attachment.resolve()),
        attachment_name=None if attachment is None else attachment.name,
    )
    s.add(row)
    return row
