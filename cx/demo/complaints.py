"""Demo complaint cases: the strongest detractors of the latest wave in a few agencies, so the
case screens have a work list on first start."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

import polars as pl
from sqlalchemy.engine import Engine

from cx import store
from cx.core.data import scan_responses, sort_waves
from cx.core.scope import Scope, restrict
from cx.demo.dataset import DemoSummary, ensure_demo
from cx.loop import cases
from cx.voice import themes


def seed_demo_cases(
    engine: Engine,
    frame: pl.LazyFrame,
    *,
    agencies: Sequence[str] = ("Madrid", "Paris"),
    per_agency: int = 25,
    actor: str = "system",
    now: datetime | None = None,
) -> int:
    """Open cases for the strongest detractors of the latest wave in a few agencies (idempotent).

    Returns the number of cases opened now (0 when they already exist).
    """
    scope = Scope.parse([f"agency:{a}" for a in agencies])
    scoped = restrict(frame, scope)
    waves = sort_waves(scoped.select("wave").unique().collect()["wave"].to_list())
    if not waves:
        return 0
    columns = scoped.collect_schema().names()
    detractors = (
        scoped.filter(pl.col("wave") == waves[-1], pl.col("nps") <= 6)
        .filter(~pl.col("excluded").fill_null(False) if "excluded" in columns else pl.lit(True))
        .sort(
            "agency",
            "nps",
            pl.col("comment").is_null() if "comment" in columns else pl.lit(0),
            "response_id",
        )
        .group_by("agency", maintain_order=True)
        .head(per_agency)
        .collect()
    )
    if "comment" in columns:
        detractors = themes.tag(detractors)  # one vectorised pass instead of one per case
    opened = 0
    with store.session(engine) as s:
        for response in detractors.iter_rows(named=True):
            if (
                cases.open_case(
                    s,
                    response=response,
                    reason="Detractor (NPS 0–6) in the latest wave",
                    actor=actor,
                    now=now,
                )
                is not None
            ):
                opened += 1
    return opened


def first_start(
    root: Path, progress: Callable[[str, float], None] | None = None
) -> DemoSummary | None:
    """On a data folder without waves: write the demo dataset and its accounts, and open the demo
    cases in the folder's own store, never in a configured ``DATABASE_URL`` (that may be
    production's; ``cx demo --seed-store`` asks for it). None when data is already there."""
    summary = ensure_demo(root, progress=progress)
    if summary is None:
        return None
    if not os.environ.get("DATABASE_URL"):
        say = progress or (lambda _msg, _frac: None)
        say("Opening demo complaint cases for Madrid and Paris…", 0.95)
        engine = store.init(store.make_engine(store.database_url(root)))
        try:
            seed_demo_cases(engine, scan_responses(root))
        finally:
            engine.dispose()
    return summary
