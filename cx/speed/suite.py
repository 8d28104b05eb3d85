"""``cx bench``: every bench case of every area, timed on synthetic data against DuckDB.

The areas are listed here, explicitly; each area module exposes ``bench_cases()``.
"""

from __future__ import annotations

import shutil
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

import duckdb

from cx.analytics import rollup as rollup_mod
from cx.core import data
from cx.demo.dataset import write_demo
from cx.speed import analytics, geography, harness, ingest, loop, reports, voice

AREAS = (analytics, geography, voice, loop, ingest, reports)


def all_cases() -> list[harness.BenchCase]:
    cases = harness.overview_cases()
    for area in AREAS:
        cases += area.bench_cases()
    return cases


def run(
    rows: int = 1_000_000, workdir: Path | None = None, repeat: int = 5, only: str | None = None
) -> list[dict[str, Any]]:
    """Generate ``rows`` synthetic responses, time every case, return one row per case."""
    own = workdir is None
    root = Path(tempfile.mkdtemp(prefix="cx-bench-")) if own else workdir
    assert root is not None
    try:
        if not data.has_waves(root):
            write_demo(root, rows=rows)
        frame = data.scan_responses(root)
        glob = str(root / "waves" / "*" / "*.parquet")
        ctx = harness.BenchContext(
            root=root,
            responses=frame,
            rows=rows,
            glob=glob,
            rollup=rollup_mod.coarsen(rollup_mod.build(frame)).lazy(),
        )
        cases = [c for c in all_cases() if not only or only in c.query]
        # All of our runs first, then all reference runs: DuckDB's worker threads stay busy for a
        # moment after each query, which would slow whichever engine runs next.
        ours = {c.query: harness.median_seconds(partial(c.ours, ctx), repeat) for c in cases}
        con = duckdb.connect()
        refs = {
            c.query: harness.median_seconds(partial(c.reference, con, ctx), repeat)
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
    finally:
        if own:
            shutil.rmtree(root, ignore_errors=True)
