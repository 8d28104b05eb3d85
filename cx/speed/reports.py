"""``cx bench`` cases of the reports: the world's PDF and PowerPoint deck, end to end.

Timed from the scanned responses to the written file (queries, chart rendering by vl-convert,
layout); the image cache is cleared before every run so each run renders its charts. There is
no reference engine for a document, so ``reference`` is None.
"""

from __future__ import annotations

from typing import Any

from cx import reports
from cx.core.filters import Filters
from cx.speed.harness import BenchCase, BenchContext


def _build(ctx: BenchContext, suffix: str) -> Any:
    reports.clear_cache()
    out = ctx.root / f"bench-report-world{suffix}"
    return reports.build_report(ctx.responses, ctx.world, Filters(wave=ctx.latest), out)


def bench_cases() -> list[BenchCase]:
    return [
        BenchCase("reports.pdf [world]", lambda ctx: _build(ctx, ".pdf")),
        BenchCase("reports.pptx [world]", lambda ctx: _build(ctx, ".pptx")),
    ]
