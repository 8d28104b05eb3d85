"""Waiting on real processes and servers: poll a check until it gives something or time is up."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_until(check: Callable[[], Any], seconds: float = 60.0, every: float = 0.25) -> Any:
    """Call ``check`` every ``every`` seconds until it returns something truthy (returned) or
    ``seconds`` have passed (then its last, falsy answer is returned)."""
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(every)
