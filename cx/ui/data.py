"""Cached data: the scanned responses and their rollups per data version, the cached query
runner, the waves, the operational store's engine and outbox sender, and the demo dataset
generated on first start (cache keys hold the scope, the filters and the data version)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import streamlit as st

from cx import store
from cx.analytics import fieldwork, overview, precompute, rollup
from cx.core import data
from cx.core.filters import Filters
from cx.core.scope import Scope
from cx.demo import complaints
from cx.server import workers
from cx.voice import stored

CACHE_TTL = 3600
CACHE_ENTRIES = 512


def data_root() -> Path:
    return data.data_dir()


@st.cache_resource(show_spinner=False, max_entries=4)
def _scan(root: str, version: str) -> pl.LazyFrame:
    return data.scan_responses(Path(root))


def version() -> str:
    return data.data_version(data_root())


def responses() -> pl.LazyFrame:
    """The scanned responses (not yet scoped: pass them to a query with the user's scope)."""
    return _scan(str(data_root()), version())


@st.cache_resource(show_spinner=False, max_entries=4)
def _tagged(root: str, version: str) -> pl.LazyFrame:
    """The responses with the stored themes and sentiment of their comments (each wave tagged
    once per data version and engine, :mod:`cx.voice.stored`)."""
    return stored.with_tags(_scan(root, version), Path(root))


@st.cache_resource(show_spinner=False, max_entries=4)
def _rollups(root: str, version: str) -> dict[str, pl.LazyFrame]:
    fine = rollup.build(_scan(root, version))
    return {"rollup_fine": fine.lazy(), "rollup": rollup.coarsen(fine).lazy()}


@st.cache_resource(show_spinner=False, max_entries=4)
def _funnel(root: str, version: str) -> pl.LazyFrame:
    """Completed responses per wave × agency × channel × day, for the fieldwork screen."""
    return fieldwork.funnel_counts(_scan(root, version)).lazy()


@st.cache_data(ttl=CACHE_TTL, max_entries=CACHE_ENTRIES, show_spinner=False)
def _run(
    name: str,
    scope: Scope,
    filters: Filters,
    data_version: str,
    kwargs: tuple[tuple[str, Any], ...],
    source: str,
    _fn: Callable[..., Any],
) -> Any:
    """``_fn`` is left out of the cache key (leading underscore); ``name`` stands for it."""
    if source.startswith("rollup"):
        frame = _rollups(str(data_root()), data_version)[source]
    elif source == "tagged":
        frame = _tagged(str(data_root()), data_version)
    elif source == "funnel":
        frame = _funnel(str(data_root()), data_version)
    else:
        frame = _scan(str(data_root()), data_version)
    return _fn(frame, scope, filters, **dict(kwargs))


def overview_query(name: str, scope: Scope, filters: Filters, **kwargs: Any) -> Any:
    """Run an overview query of ``cx.analytics.overview`` on the cached rollup (same answers, far fewer rows);
    the advisor breakdown and an advisor's own scope need the advisor-level rollup."""
    fine = kwargs.get("level") == "advisor_id" or bool(scope.staff)
    source = "rollup_fine" if fine else "rollup"
    fn: Callable[..., Any] = getattr(overview, name)
    return _run(
        f"cx.analytics.overview:{name}",
        scope,
        filters,
        version(),
        tuple(sorted(kwargs.items())),
        source,
        fn,
    )


def query(fn: str | Callable[..., Any], scope: Scope, filters: Filters, **kwargs: Any) -> Any:
    """Run a query ``(LazyFrame, Scope, Filters, **kwargs)`` through the cache.

    ``fn`` is a function of any ``cx`` module, or the name of one in ``cx.analytics.overview``. The cache
    key holds the function's name, the scope, the filters, the data version and the kwargs
    (which must be hashable: strings, numbers, tuples).
    """
    query_fn: Callable[..., Any] = getattr(overview, fn) if isinstance(fn, str) else fn
    name = f"{query_fn.__module__}:{query_fn.__qualname__}"
    # comment queries read the stored tags instead of tagging their rows again; fieldwork counts
    # come from their cells (an advisor's own scope needs the rows: the cells have no advisor)
    source = "responses"
    if query_fn.__module__.startswith("cx.voice."):
        source = "tagged"
    elif query_fn.__module__ == fieldwork.__name__ and not scope.staff:
        source = "funnel"
    return _run(name, scope, filters, version(), tuple(sorted(kwargs.items())), source, query_fn)


@st.cache_data(ttl=CACHE_TTL, max_entries=64, show_spinner=False)
def waves(data_version: str) -> list[str]:
    return overview.waves(_scan(str(data_root()), data_version))


@st.cache_resource(show_spinner=False, max_entries=4)
def _engine(url: str) -> Any:
    return store.init(store.make_engine(url))


def engine() -> Any:
    """The operational store's engine (``DATABASE_URL`` or ``<data>/cx.db``), created once per URL."""
    return _engine(store.database_url(data_root()))


def start_outbox_sender() -> None:
    """Start the outbox loop once per process (a daemon thread) when SMTP or Telegram is
    configured: the server's own sender (:mod:`cx.server.workers`), shared with survey answers."""
    workers.sender(data_root(), engine())


def ensure_data() -> None:
    """Generate the demo dataset on first start when the data directory has no waves (the server
    does it before serving, see ``app.py``; this covers a script run on its own)."""
    root = data_root()
    if data.has_waves(root):
        return
    with st.status(
        "First start: generating the demo dataset (8 waves, 200,000 responses)…", expanded=True
    ) as status:
        bar = st.progress(0.0)

        def progress(message: str, fraction: float) -> None:
            bar.progress(min(max(fraction, 0.0), 1.0), text=message)

        complaints.first_start(root, progress=progress)
        status.update(label="Demo dataset ready.", state="complete", expanded=False)


def prepare(data_version: str) -> None:
    """Build one data version's tables before any screen asks for them: the scan, the waves, the
    rollups, the RFM tables (when there is a CRM file) and the stored comment tags (the
    background watcher of :mod:`cx.ui.warm` calls it at server start and on each new version)."""
    root = str(data_root())
    waves(data_version)
    _rollups(root, data_version)
    _funnel(root, data_version)
    # no CRM file (Segments says so) or a read-only folder (then answered from memory)
    with contextlib.suppress(data.DataError, OSError):
        precompute.build(Path(root))
    _tagged(root, data_version)
