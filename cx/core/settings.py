"""Numbers read from the environment (``CX_*`` tuning knobs), each with its default and bounds.

A value that is missing, empty or not a number gives the default, so a typo in a deployment's
environment never stops a page; a value out of bounds is brought within them.

>>> number("CX_TEST_KNOB", 2.5, env={"CX_TEST_KNOB": "0.01"}, minimum=0.05)
0.05
>>> whole("CX_TEST_KNOB", 60, env={"CX_TEST_KNOB": "lots"})
60
>>> whole("CX_TEST_KNOB", 60, env={"CX_TEST_KNOB": "7"})
7
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping


def number(
    name: str,
    default: float,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    env: Mapping[str, str] | None = None,
) -> float:
    """The environment variable ``name`` as a number within ``[minimum, maximum]``."""
    raw = (os.environ if env is None else env).get(name, "")
    try:
        value = float(raw) if raw.strip() else default
    except ValueError:
        value = default
    if not math.isfinite(value):
        value = default
    if minimum is not None:
        value = max(minimum, value)
    if maximum is not None:
        value = min(maximum, value)
    return value


def whole(
    name: str,
    default: int,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    env: Mapping[str, str] | None = None,
) -> int:
    """The environment variable ``name`` as a whole number within ``[minimum, maximum]``."""
    return int(number(name, default, minimum=minimum, maximum=maximum, env=env))
