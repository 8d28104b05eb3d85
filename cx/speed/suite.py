"""``cx bench``: every bench case of every area, timed on synthetic data against DuckDB, and
every screen's whole script run (cold and warm, :mod:`cx.speed.pages`, the screens of :mod:`cx.speed.screens`).

The areas are listed here, explicitly; each area module exposes ``bench_cases()``. ``--only``
picks the cases whose name contains its text, plus those of the area of that name (see
:data:`AREA_NAMES`) or of the screen of that URL path (its page rows and its query cases).
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import duckdb

from cx.analytics import rollup as rollup_mod
from cx.core import data
from cx.demo.dataset import write_demo
from cx.speed import analytics, fieldwork, geography, harness, ingest, loop, reports, screens, voice

AREAS = (analytics, geography, voice, loop, ingest, reports, fieldwork)
AREA_NAMES = ("overview", *(a.__name__.rsplit(".", 1)[-1] for a in AREAS), "pages")
"""What ``--only`` takes as an area: the overview's own cases (:mod:`cx.speed.harness`), each
area module, and ``pages`` (the screens' script runs)."""
SLOW_RUN = 1.0
"""A case whose first run takes longer than this many seconds keeps the median of 3 runs, the
first one included (a median of 3 drops a cold first run that was an outlier)."""
LONG_RUN = 10.0
"""A case whose first run takes longer than this keeps that one run (e.g. tagging every comment:
file metadata and lazy imports are a fraction of a percent of it)."""


PAGE_REPEAT = 3
"""Warm runs of a screen at most: its cold run came first, and a whole script run varies less
than its parts."""


def all_cases() -> list[harness.BenchCase]:
    return [case for _, case in _cases_by_area()]


def _cases_by_area() -> list[tuple[str, harness.BenchCase]]:
    out = [("overview", case) for case in harness.overview_cases()]
    for area in AREAS:
        out += [(area.__name__.rsplit(".", 1)[-1], case) for case in area.bench_cases()]
    return out


def select(only: str | None) -> tuple[list[harness.BenchCase], list[screens.PageRun]]:
    """The query cases and page runs ``--only`` asks for (everything without it)."""
    if not only:
        return all_cases(), screens.page_runs()
    prefixes = screens.QUERIES.get(only, ())
    cases = [
        case
        for area, case in _cases_by_area()
        if only in case.query or area == only or case.query.startswith(prefixes or ("\0",))
    ]
    return cases, screens.select(only)


def median_seconds(fn: Callable[[], Any], repeat: int, *, warmed: bool = False) -> float:
    """The median of ``repeat`` timed runs after an untimed warm-up (file metadata, page cache,
    lazy imports), or fewer runs for a slow case: past :data:`SLOW_RUN` seconds the first run
    counts and 3 runs are enough, past :data:`LONG_RUN` the first alone. ``warmed``: ``fn`` ran
    already, so its first run counts."""
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    if first > LONG_RUN:
        return first
    slow = first > SLOW_RUN
    times = [first] if slow or warmed else []
    while len(times) < (3 if slow else max(1, repeat)):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run(
    rows: int = 1_000_000, workdir: Path | None = None, repeat: int = 5, only: str | None = None
) -> list[dict[str, Any]]:
    """Generate ``rows`` synthetic responses (unless ``workdir`` holds them already), time every
    case and every screen, return one row per case and two per screen."""
    own = workdir is None
    root = Path(tempfile.mkdtemp(prefix="cx-bench-")) if own else workdir
    assert root is not None
    try:
        if not data.has_waves(root):
            write_demo(root, rows=rows)
        cases, page_runs = select(only)
        out = time_cases(root, rows, cases, repeat) if cases else []
        return out + _time_pages(root, rows, page_runs, min(repeat, PAGE_REPEAT))
    finally:
        if own:
            shutil.rmtree(root, ignore_errors=True)


def _time_pages(
    root: Path, rows: int, runs: list[screens.PageRun], repeat: int
) -> list[dict[str, Any]]:
    """The screens' rows, from :mod:`cx.speed.pages` in a child process: a fresh process for the
    cold runs, and neither Streamlit nor the dashboards loaded into this one."""
    if not runs:
        return []
    done = subprocess.run(
        [sys.executable, "-m", "cx.speed.pages", "--root", str(root), "--rows", str(rows)]
        + [
            "--repeat",
            str(repeat),
            "--runs",
            json.dumps([[r.page, r.path, r.username] for r in runs]),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or [f"exit code {done.returncode}"]
        marked = [ln for ln in lines if ln.startswith(screens.PageError.MARK)]
        raise screens.PageError(
            marked[-1].removeprefix(screens.PageError.MARK) if marked else lines[-1]
        )
    rows_out: list[dict[str, Any]] = json.loads(done.stdout)
    return rows_out


def time_cases(
    root: Path,
    rows: int,
    cases: list[harness.BenchCase],
    repeat: int,
    *,
    after_ours: Callable[[], object] | None = None,
) -> list[dict[str, Any]]:
    """One row per case on the folder ``root``: ours, then DuckDB's; ``after_ours`` is called
    between the two (e.g. to read this process's peak memory before DuckDB adds its own)."""
    frame = data.scan_responses(root)
    ctx = harness.BenchContext(
        root=root,
        responses=frame,
        rows=rows,
        glob=str(root / "waves" / "*" / "*.parquet"),
        rollup=rollup_mod.coarsen(rollup_mod.build(frame)).lazy(),
    )
    # All of our runs first, then all reference runs: DuckDB's worker threads stay busy for a
    # moment after each query, which would slow whichever engine runs next.
    ours = {c.query: median_seconds(partial(c.ours, ctx), repeat) for c in cases}
    if after_ours is not None:
        after_ours()
    con = duckdb.connect()
    refs = {
        c.query: median_seconds(partial(c.reference, con, ctx), repeat)
        for c in cases
        if c.reference
    }
    con.close()
    out = []
    for case in cases:
        seconds, ref = ours[case.query], refs.get(case.query)
        row: dict[str, Any] = {
            "query": case.query,
            "rows": rows,
            "seconds": round(seconds, 5),
            "reference_seconds": None if ref is None else round(ref, 5),
            "ratio": None if not ref else round(seconds / ref, 3),
        }
        items = case.items(ctx) if case.items is not None else None
        row["per_second"] = round(items / seconds) if items is not None and seconds else None
        row["unit"] = case.unit if items is not None else None
        out.append(row)
    return out
