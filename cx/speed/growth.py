"""``cx bench --growth``: how time and memory grow from 1M to 10M and 100M responses.

The big folders are grown, not generated: the demo generator holds a dataset in memory, so
:func:`grow` writes a 1M-response folder's waves ``factor`` times, one wave file at a time
(each copy with its own response ids), beside the same organisation, CRM and fieldwork files.
Every size then runs the same cases as ``cx bench`` (:func:`cx.speed.suite.all_cases`) whose
names match :data:`CASES`: the per-data-version builds, and the screen questions answered from
them, each against DuckDB on the same files. Each size runs in a child process of its own, so
its peak resident memory (``peak_mb``) is the peak of that size alone.
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import polars as pl

from cx.core import data

SIZES = (1_000_000, 10_000_000, 100_000_000)
BASE_ROWS = 1_000_000
CASES = ("overview.", "funnel_counts build", "from counts", "cells.build", "from cells")
"""Name parts of the cases timed at every size: what the screens read from precomputed tables."""
SHARED = ("org.yaml", "users.yaml", "crm", "fieldwork.parquet")


def grow(base: Path, target: Path, factor: int) -> Path:
    """``target`` holding ``factor`` copies of ``base``'s responses (ids suffixed ``~k``),
    written wave file by wave file; kept when it is already complete."""
    done = target / ".grown"
    if done.exists() and done.read_text() == f"{base}:{factor}":
        return target
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for name in SHARED:
        source = base / name
        if source.is_dir():
            shutil.copytree(source, target / name)
        elif source.exists():
            shutil.copy2(source, target / name)
    for folder in sorted(data.waves_dir(base).iterdir()):
        out = target / "waves" / folder.name
        out.mkdir(parents=True)
        rows = pl.read_parquet(sorted(folder.glob("*.parquet")))
        ids = pl.col("response_id").cast(pl.String)
        for k in range(factor):
            copy = rows if k == 0 else rows.with_columns(ids + f"~{k}")
            copy.write_parquet(out / f"part-{k}.parquet", statistics=True)
    done.write_text(f"{base}:{factor}")
    return target


def _child(root: Path, rows: int, repeat: int) -> list[dict[str, Any]]:
    """Run the growth cases on ``root`` in this process (the child side of :func:`run`)."""
    from cx.speed import suite

    cases = [c for c in suite.all_cases() if any(part in c.query for part in CASES)]
    peak: list[int] = []

    def read_peak() -> None:  # our runs only: DuckDB's own buffers are not ours
        peak.append(round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))  # KiB

    found = suite.time_cases(root, rows, cases, repeat, after_ours=read_peak)
    return [row | {"peak_mb": peak[0]} for row in found]


def run(
    sizes: tuple[int, ...] = SIZES,
    workdir: Path | None = None,
    repeat: int = 3,
    base_rows: int = BASE_ROWS,
) -> list[dict[str, Any]]:
    """Every size: grow its folder under ``workdir`` (default: a temporary folder, removed
    afterwards) from a generated base of ``base_rows`` responses, run the cases in a child
    process; each row carries that child's peak resident memory over our runs, before DuckDB's
    (``peak_mb``)."""
    from cx.demo.dataset import write_demo

    work = workdir or Path(tempfile.mkdtemp(prefix="cx-growth-"))
    base = work / "base"
    if not data.has_waves(base):
        write_demo(base, rows=base_rows)
    out: list[dict[str, Any]] = []
    try:
        for rows in sizes:
            out += _size(base, work, rows, base_rows, repeat)
    finally:
        if workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    return out


def _size(base: Path, work: Path, rows: int, base_rows: int, repeat: int) -> list[dict[str, Any]]:
    """One size's rows, from a child process on the folder grown to it."""
    factor = max(1, round(rows / base_rows))
    root = base if factor == 1 else grow(base, work / f"x{factor}", factor)
    args = [str(root), str(factor * base_rows), str(repeat)]
    child = subprocess.run(
        [sys.executable, "-m", "cx.speed.growth", *args], capture_output=True, text=True
    )
    if child.returncode:
        why = (child.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"growth run at {rows:,} rows failed: {why}")
    return list(json.loads(child.stdout))


if __name__ == "__main__":
    folder, count, times = sys.argv[1:4]
    print(json.dumps(_child(Path(folder), int(count), int(times))))
