"""Warm caches, so that no first visit pays for what can be computed before it.

- :func:`preload` imports, at server start, the modules the screens use (the first page of the
  first user otherwise pays seconds of imports).
- :func:`start` runs a daemon thread in the server process: as soon as Streamlit's runtime is up,
  and again whenever the data version changes (a new wave, an import, a folded survey batch), it
  builds that version's tables: the scanned responses, the overview rollup, the RFM tables and
  the stored comment tags (:func:`cx.ui.data.prepare`).
- :func:`after_sign_in` warms, once per browser session, the main queries of the screens a
  signed-in user can open, for their scope and the default filters, in a thread started after
  the landing page has been drawn, so it never competes with that page.

Each runs the very queries of the screens through the same caches (the keys hold the scope, the
filters and the data version), so a warmed answer is the answer the screen would compute.
"""

from __future__ import annotations

import importlib
import logging
import os
import pkgutil
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import streamlit as st

from cx.analytics import benchmarks, drivers, evolution, segments, touchpoints, zones
from cx.core import roles, settings
from cx.core.filters import Filters
from cx.core.scope import Scope
from cx.core.users import User, analytics_scope
from cx.loop import alerts
from cx.ui import data
from cx.voice import verbatims

log = logging.getLogger(__name__)

PRELOADED = ("cx.analytics", "cx.charts", "cx.voice", "cx.loop", "cx.improve", "cx.reports")
"""The packages the screens draw on (the dashboards' own ``cx.ui`` is imported by ``app.py``)."""
LIBRARIES = ("pandas",)
"""Imported by Streamlit only when the first chart or table is drawn: half of a cold first page."""
SESSION_KEY = "cx_warmed"
THREAD_PREFIX = "cx-warm"
_LOCK = threading.Lock()
_WATCHER: list[tuple[threading.Thread, threading.Event]] = []
"""This process's data-version watcher and the event that stops it (at most one)."""


def preload() -> int:
    """Import :data:`LIBRARIES` and every module of :data:`PRELOADED`; returns how many."""
    count = 0
    for name in LIBRARIES:
        importlib.import_module(name)
        count += 1
    for name in PRELOADED:
        package = importlib.import_module(name)
        for info in pkgutil.walk_packages(package.__path__, f"{name}."):
            importlib.import_module(info.name)
            count += 1
    return count


class _OutsideScriptRuns(logging.Filter):
    """Streamlit warns on every cached call made outside a script run ("missing
    ScriptRunContext"); the warm-up threads have none on purpose: the caches are the runtime's."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not threading.current_thread().name.startswith(THREAD_PREFIX)


logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(
    _OutsideScriptRuns()
)


def _enabled() -> bool:
    return os.environ.get("CX_WARM", "on").strip().lower() != "off"


def _runtime_ready(timeout: float) -> bool:
    from streamlit import runtime

    deadline = time.monotonic() + timeout
    while not runtime.exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _watch(poll: float, stop: threading.Event) -> None:
    """Build each new data version's tables, then look for the next one every ``poll`` seconds."""
    if not _runtime_ready(timeout=120.0):
        return
    built: str | None = None
    while not stop.is_set():
        try:
            current = data.version()
            if current != built:
                t0 = time.perf_counter()
                data.prepare(current)
                built = current
                log.info("data version %s ready in %.1f s", current, time.perf_counter() - t0)
        except Exception as exc:  # a half-imported folder: the next round tries again
            log.warning("warming the data version failed: %s", exc)
        stop.wait(poll)


def start(poll: float | None = None) -> threading.Event:
    """Start the data-version watcher of this process once (``CX_WARM=off``: none); the returned
    event stops it."""
    if not _enabled():
        return threading.Event()
    every = poll if poll is not None else settings.number("CX_WARM_SECONDS", 5.0, minimum=0.2)
    with _LOCK:
        if _WATCHER and _WATCHER[0][0].is_alive():
            return _WATCHER[0][1]
        stop = threading.Event()
        thread = threading.Thread(
            target=_watch, args=(every, stop), name=f"{THREAD_PREFIX}-data", daemon=True
        )
        _WATCHER[:] = [(thread, stop)]
    thread.start()
    return stop


def first_screens(user: User) -> Iterator[tuple[Callable[..., Any], Scope, dict[str, Any]]]:
    """The main queries of the screens ``user`` can open, with the scope each screen uses."""
    if user.has(*roles.DASHBOARD_READERS):
        scope = user.scope
        yield evolution.attribute_trend, scope, {}
        yield drivers.key_drivers, scope, {}
        yield drivers.service_promise, scope, {}
        for level in benchmarks.league_levels(scope):
            yield benchmarks.league_table, scope, {"level": level}
        if not scope.is_world:
            yield benchmarks.attribute_benchmark, scope, {}
        if scope.top_level in ("world", "region"):
            yield zones.zone_table, scope, {"metric": "nps"}
        yield segments.segment_nps, scope, {}
        yield segments.segment_trend, scope, {}
        yield touchpoints.side_by_side, scope, {}
        yield verbatims.theme_summary, scope, {}
        yield alerts.detect, scope, {}
    elif user.has(*roles.OWN_DASHBOARDS):
        own = analytics_scope(user)
        yield drivers.key_drivers, own, {}
        yield evolution.attribute_trend, own, {}
        yield verbatims.theme_summary, own, {}


def _warm_user(user: User, filters: Filters) -> None:
    for fn, scope, kwargs in first_screens(user):
        try:
            data.query(fn, scope, filters, **kwargs)
        except Exception as exc:  # the screen itself will show what is wrong
            log.info("warm-up of %s for %s: %s", fn.__qualname__, user.username, exc)


def after_sign_in(user: User, filters: Filters) -> threading.Thread | None:
    """Warm ``user``'s first screens once per browser session (a daemon thread); None when this
    session already did, or ``CX_WARM=off``."""
    if st.session_state.get(SESSION_KEY) == user.username or not _enabled():
        return None
    st.session_state[SESSION_KEY] = user.username
    thread = threading.Thread(
        target=_warm_user,
        args=(user, filters),
        name=f"{THREAD_PREFIX}-{user.username}",
        daemon=True,
    )
    thread.start()
    return thread
