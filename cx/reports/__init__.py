"""Automatic reports: the user's scope and filters as a PDF (fpdf2) or an editable PowerPoint deck.

A report is a list of :class:`Section` objects, each made by one section builder from the same
queries and the same Altair charts as the screens (rendered to PNG by ``vl-convert``, no browser).
Sections of other areas (drivers, benchmarks, themes, alerts, plans) are added when their module
is installed; a failing section of another area is left out and named on the cover. Every row
comes through the scope (``cx.analytics.overview.scoped`` / ``restrict_statement`` in the areas' functions);
the only comments quoted are ``cx.voice.verbatims.verbatims``, masked by ``cx.core.privacy.mask_pii``.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import json
import struct
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import altair as alt
import polars as pl

from cx import charts
from cx.analytics import overview, takeaways
from cx.core.filters import Filters
from cx.core.labels import LEVEL_LABELS, QUADRANT_LABELS
from cx.core.org import COUNTRY_NAMES
from cx.core.scope import Scope

FONT_DIR = Path(__file__).parent.parent / "config" / "fonts"
FONT_REGULAR = FONT_DIR / "DejaVuSans.ttf"
FONT_BOLD = FONT_DIR / "DejaVuSans-Bold.ttf"
MAX_TABLE_ROWS = 14
"""Rows of one table on a page or slide; longer tables are cut and say how many rows were left out."""
CHART_WIDTH = 900
"""Vega-Lite width (px) of a full-width chart image; rendered at 2x for a sharp projector image."""
SIDE_CHART_WIDTH = 560
"""Width (px) of a chart beside a table: narrower, so its 15 px labels stay large on the page."""


class ReportError(ValueError):
    """A report cannot be written (unknown format, unwritable path, no data in scope)."""


# ---------------------------------------------------------------- the report model


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
    layout: str = "side"  # "side": chart left, table right; "stack": chart full width, table below
    highlights: tuple[str, ...] = ()


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
    return ", ".join(parts)


def filters_label(f: Filters) -> str:
    parts = [f"Wave {f.wave}"]
    for label, values in (
        ("Channel", f.channels),
        ("Touchpoint", f.touchpoints),
        ("Segment", f.segments),
    ):
        if values:
            parts.append(f"{label}: {', '.join(values)}")
    return " · ".join(parts)


def _points(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+.1f}" if signed else f"{value:.1f}"


def cut(title: str, df: pl.DataFrame, limit: int = MAX_TABLE_ROWS) -> Table:
    """A table of at most ``limit`` rows that remembers how many it had."""
    return Table(title, df.head(limit), df.height)


def _module(name: str) -> ModuleType | None:
    """Another area's module when it is installed (sections appear as the areas ship)."""
    return importlib.import_module(name) if importlib.util.find_spec(name) is not None else None


def _chart(module_names: Sequence[str], name: str) -> Callable[..., Any] | None:
    """A chart function from ``cx.charts`` or a ``cx.charts_<area>`` module, if it exists."""
    for mod_name in module_names:
        mod = _module(mod_name)
        if mod is not None and hasattr(mod, name):
            return getattr(mod, name)  # type: ignore[no-any-return]
    return None


# ---------------------------------------------------------------- section builders


def _note_expr() -> pl.Expr:
    return (
        pl.when(pl.col("suppressed"))
        .then(pl.lit("hidden (n < 5)"))
        .when(pl.col("low_base"))
        .then(pl.lit("low base"))
        .when(pl.col("significant") & (pl.col("change") > 0))
        .then(pl.lit("▲ significant"))
        .when(pl.col("significant") & (pl.col("change") < 0))
        .then(pl.lit("▼ significant"))
        .otherwise(pl.lit(""))
    )


def _num(col: str, signed: bool = False, digits: int = 1) -> pl.Expr:
    rounded = pl.col(col).round(digits)
    rounded = pl.when(rounded == 0).then(0.0).otherwise(rounded)  # never print "-0.0"
    fmt = rounded.cast(pl.String)
    if signed:
        fmt = pl.when(rounded > 0).then(pl.lit("+") + fmt).otherwise(fmt)
    return fmt.fill_null("–")


def breakdown_view(df: pl.DataFrame, level: str) -> pl.DataFrame:
    """The breakdown as on screen: rank, entity, n, NPS, ± MoE, change, note."""
    label = LEVEL_LABELS.get(level, level)
    return df.select(
        pl.col("rank").cast(pl.String).fill_null("").alias("#"),
        pl.col(level).alias(label),
        pl.col("n").cast(pl.String).alias("n"),
        _num("nps").alias("NPS"),
        _num("nps_moe").alias("± MoE"),
        _num("change", signed=True).alias("Δ vs prev."),
        _note_expr().alias("Note"),
    )


def trend_view(trend: pl.DataFrame) -> pl.DataFrame:
    return trend.select(
        pl.col("wave").alias("Wave"),
        pl.col("n").cast(pl.String).alias("n"),
        _num("nps").alias("NPS"),
        _num("nps_moe").alias("± MoE"),
        _num("change", signed=True).alias("Change"),
        _note_expr().alias("Note"),
    )


def key_figures(ctx: ReportContext) -> Section:
    """NPS with its margin of error, the change vs the previous wave, the base and CSAT."""
    head = overview.headline(ctx.frame, ctx.scope, ctx.filters)
    levels = overview.breakdown_levels(ctx.scope)
    first = overview.breakdown(ctx.frame, ctx.scope, ctx.filters, levels[0]) if levels else None
    row = head.row(0, named=True)
    if row["suppressed"]:
        nps = Figure("NPS", "hidden", "fewer than 5 responses")
    else:
        nps = Figure("NPS", _points(row["nps"]), f"± {row['nps_moe']:.1f} (95 % margin)")
    if row["change"] is None:
        change = Figure("Change", "–", "no earlier wave")
    else:
        change = Figure(
            f"Change vs {row['prev_wave']}",
            _points(row["change"], signed=True),
            "significant" if row["significant"] else "not significant",
        )
    base = Figure("Responses (n)", f"{row['n']:,}", "low base (n < 30)" if row["low_base"] else "")
    csat = Figure("CSAT (top-2-box)", "–" if row["csat"] is None else f"{row['csat']:.0f} %")
    notes: tuple[str, ...] = ()
    chart_list: tuple[Any, ...] = ()
    if not row["suppressed"] and row["n"]:
        chart_list = (
            charts.shares_chart(head).properties(title="Promoters, passives, detractors"),
        )
        notes = (
            f"{row['promoters']:,} promoters · {row['passives']:,} passives · {row['detractors']:,} detractors "
            f"(shares weighted; effective base {row['effective_base']:,.0f}).",
        )
    return Section(
        "key_figures",
        "Key figures",
        takeaways.overview_takeaway(head, first),
        figures=(nps, change, base, csat),
        charts=chart_list,
        notes=notes,
    )


def evolution(ctx: ReportContext) -> Section:
    """NPS over every wave with its 95 % band and significance marks."""
    trend = overview.nps_trend(ctx.frame, ctx.scope, ctx.filters)
    shown = trend.filter(~pl.col("suppressed"))
    if shown.is_empty():
        text = "No wave has enough responses to show an NPS trend."
    else:
        first, last = shown.row(0, named=True), shown.row(-1, named=True)
        sig = shown.filter(pl.col("significant"))
        text = (
            f"NPS went from {first['nps']:.1f} in {first['wave']} to {last['nps']:.1f} in {last['wave']}; "
            f"{sig.height} of {shown.height - 1} wave-to-wave changes are significant."
            if shown.height > 1
            else f"One wave of data: NPS {last['nps']:.1f} in {last['wave']}."
        )
    return Section(
        "evolution",
        "Evolution",
        text,
        charts=(charts.nps_trend_chart(trend),) if not shown.is_empty() else (),
        tables=(cut("NPS per wave", trend_view(trend)),),
    )


def attribute_evolution(ctx: ReportContext) -> Section | None:
    """Attribute means of the wave with their change and significance (team analytics-A)."""
    mod = _module("cx.analytics.evolution")
    if mod is None:
        return None
    trend: pl.DataFrame = mod.attribute_trend(ctx.frame, ctx.scope, ctx.filters)
    latest = trend.filter(pl.col("wave") == ctx.wave) if not trend.is_empty() else trend
    if latest.is_empty():
        return None
    view = latest.sort("mean", descending=True, nulls_last=True).select(
        pl.col("label").alias("Attribute"),
        _num("mean", digits=2).alias("Mean (0-10)"),
        _num("change", signed=True, digits=2).alias("Change"),
        pl.when(pl.col("significant").fill_null(False) & (pl.col("change") > 0))
        .then(pl.lit("▲ significant"))
        .when(pl.col("significant").fill_null(False) & (pl.col("change") < 0))
        .then(pl.lit("▼ significant"))
        .otherwise(pl.lit(""))
        .alias("Note"),
        pl.col("n").cast(pl.String).alias("n"),
    )
    nps = overview.nps_trend(ctx.frame, ctx.scope, ctx.filters)
    chart_fn = _chart(("cx.charts.analytics",), "attribute_trend_chart")
    return Section(
        "attribute_evolution",
        "Attributes over time",
        mod.takeaway(nps, trend, ctx.wave),
        charts=(chart_fn(trend, columns=2),) if chart_fn else (),
        tables=(cut(f"Attributes in {ctx.wave}", view),),
    )


def breakdowns(ctx: ReportContext) -> list[Section]:
    """One section per level below the scope (regions and countries for the world, …)."""
    out = []
    for level in overview.breakdown_levels(ctx.scope):
        df = overview.breakdown(ctx.frame, ctx.scope, ctx.filters, level)
        label = LEVEL_LABELS[level]
        if df.is_empty():
            continue
        ranked = df.filter(pl.col("rank").is_not_null() & ~pl.col("suppressed"))
        if ranked.height >= 2:
            best, worst = ranked.row(0, named=True), ranked.row(-1, named=True)
            text = (
                f"Highest {label.lower()}: {best[level]} at {best['nps']:.1f}; lowest: {worst[level]} at "
                f"{worst['nps']:.1f}; {ranked.height} ranked (low bases are never ranked)."
            )
        else:
            text = f"{df.height} {label.lower()} row(s) in scope; too few with n ≥ 30 to rank."
        out.append(
            Section(
                f"by_{level}",
                f"By {label.lower()}",
                text,
                charts=(charts.nps_bar_chart(df, level, label),),
                tables=(cut(f"NPS by {label.lower()}, {ctx.wave}", breakdown_view(df, level)),),
            )
        )
    return out


def strengths_weaknesses(ctx: ReportContext) -> Section | None:
    """Key drivers: importance × performance quadrants (team analytics-A)."""
    mod = _module("cx.analytics.drivers")
    if mod is None:
        return None
    drivers: pl.DataFrame = mod.key_drivers(ctx.frame, ctx.scope, ctx.filters)
    if drivers.is_empty():
        return None
    view = drivers.select(
        pl.col("label").alias("Attribute"),
        _num("mean", digits=2).alias("Mean"),
        ((pl.col("importance") * 100).round(0).cast(pl.Int64).cast(pl.String) + pl.lit(" %"))
        .fill_null("–")
        .alias("Importance"),
        pl.col("quadrant")
        .replace_strict(QUADRANT_LABELS, default=pl.col("quadrant"))
        .fill_null("–")
        .alias("Quadrant"),
        pl.when(pl.col("significant").fill_null(False))
        .then(pl.lit("yes"))
        .otherwise(pl.lit("no"))
        .alias("Sig."),
    )
    chart_fn = _chart(("cx.charts.analytics",), "quadrant_chart")
    return Section(
        "strengths_weaknesses",
        "Strengths & weaknesses",
        mod.takeaway(drivers),
        charts=(chart_fn(drivers),) if chart_fn else (),
        tables=(cut("Key drivers, most important first", view),),
    )


def benchmarks(ctx: ReportContext) -> list[Section] | None:
    """The level below ranked against its parent; the scope's attributes vs its parent and the world."""
    mod = _module("cx.analytics.benchmarks")
    if mod is None:
        return None
    out: list[Section] = []
    levels = [
        lv for lv in overview.breakdown_levels(ctx.scope) if lv in ("region", "country", "agency")
    ]
    if levels:
        level = levels[-1]
        label = LEVEL_LABELS[level]
        league: pl.DataFrame = mod.league_table(ctx.frame, ctx.scope, ctx.filters, level)
        if not league.is_empty():
            view = league.select(
                pl.col("rank").cast(pl.String).fill_null("").alias("#"),
                pl.col(level).alias(label),
                pl.col("n").cast(pl.String).alias("n"),
                _num("nps").alias("NPS"),
                _num("vs_parent", signed=True).alias("vs parent"),
                _num("rank_change", signed=True, digits=0).alias("Rank move"),
                pl.when(pl.col("suppressed"))
                .then(pl.lit("hidden (n < 5)"))
                .when(pl.col("low_base"))
                .then(pl.lit("low base"))
                .when(pl.col("vs_parent_significant"))
                .then(pl.lit("significant gap"))
                .otherwise(pl.lit(""))
                .alias("Note"),
            )
            chart_fn = _chart(("cx.charts.benchmarks",), "league_chart")
            out.append(
                Section(
                    "league",
                    f"{label} league table",
                    mod.league_takeaway(league, level),
                    charts=(chart_fn(league, level, label),) if chart_fn else (),
                    tables=(cut(f"{label}s ranked by NPS, {ctx.wave}", view),),
                )
            )
    bench: pl.DataFrame = mod.attribute_benchmark(ctx.frame, ctx.scope, ctx.filters)
    if not bench.is_empty() and not ctx.scope.is_world:
        _, parent_label = mod.parent_of(ctx.frame, ctx.scope)
        own = scope_label(ctx.scope)
        view = bench.select(
            pl.col("label").alias("Measure"),
            _num("own_mean", digits=2).alias("Scope"),
            _num("parent_mean", digits=2).alias("Parent"),
            _num("diff_parent", signed=True, digits=2).alias("Δ parent"),
            _num("world_mean", digits=2).alias("World"),
            pl.when(pl.col("significant_parent").fill_null(False))
            .then(pl.lit("significant"))
            .otherwise(pl.lit(""))
            .alias("Note"),
        )
        chart_fn = _chart(("cx.charts.benchmarks",), "attribute_benchmark_chart")
        out.append(
            Section(
                "attribute_benchmark",
                f"{own} vs {parent_label or 'the world'}",
                mod.attribute_takeaway(bench, own),
                charts=(chart_fn(bench, own, parent_label),) if chart_fn else (),
                tables=(cut("NPS (points) and attributes (0-10)", view),),
            )
        )
    return out or None


QUOTES = 4
"""Verbatims quoted under the themes: the newest detractor comments on the costliest theme."""


def themes(ctx: ReportContext) -> list[Section] | None:
    """What customers talk about, how each theme moves NPS, and a few of their words (team voice).

    Quotes come from ``cx.voice.verbatims.verbatims``: masked by ``cx.core.privacy.mask_pii``, never from a cell
    of fewer than 5 responses.
    """
    mod = _module("cx.voice.verbatims")
    if mod is None:
        return None
    summary: pl.DataFrame = mod.theme_summary(ctx.frame, ctx.scope, ctx.filters)
    if summary.is_empty():
        return None
    shown = summary.filter(~pl.col("suppressed")).sort(
        ["mentions", "theme"], descending=[True, False]
    )
    view = shown.select(
        pl.col("label").alias("Theme"),
        pl.col("mentions").cast(pl.String).alias("Mentions"),
        ((pl.col("share") * 100).round(1).cast(pl.String) + pl.lit(" %"))
        .fill_null("–")
        .alias("Share"),
        _num("nps_with").alias("NPS with"),
        _num("nps_without").alias("NPS without"),
        _num("nps_impact", signed=True).alias("Impact"),
    )
    chart_fn = _chart(("cx.charts.voice",), "theme_impact_chart")
    out = [
        Section(
            "themes",
            "Comment themes",
            mod.themes_takeaway(summary),
            charts=(chart_fn(summary),) if chart_fn and shown.height else (),
            tables=(cut("Themes, most mentioned first", view),),
        )
    ]
    costly = shown.filter(pl.col("nps_impact") < 0).sort("nps_impact")
    if costly.height and _module("cx.core.privacy") is not None:
        theme, label = costly["theme"][0], costly["label"][0]
        quotes: pl.DataFrame = mod.verbatims(
            ctx.frame, ctx.scope, ctx.filters, theme=theme, score_band="detractor", limit=QUOTES
        )
        if not quotes.is_empty():
            lines = tuple(
                f"{r['agency']} · NPS {r['nps']}|“{_clip(r['comment'])}”"
                for r in quotes.iter_rows(named=True)
            )
            out.append(
                Section(
                    "quotes",
                    f"In their words: {label}",
                    f"The newest detractor comments on {label.lower()}, the theme that costs the most NPS "
                    "(personal data masked).",
                    highlights=lines,
                )
            )
    return out


def _clip(text: str, limit: int = 220) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def alerts(ctx: ReportContext) -> Section | None:
    """Attributes and entities that need attention now (team loop-A's detector)."""
    mod = _module("cx.loop.alerts")
    if mod is None:
        return None
    found: pl.DataFrame = mod.detect(ctx.frame, ctx.scope, ctx.filters)
    if found.is_empty():
        return Section("alerts", "Alerts", f"No alert in {ctx.wave} for this scope.")
    view = found.select(
        pl.col("entity").alias("Where"),
        pl.col("label").alias("Attribute"),
        _num("mean", digits=2).alias("Mean"),
        _num("score", digits=1).alias("Score"),
        pl.col("reasons").list.join(", ").str.replace_all("_", " ").alias("Reasons"),
    )
    many = f"{found.height} alerts" if found.height > 1 else "One alert"
    return Section(
        "alerts",
        "Alerts",
        f"{many}; the strongest: {found['sentence'][0]}",
        tables=(cut("Alerts, strongest first", view),),
    )


def plans(ctx: ReportContext) -> Section | None:
    """The action plans of the scope and where they stand (team plans' tracker)."""
    mod = _module("cx.improve.plans")
    if mod is None or ctx.engine is None:
        return None
    from cx import store

    with store.session(ctx.engine) as s:
        tracker: pl.DataFrame = mod.plan_tracker(s, ctx.scope, today=ctx.generated_at.date())
    if tracker.is_empty():
        return Section("plans", "Action plans", "No action plan in this scope yet.")
    view = tracker.sort(
        ["late", "due_date", "id"], descending=[True, False, False], nulls_last=True
    ).select(
        pl.col("title").alias("Plan"),
        pl.col("scope").alias("Scope"),
        pl.col("owner").alias("Owner"),
        pl.col("status").str.replace_all("_", " ").alias("Status"),
        (pl.col("progress").cast(pl.String) + pl.lit(" %")).fill_null("–").alias("Progress"),
        pl.col("due_date").cast(pl.String).fill_null("–").alias("Due"),
        pl.when(pl.col("late"))
        .then(pl.format("late {} d", pl.col("days_late")))
        .otherwise(pl.lit(""))
        .alias("Note"),
    )
    done = int((tracker["status"] == "done").sum())
    open_ = int(tracker["status"].is_in(["planned", "in_progress"]).sum())
    late = int(tracker["late"].sum())
    text = f"{tracker.height} plan(s): {open_} open, {late} late, {done} done."
    chart_fn = _chart(("cx.charts.plans",), "tracker_chart")
    chart_list = (
        (chart_fn(mod.tracker_counts(tracker, "owner"), "owner", "Owner"),) if chart_fn else ()
    )
    return Section(
        "plans",
        "Action plans",
        text,
        charts=chart_list,
        tables=(cut("Action plans, late first", view),),
    )


SectionBuilder = Callable[[ReportContext], "Section | list[Section] | None"]
SECTIONS: tuple[SectionBuilder, ...] = (
    key_figures,
    evolution,
    attribute_evolution,
    breakdowns,
    strengths_weaknesses,
    benchmarks,
    themes,
    alerts,
    plans,
)
"""The report's agenda, in order. A builder returns None when its area is not installed."""
CORE: frozenset[SectionBuilder] = frozenset({key_figures, evolution, breakdowns})
"""Builders on the foundation queries: their errors stop the report. Errors of another area's
section leave that section out and are listed on the cover (a report still goes out)."""


@dataclass(frozen=True)
class Report:
    """The built sections, ready to be written, and the sections left out (with the reason)."""

    ctx: ReportContext
    sections: list[Section]
    skipped: list[str]


def build_sections(
    frame: pl.LazyFrame, scope: Scope, filters: Filters, *, engine: Any = None, user_name: str = ""
) -> Report:
    """Run every section builder for the scope and filters (default wave: the latest)."""
    all_waves = tuple(overview.waves(frame))
    if not all_waves:
        raise ReportError("no waves in the data directory")
    f = filters if filters.wave else filters.with_wave(all_waves[-1])
    if f.wave not in all_waves:
        raise ReportError(f"unknown wave {f.wave!r}; waves are {', '.join(all_waves)}")
    ctx = ReportContext(frame, scope, f, all_waves, engine, user_name)
    sections: list[Section] = []
    skipped: list[str] = []
    for builder in SECTIONS:
        try:
            made = builder(ctx)
        except Exception as exc:
            if builder in CORE:
                raise
            skipped.append(
                f"{builder.__name__.replace('_', ' ')}: {exc.__class__.__name__}: {str(exc).splitlines()[0][:160]}"
            )
            continue
        if made is None:
            continue
        sections.extend(made if isinstance(made, list) else [made])
    if sections:
        # An executive summary up front: the takeaway of every section, one line each.
        summary = Section(
            "summary",
            "Summary",
            f"{scope_label(scope)}, {ctx.wave}: what the meeting needs to know.",
            highlights=tuple(
                f"{s.title}|{s.takeaway}" for s in sections if s.takeaway and s.key != "quotes"
            ),
        )
        sections.insert(0, summary)
    return Report(ctx, sections, skipped)


# ---------------------------------------------------------------- chart images


def chart_png(chart: Any, *, width: int = CHART_WIDTH, scale: float = 2.0) -> bytes:
    """The Altair chart as a PNG (white background), rendered by vl-convert without a browser."""
    sized = width and isinstance(chart, alt.Chart | alt.LayerChart)
    spec = chart.properties(width=width).to_dict() if sized else chart.to_dict()
    spec["background"] = "white"
    return _render(json.dumps(spec, sort_keys=True, default=str), scale)


@functools.lru_cache(maxsize=32)
def _render(spec: str, scale: float) -> bytes:
    """Rendering is the slow part; the PDF and the deck of one build share their images."""
    import vl_convert as vlc

    return bytes(vlc.vegalite_to_png(json.loads(spec), scale=scale))


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height of a PNG from its IHDR header."""
    w, h = struct.unpack(">II", png[16:24])
    return int(w), int(h)


# ---------------------------------------------------------------- PDF


INK = (31, 42, 68)
MUTED = (107, 114, 128)
BRAND = (47, 95, 208)
TINT = (243, 246, 253)


def _pdf_class() -> type:
    from fpdf import FPDF

    class ReportPDF(FPDF):  # type: ignore[misc]
        footer_text = ""

        def footer(self) -> None:
            self.set_y(-10)
            self.set_font("DejaVu", size=8)
            self.set_text_color(*MUTED)
            self.cell(0, 6, f"{self.footer_text}   ·   page {self.page_no()}", align="R")

    return ReportPDF


def _pdf_header(pdf: Any, title: str, takeaway: str) -> None:
    pdf.set_font("DejaVu", "B", 22)
    pdf.set_text_color(*INK)
    pdf.cell(0, 11, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_draw_color(*BRAND)
    pdf.set_line_width(0.8)
    pdf.line(pdf.l_margin, pdf.get_y() + 1, pdf.l_margin + 40, pdf.get_y() + 1)
    pdf.ln(4)
    if takeaway:
        pdf.set_fill_color(*TINT)
        pdf.set_font("DejaVu", size=13)
        pdf.multi_cell(
            0,
            7,
            takeaway,
            fill=True,
            padding=(3, 4, 3, 4),
            align="L",
            new_x="LMARGIN",
            new_y="NEXT",
        )
        pdf.ln(4)


def _pdf_figures(pdf: Any, figures: Sequence[Figure]) -> None:
    width = (pdf.epw - 6 * (len(figures) - 1)) / len(figures)
    top = pdf.get_y()
    for i, fig in enumerate(figures):
        x = pdf.l_margin + i * (width + 6)
        pdf.set_fill_color(*TINT)
        pdf.rect(x, top, width, 34, style="F")
        pdf.set_xy(x + 4, top + 3)
        pdf.set_font("DejaVu", "B", 11)
        pdf.set_text_color(*MUTED)
        pdf.cell(width - 8, 6, fig.label)
        pdf.set_xy(x + 4, top + 10)
        pdf.set_font("DejaVu", "B", 28)
        pdf.set_text_color(*INK)
        pdf.cell(width - 8, 13, fig.value)
        pdf.set_xy(x + 4, top + 25)
        pdf.set_font("DejaVu", size=10)
        pdf.set_text_color(*MUTED)
        pdf.cell(width - 8, 6, fig.note)
    pdf.set_y(top + 40)


def col_weights(df: pl.DataFrame) -> list[float]:
    """Relative column widths from the longest text of each column (header included)."""
    out = []
    for name in df.columns:
        longest = max([len(name), *(len(str(v)) for v in df[name].to_list() if v is not None)])
        out.append(float(min(max(longest, 3), 34)) + 2.5)  # + padding, so short numbers never wrap
    return out


def table_font(table: Table, *, side: bool = False) -> int:
    """Point size of a table: smaller beside a chart and for long tables."""
    return (10 if side else 11) - (table.frame.height > 10)


def _pdf_table(pdf: Any, table: Table, x: float, width: float, *, side: bool = False) -> None:
    from fpdf.fonts import FontFace

    pdf.set_x(x)
    pdf.set_font("DejaVu", "B", 12)
    pdf.set_text_color(*INK)
    pdf.cell(width, 8, table.title, new_x="LEFT", new_y="NEXT")
    size = table_font(table, side=side)
    pdf.set_font("DejaVu", size=size)
    pdf.set_draw_color(210, 216, 228)
    pdf.set_line_width(0.2)
    old_margin = pdf.l_margin
    pdf.set_left_margin(x)
    with pdf.table(
        width=min(width, pdf.epw),
        col_widths=col_weights(table.frame),
        align="LEFT",
        line_height=size * 0.62,
        headings_style=FontFace(emphasis="BOLD", color=INK, fill_color=(226, 232, 248)),
        cell_fill_color=(248, 250, 253),
        cell_fill_mode="ROWS",
        borders_layout="HORIZONTAL_LINES",
        text_align="LEFT",
        padding=1.2,
    ) as t:
        head = t.row()
        for c in table.frame.columns:
            head.cell(c)
        for values in table.frame.iter_rows():
            r = t.row()
            for v in values:
                r.cell("" if v is None else str(v))
    pdf.set_left_margin(old_margin)
    if table.hidden_rows:
        pdf.set_x(x)
        pdf.set_font("DejaVu", size=9)
        pdf.set_text_color(*MUTED)
        pdf.cell(
            width, 6, f"+ {table.hidden_rows} more row(s) in the app", new_x="LEFT", new_y="NEXT"
        )
    pdf.ln(4)


def _pdf_image(pdf: Any, png: bytes, x: float, y: float, max_w: float, max_h: float) -> float:
    """Place a PNG inside a box keeping its aspect ratio; return the height used."""
    import io

    w_px, h_px = png_size(png)
    w = max_w
    h = w * h_px / w_px
    if h > max_h:
        h = max_h
        w = h * w_px / h_px
    pdf.image(io.BytesIO(png), x=x, y=y, w=w, h=h)
    return h


PT_CHAR_MM = 0.23
"""Average width (mm) of one character per point of font size (DejaVu Sans, with bold headers)."""
PX_PER_MM = 3.7
"""Vega-Lite pixels per millimetre of page, so chart labels print at about 11 pt."""


def _pdf_section(pdf: Any, section: Section) -> None:
    pdf.add_page()
    _pdf_header(pdf, section.title, section.takeaway)
    if section.figures:
        _pdf_figures(pdf, section.figures)
    top = pdf.get_y()
    bottom = pdf.h - pdf.b_margin - 4
    if section.charts and section.tables and section.layout == "side":
        need = max(
            sum(col_weights(t.frame)) * PT_CHAR_MM * table_font(t, side=True)
            for t in section.tables
        )
        table_w = min(max(need, pdf.epw * 0.34), pdf.epw * 0.58)
        chart_w = pdf.epw - table_w - 8
        images = [chart_png(c, width=int(chart_w * PX_PER_MM)) for c in section.charts]
        y = top
        for png in images:
            y += _pdf_image(pdf, png, pdf.l_margin, y, chart_w, (bottom - top) / len(images)) + 4
        pdf.set_y(top)
        for table in section.tables:
            _pdf_table(pdf, table, pdf.l_margin + chart_w + 8, table_w, side=True)
        pdf.set_y(max(y, pdf.get_y()))
    else:
        images = [chart_png(c) for c in section.charts]
        y = top
        table_h = sum((t.frame.height + 2) * table_font(t) * 0.62 + 14 for t in section.tables)
        room = max(bottom - top - table_h, 60.0)
        for png in images:
            y += _pdf_image(pdf, png, pdf.l_margin, y, pdf.epw, room / len(images)) + 4
        pdf.set_y(y)
        for table in section.tables:
            _pdf_table(pdf, table, pdf.l_margin, pdf.epw)
    if section.highlights:
        size = 12 if len(section.highlights) <= 8 else 11
        for line in section.highlights:
            title, _, text = line.partition("|")
            pdf.set_x(pdf.l_margin)
            pdf.set_text_color(*BRAND)
            pdf.set_font("DejaVu", "B", size)
            pdf.cell(70, size * 0.5, title)
            pdf.set_text_color(*INK)
            pdf.set_font("DejaVu", size=size)
            pdf.multi_cell(0, size * 0.5, text, align="L", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
    if section.notes:
        pdf.set_font("DejaVu", size=10)
        pdf.set_text_color(*MUTED)
        for note in section.notes:
            pdf.set_x(pdf.l_margin)
            pdf.multi_cell(0, 5, note, align="L", new_x="LMARGIN", new_y="NEXT")


def _pdf_cover(
    pdf: Any, ctx: ReportContext, sections: Sequence[Section], skipped: Sequence[str]
) -> None:
    pdf.add_page()
    pdf.set_fill_color(*BRAND)
    pdf.rect(0, 0, pdf.w, 58, style="F")
    pdf.set_xy(pdf.l_margin, 16)
    pdf.set_text_color(255, 255, 255)
    pdf.set_font("DejaVu", "B", 34)
    pdf.cell(0, 16, "CX Review report", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", size=18)
    pdf.cell(0, 10, f"{scope_label(ctx.scope)} · {ctx.wave}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(66)
    pdf.set_text_color(*INK)
    pdf.set_font("DejaVu", size=13)
    pdf.cell(0, 8, filters_label(ctx.filters), new_x="LMARGIN", new_y="NEXT")
    by = f" for {ctx.user_name}" if ctx.user_name else ""
    pdf.set_text_color(*MUTED)
    pdf.cell(
        0, 8, f"Generated {ctx.generated_at:%Y-%m-%d %H:%M} UTC{by}", new_x="LMARGIN", new_y="NEXT"
    )
    pdf.ln(8)
    pdf.set_text_color(*INK)
    pdf.set_font("DejaVu", "B", 15)
    pdf.cell(0, 9, "Contents", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", size=13)
    for i, s in enumerate(sections, start=1):
        pdf.cell(0, 7, f"{i}.  {s.title}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("DejaVu", size=10)
    pdf.set_text_color(*MUTED)
    pdf.multi_cell(
        0,
        5,
        "NPS = % promoters (9-10) − % detractors (0-6), weighted. Margins of error are 95 % adjusted-Wald; "
        "a change is significant when |z| > 1.96. Low base: n < 30 (shown, never ranked). Cells with n < 5 are hidden.",
        align="L",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    if skipped:
        pdf.ln(2)
        pdf.multi_cell(
            0,
            5,
            "Not included (error while building): " + "; ".join(skipped),
            align="L",
            new_x="LMARGIN",
            new_y="NEXT",
        )


def write_pdf(report: Report, out: Path) -> Path:
    """The PDF: a cover, then one page per section (A4 landscape, projector-sized type)."""
    ctx, sections = report.ctx, report.sections
    pdf = _pdf_class()(orientation="L", unit="mm", format="A4")
    pdf.set_margins(12, 12, 12)
    pdf.set_auto_page_break(True, margin=14)
    pdf.add_font("DejaVu", "", str(FONT_REGULAR))
    pdf.add_font("DejaVu", "B", str(FONT_BOLD))
    pdf.footer_text = f"CX Review · {scope_label(ctx.scope)} · {filters_label(ctx.filters)}"
    pdf.set_title(f"CX Review report - {scope_label(ctx.scope)} - {ctx.wave}")
    pdf.set_creator("CX Review")
    _pdf_cover(pdf, ctx, sections, report.skipped)
    for section in sections:
        _pdf_section(pdf, section)
    pdf.output(str(out))
    return out


# ---------------------------------------------------------------- PowerPoint


def _pptx_text(
    slide: Any,
    text: str,
    left: float,
    top: float,
    width: float,
    height: float,
    *,
    size: int,
    bold: bool = False,
    color: tuple[int, int, int] = INK,
    fill: tuple[int, int, int] | None = None,
) -> None:
    from pptx.dml.color import RGBColor
    from pptx.util import Inches, Pt

    box = slide.shapes.add_textbox(Inches(left), Inches(top), Inches(width), Inches(height))
    if fill:
        box.fill.solid()
        box.fill.fore_color.rgb = RGBColor(*fill)
    frame = box.text_frame
    frame.word_wrap = True
    para = frame.paragraphs[0]
    para.text = text
    para.font.size = Pt(size)
    para.font.bold = bold
    para.font.color.rgb = RGBColor(*color)


def pptx_row_height(table: Table) -> float:
    """Inches per table row: 12 pt rows up to 10 rows, 10 pt rows beyond (14 rows fit a slide)."""
    return 0.34 if table.frame.height < 10 else 0.3


def _pptx_table(slide: Any, table: Table, left: float, top: float, width: float) -> None:
    from pptx.dml.color import RGBColor
    from pptx.util import Inches, Pt

    df = table.frame
    rows, cols = df.height + 1, len(df.columns)
    row_h = pptx_row_height(table)
    shape = slide.shapes.add_table(
        rows, cols, Inches(left), Inches(top), Inches(width), Inches(row_h * rows)
    )
    grid = shape.table
    for j, name in enumerate(df.columns):
        grid.cell(0, j).text = name
    for i, values in enumerate(df.iter_rows(), start=1):
        for j, v in enumerate(values):
            grid.cell(i, j).text = "" if v is None else str(v)
    for i in range(rows):
        for j in range(cols):
            para = grid.cell(i, j).text_frame.paragraphs[0]
            para.font.size = Pt(12 if rows <= 10 else 10)
            if i == 0:
                para.font.bold = True
                para.font.color.rgb = RGBColor(255, 255, 255)
    if table.hidden_rows:
        _pptx_text(
            slide,
            f"+ {table.hidden_rows} more row(s) in the app",
            left,
            top + row_h * rows + 0.05,
            width,
            0.3,
            size=10,
            color=MUTED,
        )


def _pptx_highlights(
    slide: Any, lines: Sequence[str], left: float, top: float, width: float
) -> None:
    """The summary: one paragraph per section, its title in brand colour, then its takeaway."""
    from pptx.dml.color import RGBColor
    from pptx.util import Inches, Pt

    box = slide.shapes.add_textbox(Inches(left), Inches(top), Inches(width), Inches(7.2 - top))
    frame = box.text_frame
    frame.word_wrap = True
    size = 15 if len(lines) <= 8 else 13
    for i, line in enumerate(lines):
        title, _, text = line.partition("|")
        para = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        para.space_after = Pt(6)
        head = para.add_run()
        head.text = f"{title}: "
        head.font.bold = True
        head.font.size = Pt(size)
        head.font.color.rgb = RGBColor(*BRAND)
        body = para.add_run()
        body.text = text
        body.font.size = Pt(size)
        body.font.color.rgb = RGBColor(*INK)


def write_pptx(report: Report, out: Path) -> Path:
    """The deck: a title slide, then one slide per agenda screen with native tables and chart images."""
    ctx, sections = report.ctx, report.sections
    import io

    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    deck.slide_width, deck.slide_height = Inches(13.333), Inches(7.5)
    blank = deck.slide_layouts[6]
    title_slide = deck.slides.add_slide(blank)
    _pptx_text(title_slide, "CX Review report", 0.8, 2.3, 11.5, 1.0, size=40, bold=True)
    _pptx_text(
        title_slide,
        f"{scope_label(ctx.scope)} · {ctx.wave}",
        0.8,
        3.4,
        11.5,
        0.7,
        size=24,
        color=BRAND,
    )
    _pptx_text(
        title_slide,
        f"{filters_label(ctx.filters)} · generated {ctx.generated_at:%Y-%m-%d}",
        0.8,
        4.2,
        11.5,
        0.5,
        size=14,
        color=MUTED,
    )
    if report.skipped:
        _pptx_text(
            title_slide,
            "Not included (error while building): " + "; ".join(report.skipped),
            0.8,
            5.2,
            11.5,
            1.0,
            size=11,
            color=MUTED,
        )
    for section in sections:
        slide = deck.slides.add_slide(blank)
        _pptx_text(slide, section.title, 0.5, 0.3, 12.3, 0.7, size=30, bold=True)
        _pptx_text(slide, section.takeaway, 0.5, 1.05, 12.3, 0.8, size=16, fill=TINT)
        top = 2.05
        if section.figures:
            w = 12.3 / len(section.figures)
            for i, fig in enumerate(section.figures):
                x = 0.5 + i * w
                _pptx_text(slide, fig.label, x, top, w - 0.2, 0.4, size=14, bold=True, color=MUTED)
                _pptx_text(slide, fig.value, x, top + 0.4, w - 0.2, 0.8, size=40, bold=True)
                _pptx_text(slide, fig.note, x, top + 1.25, w - 0.2, 0.4, size=12, color=MUTED)
            top += 1.85
        avail_h = 7.2 - top
        chart_w = 12.3
        if section.tables and section.charts:
            need = max(sum(col_weights(t.frame)) * PT_CHAR_MM * 12 / 25.4 for t in section.tables)
            chart_w = 12.3 - 0.3 - min(max(need, 4.5), 7.3)
        images = [
            chart_png(c, width=int(chart_w * 80) if section.tables else CHART_WIDTH)
            for c in section.charts
        ]
        y = top
        for png in images:
            w_px, h_px = png_size(png)
            w = chart_w
            h = w * h_px / w_px
            if h > avail_h / len(images):
                h = avail_h / len(images)
                w = h * w_px / h_px
            slide.shapes.add_picture(io.BytesIO(png), Inches(0.5), Inches(y), Inches(w), Inches(h))
            y += h + 0.1
        x = 0.5 + chart_w + 0.3 if images else 0.5
        tw = 12.3 - (chart_w + 0.3) if images else 12.3
        ty = top
        for table in section.tables:
            _pptx_text(slide, table.title, x, ty, tw, 0.35, size=14, bold=True)
            _pptx_table(slide, table, x, ty + 0.4, tw)
            ty += 0.4 + pptx_row_height(table) * (table.frame.height + 1) + 0.45
        if section.highlights:
            _pptx_highlights(slide, section.highlights, 0.5, top, 12.3)
        if section.notes:
            _pptx_text(slide, " ".join(section.notes), 0.5, 6.85, 12.3, 0.4, size=11, color=MUTED)
    deck.save(str(out))
    return out


# ---------------------------------------------------------------- entry point


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
    from cx.reports.infographic import write_infographic

    return write_infographic(frame, scope, filters, Path(out))


def report_files(
    frame: pl.LazyFrame, scope: Scope, filters: Filters, *, engine: Any = None, user_name: str = ""
) -> dict[str, tuple[str, bytes]]:
    """Every download of the Reports screen from one build: ``{kind: (file name, bytes)}``.

    Kinds: ``pdf``, ``pptx`` (the report), ``png`` and ``infographic_pdf`` (the infographic).
    """
    from cx.reports.infographic import write_infographic

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
