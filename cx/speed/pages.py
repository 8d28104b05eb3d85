"""``cx bench`` rows of the screens: each page's whole script run under Streamlit's AppTest.

A page row times ``dashboard.py`` switched to one screen, signed in as the user who reads it,
on the bench's data folder: ``cold`` is the first run with Streamlit's caches emptied
(``st.cache_data`` and ``st.cache_resource``: the scan, the rollups, every query), as after a
server restart on a folder whose precomputed tables and stored tags are already on disk;
``warm`` is the median of re-runs of the same page, every query answered from the caches.
The page's queries are timed one by one, against DuckDB, by the query cases that
:data:`cx.speed.screens.QUERIES` names.

The one module of the harness that imports Streamlit and the dashboards: ``cx bench`` runs it
as a child process (``python -m cx.speed.pages``), which prints the rows as JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import streamlit as st
from streamlit.testing.v1 import AppTest

from cx import store
from cx.core import data, users
from cx.demo import complaints
from cx.speed.screens import PageError, PageRun
from cx.store import sessions

# The app's cached functions, defined outside a server, each warn "No runtime found": expected here.
logging.getLogger("streamlit.runtime.caching.cache_data_api").setLevel(logging.ERROR)

from cx.ui import warm  # noqa: E402
from cx.ui.auth import TOKEN_KEY  # noqa: E402
from cx.ui.data import prepare, version  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
"""The source checkout: ``dashboard.py`` and ``screens/`` (``cx bench`` needs one)."""
SCRIPT = ROOT / "dashboard.py"


def run(
    root: Path, rows: int, runs: list[PageRun], median: Callable[[Callable[[], Any]], float]
) -> list[dict[str, Any]]:
    """Time ``runs`` on the data folder ``root``: two bench rows each, cold (one run) and warm
    (``median`` of re-runs: the bench's own repeat rule)."""
    if not runs:
        return []
    out: list[dict[str, Any]] = []
    with _bench_environment(root):
        _prepare(root)
        for page_run in runs:
            cold, warm_seconds = _time_page(page_run, median)
            for kind, seconds in (("cold", cold), ("warm", warm_seconds)):
                out.append(
                    {
                        "query": page_run.name(kind),
                        "rows": rows,
                        "seconds": round(seconds, 5),
                        "reference_seconds": None,
                        "ratio": None,
                        "per_second": None,
                        "unit": None,
                    }
                )
    return out


@contextlib.contextmanager
def _bench_environment(root: Path) -> Iterator[None]:
    """The app reads the bench folder; no warm-up thread races the timed runs."""
    saved = {k: os.environ.get(k) for k in ("CX_DATA_DIR", "CX_WARM")}
    cwd = Path.cwd()
    os.environ["CX_DATA_DIR"], os.environ["CX_WARM"] = str(root), "off"
    os.chdir(ROOT)  # the screens' paths are relative to the checkout
    try:
        yield
    finally:
        os.chdir(cwd)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        st.cache_data.clear()
        st.cache_resource.clear()


def _prepare(root: Path) -> None:
    """What a server does before its first visitor, not timed: import the screens' modules and
    build the data version's tables on disk (precomputed RFM tables, stored comment tags: once
    per data version, timed by their own cases); and open the demo's complaint cases in the
    folder's own store (as a first start does; never in a configured ``DATABASE_URL``), so the
    case screens have a worklist."""
    warm.preload()
    prepare(version())
    if os.environ.get("DATABASE_URL"):
        return
    engine = store.init(store.make_engine(store.database_url(root)))
    try:
        complaints.seed_demo_cases(engine, data.scan_responses(root))
    finally:
        engine.dispose()


def _time_page(
    page_run: PageRun, median: Callable[[Callable[[], Any]], float]
) -> tuple[float, float]:
    """The cold run's seconds, then ``median`` of the warm re-runs, each checked to have drawn
    the screen."""
    at = AppTest.from_file(str(SCRIPT), default_timeout=900)
    at.run()  # the sign-in screen registers every page (hidden), so switch_page finds this one
    _sign_in(at, page_run.username)
    at.switch_page(page_run.path)
    st.cache_data.clear()
    st.cache_resource.clear()
    t0 = time.perf_counter()
    at.run()
    cold = time.perf_counter() - t0
    _check(at, page_run)

    def again() -> None:
        at.run()
        _check(at, page_run)

    return cold, median(again)


def _sign_in(at: AppTest, username: str) -> None:
    """A real session of ``username`` in the folder's store, given to the run as the browser's
    cookie would be (AppTest has no cookies)."""
    user = users.get(username)
    if user is None:
        raise PageError(f"{username}: no such user in {data.data_dir() / 'users.yaml'}")
    engine = store.init(store.make_engine(store.database_url(data.data_dir())))
    try:
        at.session_state[TOKEN_KEY] = sessions.open_session(engine, user, address="cx-bench")
    finally:
        engine.dispose()


def _check(at: AppTest, page_run: PageRun) -> None:
    """A timed run counts only if the screen rendered: no exception, no refusal, no sign-in."""
    where = f"{page_run.path} as {page_run.username}"
    if at.exception:
        raise PageError(f"{where}: {at.exception[0].message}")
    refused = [
        str(e.value)
        for e in (*at.error, *at.warning)
        if "sign in" in str(e.value).lower() or "does not give access" in str(e.value)
    ]
    if refused:
        raise PageError(f"{where}: {refused[0]}")
    # st.navigation opens the default screen for a page the user may not open: say so, never time it
    pages_run = getattr(at, "_registered_pages", {})
    ran = pages_run.get(getattr(at, "_finished_page_script_hash", ""), {}).get("script_path")
    if ran is None or Path(str(ran)).resolve() != (ROOT / page_run.path).resolve():
        raise PageError(f"{where}: the app opened {ran or 'another screen'} instead")


def main(argv: list[str] | None = None) -> int:
    """``python -m cx.speed.pages --root DIR --rows N --repeat R --runs JSON``: the rows as JSON
    on stdout; a screen that fails: its one-line reason on stderr, exit code 2."""
    from cx.speed.suite import median_seconds  # the bench's own repeat rule

    parser = argparse.ArgumentParser(prog="python -m cx.speed.pages")
    parser.add_argument("--root", required=True)
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--repeat", type=int, required=True)
    parser.add_argument("--runs", required=True, help="JSON list of [url path, file, username]")
    args = parser.parse_args(argv)
    runs = [PageRun(*item) for item in json.loads(args.runs)]
    median = partial(median_seconds, repeat=args.repeat, warmed=True)
    try:
        rows = run(Path(args.root), args.rows, runs, median)
    except PageError as exc:
        print(f"{PageError.MARK}{exc}", file=sys.stderr)
        return 2
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
