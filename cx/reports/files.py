"""The report's entry points: one file by extension (PDF or deck), the infographic, and every
download of the Reports screen from one build."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import polars as pl

from cx.core.filters import Filters
from cx.core.scope import Scope
from cx.reports.infographic import write_infographic
from cx.reports.model import ReportError, scope_label
from cx.reports.pdf import write_pdf
from cx.reports.pptx import write_pptx
from cx.reports.sections import build_sections

FORMATS = (".pdf", ".pptx")


def build_report(
    frame: pl.LazyFrame,
    scope: Scope,
    filters: Filters,
    out: Path,
    *,
    engine: Any = None,
    user_name: str = "",
) -> Path:
    """Write the report for the scope and filters to ``out`` (PDF or PPTX by extension)."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise ReportError(f"{out}: unknown report format {suffix or '(none)'!r}; use .pdf or .pptx")
    if scope.is_empty:
        raise ReportError("empty scope: this user sees no rows, so there is nothing to report")
    if not out.parent.exists():
        raise ReportError(f"{out.parent}: folder does not exist")
    report = build_sections(frame, scope, filters, engine=engine, user_name=user_name)
    return write_pdf(report, out) if suffix == ".pdf" else write_pptx(report, out)


def build_infographic(frame: pl.LazyFrame, scope: Scope, filters: Filters, out: Path) -> Path:
    """The one-page infographic (PNG or PDF by extension); see :mod:`cx.reports.infographic`."""
    return write_infographic(frame, scope, filters, Path(out))


def report_files(
    frame: pl.LazyFrame, scope: Scope, filters: Filters, *, engine: Any = None, user_name: str = ""
) -> dict[str, tuple[str, bytes]]:
    """Every download of the Reports screen from one build: ``{kind: (file name, bytes)}``.

    Kinds: ``pdf``, ``pptx`` (the report), ``png`` and ``infographic_pdf`` (the infographic).
    """
    if scope.is_empty:
        raise ReportError("empty scope: this user sees no rows, so there is nothing to report")
    report = build_sections(frame, scope, filters, engine=engine, user_name=user_name)
    stem = (
        "cx-report-"
        + "-".join(e.value or e.level for e in scope.entries).replace(" ", "_")
        + f"-{report.ctx.wave}"
    )
    out: dict[str, tuple[str, bytes]] = {}
    with tempfile.TemporaryDirectory(prefix="cx-report-") as tmp:
        folder = Path(tmp)
        write_pdf(report, folder / "r.pdf")
        write_pptx(report, folder / "r.pptx")
        write_infographic(
            frame, scope, report.ctx.filters, folder / "i.png", scope_name=scope_label(scope)
        )
        write_infographic(
            frame, scope, report.ctx.filters, folder / "i.pdf", scope_name=scope_label(scope)
        )
        out["pdf"] = (f"{stem}.pdf", (folder / "r.pdf").read_bytes())
        out["pptx"] = (f"{stem}.pptx", (folder / "r.pptx").read_bytes())
        out["png"] = (f"{stem}-infographic.png", (folder / "i.png").read_bytes())
        out["infographic_pdf"] = (f"{stem}-infographic.pdf", (folder / "i.pdf").read_bytes())
    return out
