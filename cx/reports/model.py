"""The report model: a report is a list of sections (big numbers, charts, tables, notes) built for
one scope and one set of filters, written later as a PDF or a deck by the same rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import polars as pl

from cx.core.filters import Filters
from cx.core.org import COUNTRY_NAMES
from cx.core.scope import Scope

MAX_TABLE_ROWS = 36
"""Rows of one table in a report (split over as many pages as they need, see
:func:`cx.reports.layout.paginate`); longer tables are cut and say how many rows were left out."""


class ReportError(ValueError):
    """A report cannot be written (unknown format, unwritable path, no data in scope)."""


@dataclass(frozen=True)
class Figure:
    """One big number: ``label``, its ``value`` text and a small ``note`` (margin, significance)."""

    label: str
    value: str
    note: str = ""


@dataclass(frozen=True)
class Table:
    """A display-ready table: human column names, values already rounded."""

    title: str
    frame: pl.DataFrame
    total_rows: int = 0

    @property
    def hidden_rows(self) -> int:
        return max(0, self.total_rows - self.frame.height)


@dataclass(frozen=True)
class Section:
    """One page of the PDF and one slide of the deck."""

    key: str
    title: str
    takeaway: str
    figures: tuple[Figure, ...] = ()
    charts: tuple[Any, ...] = ()  # Altair charts, the same functions as the screens
    tables: tuple[Table, ...] = ()
    notes: tuple[str, ...] = ()
    layout: str = "side"
    """``side``: chart left, table right; ``stack``: chart above, table below; ``split``: the chart
    on its page, the table on the next."""
    highlights: tuple[str, ...] = ()
    part: tuple[int, int] = (1, 1)
    """Page ``i`` of ``n`` of this section when its table or list is split over several pages."""

    @property
    def heading(self) -> str:
        """The title the page shows: ``Alerts (2/2)`` on the second page of two."""
        i, n = self.part
        return self.title if n == 1 else f"{self.title} ({i}/{n})"


@dataclass(frozen=True)
class ReportContext:
    """What every section builder gets: the rows (not yet scoped), the scope and the filters."""

    frame: pl.LazyFrame
    scope: Scope
    filters: Filters
    waves: tuple[str, ...]
    engine: Any = None
    user_name: str = ""
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def wave(self) -> str:
        return self.filters.wave or self.waves[-1]


@dataclass(frozen=True)
class Report:
    """The built sections, ready to be written, and the sections left out (with the reason)."""

    ctx: ReportContext
    sections: list[Section]
    skipped: list[str]


def scope_label(scope: Scope) -> str:
    """Human name of a scope: ``World``, ``Spain (ES)``, ``Madrid``…"""
    if scope.is_world:
        return "World"
    if scope.is_empty:
        return "no scope"
    parts = []
    for e in scope.entries:
        if e.level == "country":
            name = COUNTRY_NAMES.get(e.value)
            parts.append(f"{name} ({e.value})" if name else e.value)
        else:
            parts.append(e.value)
    parts += [f"advisor {a}" for a in scope.staff]
    return ", ".join(parts)


def filters_label(f: Filters) -> str:
    """The filters in one line for a cover or a footer: ``Wave 2026-Q3 · Channel: email``."""
    parts = [f"Wave {f.wave}"]
    for label, values in (
        ("Channel", f.channels),
        ("Touchpoint", f.touchpoints),
        ("Segment", f.segments),
    ):
        if values:
            parts.append(f"{label}: {', '.join(values)}")
    return " · ".join(parts)


def points(value: float | None, signed: bool = False) -> str:
    """NPS points with one decimal (``+2.5`` when ``signed``); a missing value is ``–``."""
    if value is None:
        return "–"
    return f"{value:+.1f}" if signed else f"{value:.1f}"


def clip(text: str, limit: int = 220) -> str:
    """One line of at most ``limit`` characters, cut at a word with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def cut(title: str, df: pl.DataFrame, limit: int = MAX_TABLE_ROWS) -> Table:
    """A table of at most ``limit`` rows that remembers how many it had."""
    return Table(title, df.head(limit), df.height)
