"""The heavy batch jobs behind ``cx precompute``: one definition of each, run in this process or
on a Dask cluster (:mod:`cx.ops.cluster`).

Each precomputed table is kept per wave, so each job is a :class:`WaveJob` of four plain
functions of its own module: ``plan`` (here: which waves' tables are current, and what to
compute for each missing one), ``compute`` (the per-wave job, pure: it reads the data folder and
returns the wave's table), ``store`` (here: the atomic write, after checking that what the plan
relied on did not change) and ``finish`` (here: remove older versions). Only ``compute`` runs
elsewhere: a *mapper* applies it to every wave still to build — a plain loop in this process
(:func:`in_process`), ``client.map`` on a cluster — and this process stores each result as it
arrives. So the tables are the same files whoever computed them, written by one process with
one set of permissions, and a half-failed run leaves only whole tables.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from cx.analytics import precompute
from cx.core import data
from cx.voice import stored


def _nothing(root: Path) -> None:
    """A job with nothing to tidy once its tables are stored."""


@dataclass(frozen=True)
class WaveJob:
    """One precomputed table kept per wave (rows of ``cx precompute``: ``<name>/<wave>``)."""

    name: str
    plan: Callable[[Path], tuple[Mapping[str, int], Mapping[str, Any]]]
    """``root -> (rows of each wave whose table is current, {wave: what compute needs})``."""
    compute: Callable[[Path, str, Any], pl.DataFrame]
    """``(root, wave, planned) -> table``: module-level (a worker imports it by name), pure."""
    store: Callable[[Path, str, pl.DataFrame, Any], None]
    """``(root, wave, table, planned)``: the atomic write, in this process."""
    finish: Callable[[Path], None] = _nothing


JOBS: tuple[WaveJob, ...] = (
    WaveJob(
        "rfm",
        precompute.rfm_plan,
        precompute.rfm_wave,
        precompute.store_rfm_wave,
        precompute.prune_rfm,
    ),
    WaveJob("themes", stored.plan, stored.tag_wave, stored.store_wave),
)
"""Every table ``cx precompute`` builds, in the order it prints them."""

Call = tuple[Callable[[Path, str, Any], pl.DataFrame], Path, str, Any]
Mapper = Callable[[Sequence[Call]], Iterator[tuple[pl.DataFrame, float]]]
"""Runs :func:`timed` on each call and yields the results in the calls' order."""


def timed(
    compute: Callable[[Path, str, Any], pl.DataFrame], root: Path, wave: str, planned: Any
) -> tuple[pl.DataFrame, float]:
    """One per-wave job and the seconds it took where it ran."""
    t0 = time.perf_counter()
    frame = compute(root, wave, planned)
    return frame, time.perf_counter() - t0


def in_process(calls: Sequence[Call]) -> Iterator[tuple[pl.DataFrame, float]]:
    """The jobs one after the other in this process (Polars uses every core for each)."""
    return (timed(*call) for call in calls)


def run(
    root: Path, mapper: Mapper = in_process, jobs: Iterable[WaveJob] = JOBS
) -> list[dict[str, Any]]:
    """Bring every table of ``jobs`` up to date for the data version; one row per table:
    ``table`` (``<job>/<wave>``), ``rows``, ``seconds`` (computing it, wherever that ran, plus
    storing it; 0 for a table already current, which is only checked).

    Every job is planned before anything is computed, so a missing or malformed input is one
    DataError and nothing is written; an OSError names the file that could not be written.
    """
    jobs = tuple(jobs)
    plans = [(job, *job.plan(root)) for job in jobs]
    calls: list[Call] = []
    owners: list[WaveJob] = []
    for job, _done, todo in plans:
        for wave, planned in todo.items():
            calls.append((job.compute, root, wave, planned))
            owners.append(job)
    built: dict[tuple[str, str], tuple[int, float]] = {}
    for job, call, (frame, seconds) in zip(owners, calls, mapper(calls), strict=True):
        _, _, wave, planned = call
        t0 = time.perf_counter()
        job.store(root, wave, frame, planned)
        built[job.name, wave] = (frame.height, seconds + time.perf_counter() - t0)
    for job in jobs:
        job.finish(root)
    out: list[dict[str, Any]] = []
    for job, done, todo in plans:
        for wave in data.sort_waves([*done, *todo]):
            rows, seconds = built[job.name, wave] if wave in todo else (done[wave], 0.0)
            out.append({"table": f"{job.name}/{wave}", "rows": rows, "seconds": seconds})
    return out
