"""The one rate limiter of the server: a sliding window of events per key, in memory (per
process: behind several replicas each counts its own share).

>>> limiter = Limiter(2, window=60)
>>> limiter.take("a", now=0), limiter.take("a", now=1), limiter.take("a", now=10)
(None, None, 50.0)
>>> limiter.take("a", now=60.5)
"""

from __future__ import annotations

import threading
import time
from collections import deque

MAX_KEYS = 50_000


class Limiter:
    """At most ``limit`` events per ``window`` seconds per key."""

    def __init__(self, limit: int, window: float = 60.0) -> None:
        self.limit, self.window = limit, window
        self.events: dict[str, deque[float]] = {}
        self.lock = threading.Lock()

    def take(self, key: str, limit: int | None = None, now: float | None = None) -> float | None:
        """Count one event of ``key``: None when it is within the limit (``limit`` overrides the
        limiter's own), else the seconds until the oldest event of the window leaves it (and the
        event is not counted)."""
        now = time.monotonic() if now is None else now
        limit = self.limit if limit is None else limit
        with self.lock:
            q = self.events.setdefault(key, deque())
            while q and q[0] <= now - self.window:
                q.popleft()
            if len(q) >= limit:
                return (
                    round(float(q[-limit] + self.window - now), 3) if limit else float(self.window)
                )
            q.append(now)
            if len(self.events) > MAX_KEYS:  # forget idle keys
                for k in [k for k, v in self.events.items() if not v][: MAX_KEYS // 5]:
                    del self.events[k]
            return None

    def allow(self, key: str, now: float | None = None) -> bool:
        return self.take(key, now=now) is None
