"""A real SMTP server's message handler (aiosmtpd) that keeps what it accepts; the fixture is ``smtp``."""

from __future__ import annotations

import email
import email.message
import threading
from typing import Any


class Sink:
    """SMTP handler keeping every accepted message; can refuse everything from message ``fail_at`` on."""

    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []
        self.fail_at: int | None = None
        self.failing = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.failing.is_set() or (
            self.fail_at is not None and len(self.messages) + 1 >= self.fail_at
        ):
            self.failing.set()
            return "421 shutting down"
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"
