"""The report's agenda: one builder per section, from the same queries and charts as the screens.

Every row comes through the scope (``cx.analytics.overview`` and the areas' query functions, which
restrict first); the only comments quoted are ``cx.voice.verbatims.quotes``, masked by
``cx.core.privacy.mask_pii``. A failing section of another area is left out and named on the cover.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl

from cx import charts, store
from cx.analytics import benchmarks, drivers, evolution, overview, takeaways
from cx.core import labels
from cx.core.filters import Filters
from cx.core.labels import LEVEL_LABELS, QUADRANT_LABELS
from cx.core.scope import Scope
from cx.improve import plans
from cx.loop import alerts
from cx.reports.layout import paginate
from cx.reports.model import (
    Figure,
    Report,
    ReportContext,
    ReportError,
    Section,
    clip,
    cut,
    points,
    scope_label,
)
from cx.voice import verbatims


def _num(col: str, signed: bool = False, digits: int = 1) -> pl.Expr:
    """A number column as display text, rounded (``+`` when ``signed``); a missing value is ``–``."""
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
        labels.change_note().alias("Note"),
    )


def trend_view(trend: pl.DataFrame) -> pl.DataFrame:
    """The NPS trend as on screen: wave, n, NPS, ± MoE, change, note."""
    return trend.select(
        pl.col("wave").alias("Wave"),
        pl.col("n").cast(pl.String).alias("n"),
        _num("nps").alias("NPS"),
        _num("nps_moe").alias("± MoE"),
        _num("change", signed=True).alias("Change"),
        labels.change_note().alias("Note"),
    )


def key_figures_section(ctx: ReportContext) -> Section:
    """NPS with its margin of error, the change vs the previous wave, the base and CSAT."""
    head = overview.headline(ctx.frame, ctx.scope, ctx.filters)
    levels = overview.breakdown_levels(ctx.scope)
    first = overview.breakdown(ctx.frame, ctx.scope, ctx.filters, levels[0]) if levels else None
    row = head.row(0, named=True)
    if row["suppressed"]:
        nps = Figure("NPS", "hidden", "fewer than 5 responses")
    else:
        nps = Figure("NPS", points(row["nps"]), f"± {row['nps_moe']:.1f} (95 % margin)")
    if row["change"] is None:
        change = Figure("Change", "–", "no earlier wave")
    else:
        change = Figure(
            f"Change vs {row['prev_wave']}",
            points(row["change"], signed=True),
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


def evolution_section(ctx: ReportContext) -> Section:
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


def attribute_evolution_section(ctx: ReportContext) -> Section | None:
    """Attribute means of the wave with their change and significance."""
    trend = evolution.attribute_trend(ctx.frame, ctx.scope, ctx.filters)
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
    return Section(
        "attribute_evolution",
        "Attributes over time",
        evolution.takeaway(nps, trend, ctx.wave),
        charts=(charts.attribute_trend_chart(trend, columns=4),),
        tables=(cut(f"Attributes in {ctx.wave}", view),),
        layout="split",  # the small multiples need the whole page to be read from the back
    )


def breakdowns_section(ctx: ReportContext) -> list[Section]:
    """One section per level below the scope (regions and countries for the world, …)."""
    out = []
    for level in overview.breakdown_levels(ctx.scope):
        df = labels.shown_values(
            overview.breakdown(ctx.frame, ctx.scope, ctx.filters, level), level
        )
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
            text = f"{labels.count(df.height, level)} in scope; too few with n ≥ 30 to rank."
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


def strengths_weaknesses_section(ctx: ReportContext) -> Section | None:
    """Key drivers: importance × performance quadrants."""
    found = drivers.key_drivers(ctx.frame, ctx.scope, ctx.filters)
    if found.is_empty():
        return None
    view = found.select(
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
    return Section(
        "strengths_weaknesses",
        "Strengths & weaknesses",
        drivers.takeaway(found),
        charts=(charts.quadrant_chart(found),),
        tables=(cut("Key drivers, most important first", view),),
    )


def benchmarks_section(ctx: ReportContext) -> list[Section] | None:
    """The level below ranked against its parent; the scope's attributes vs its parent and the world."""
    out: list[Section] = []
    levels = [
        lv for lv in overview.breakdown_levels(ctx.scope) if lv in ("region", "country", "agency")
    ]
    if levels:
        level = levels[-1]
        label = LEVEL_LABELS[level]
        league = benchmarks.league_table(ctx.frame, ctx.scope, ctx.filters, level)
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
            out.append(
                Section(
                    "league",
                    f"{label} league table",
                    benchmarks.league_takeaway(league, level),
                    charts=(charts.league_chart(league, level, label),),
                    tables=(cut(f"Ranked by NPS, {ctx.wave}", view),),
                )
            )
    bench = benchmarks.attribute_benchmark(ctx.frame, ctx.scope, ctx.filters)
    if not bench.is_empty() and not ctx.scope.is_world:
        _, parent_label = benchmarks.parent_of(ctx.frame, ctx.scope)
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
        out.append(
            Section(
                "attribute_benchmark",
                f"{own} vs {parent_label or 'the world'}",
                benchmarks.attribute_takeaway(bench, own),
                charts=(charts.attribute_benchmark_chart(bench, own, parent_label),),
                tables=(cut("NPS (points) and attributes (0-10)", view),),
            )
        )
    return out or None


QUOTES = 4
"""Verbatims quoted under the themes: distinct detractor comments about the costliest theme."""


def themes_section(ctx: ReportContext) -> list[Section] | None:
    """What customers talk about, how each theme moves NPS, and a few of their words.

    Quotes come from ``cx.voice.verbatims.quotes``: about the theme, each text once, masked by
    ``cx.core.privacy.mask_pii``, never from a cell of fewer than 5 responses.
    """
    summary = verbatims.theme_summary(ctx.frame, ctx.scope, ctx.filters)
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
    out = [
        Section(
            "themes",
            "Comment themes",
            verbatims.themes_takeaway(summary),
            charts=(charts.theme_impact_chart(summary),) if shown.height else (),
            tables=(cut("Themes, most mentioned first", view),),
        )
    ]
    costly = shown.filter(pl.col("nps_impact") < 0).sort("nps_impact")
    if costly.height:
        theme, label = costly["theme"][0], costly["label"][0]
        # About the theme, each text once (one page never quotes the same words twice).
        quotes = verbatims.quotes(ctx.frame, ctx.scope, ctx.filters, theme, limit=QUOTES)
        if not quotes.is_empty():
            lines = tuple(
                f"{r['agency']} · NPS {r['nps']}|“{clip(r['comment'])}”"
                for r in quotes.iter_rows(named=True)
            )
            out.append(
                Section(
                    "quotes",
                    f"In their words: {label}",
                    f"Detractors on {label.lower()}, the theme that costs the most NPS: the newest "
                    "comments about it, each once (personal data masked).",
                    highlights=lines,
                )
            )
    return out


def alerts_section(ctx: ReportContext) -> Section | None:
    """Attributes and entities that need attention now (the alert detector)."""
    found = alerts.detect(ctx.frame, ctx.scope, ctx.filters)
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


def plans_section(ctx: ReportContext) -> Section | None:
    """The action plans of the scope and where they stand (needs the store: none without one)."""
    if ctx.engine is None:
        return None
    with store.session(ctx.engine) as s:
        tracker = plans.plan_tracker(s, ctx.scope, today=ctx.generated_at.date())
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
    text = f"{labels.count(tracker.height, 'plan')}: {open_} open, {late} late, {done} done."
    return Section(
        "plans",
        "Action plans",
        text,
        charts=(charts.tracker_chart(plans.tracker_counts(tracker, "owner"), "owner", "Owner"),),
        tables=(cut("Action plans, late first", view),),
    )


def touchpoints_section(ctx: ReportContext) -> Section | None:
    """Relational vs transactional NPS side by side, with each touchpoint's drag on the
    relationship (``cx.analytics.touchpoints``; the touchpoint filter is ignored, as on screen)."""
    from cx.analytics import touchpoints
    from cx.charts.touchpoints import touchpoint_nps_chart

    side = touchpoints.side_by_side(ctx.frame, ctx.scope, ctx.filters)
    if side.is_empty():
        return None
    dragged = touchpoints.drag(ctx.frame, ctx.scope, ctx.filters)
    view = side.join(
        dragged.select(pl.col("touchpoint").alias(touchpoints.MOMENT), "gap"),
        on=touchpoints.MOMENT,
        how="left",
        maintain_order="left",
    ).select(
        pl.col("label").alias("Survey"),
        pl.col("n").cast(pl.String).alias("n"),
        _num("nps").alias("NPS"),
        _num("nps_moe").alias("± MoE"),
        _num("change", signed=True).alias("Δ prev."),
        labels.change_note().alias("Note"),
        pl.col("gap").round(0).cast(pl.Int64).cast(pl.String).fill_null("–").alias("Drag"),
    )
    return Section(
        "touchpoints",
        "Relational vs transactional",
        touchpoints.finding(side, dragged),
        charts=(touchpoint_nps_chart(side),) if not side["suppressed"].all() else (),
        tables=(
            cut(
                f"{ctx.wave}; drag = relational NPS after a promoter minus after a detractor "
                "touchpoint answer (30+ customers paired)",
                view,
            ),
        ),
        layout="stack",
    )


SectionBuilder = Callable[[ReportContext], "Section | list[Section] | None"]
SECTIONS: tuple[SectionBuilder, ...] = (
    key_figures_section,
    evolution_section,
    attribute_evolution_section,
    breakdowns_section,
    touchpoints_section,
    strengths_weaknesses_section,
    benchmarks_section,
    themes_section,
    alerts_section,
    plans_section,
)
"""The report's agenda, in order. A builder returns None when it has nothing to show for the scope."""
CORE: frozenset[SectionBuilder] = frozenset(
    {key_figures_section, evolution_section, breakdowns_section}
)
"""Builders on the foundation queries: their errors stop the report. Errors of another area's
section leave that section out and are listed on the cover (a report still goes out)."""


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
            name = builder.__name__.removesuffix("_section").replace("_", " ")
            skipped.append(f"{name}: {exc.__class__.__name__}: {str(exc).splitlines()[0][:160]}")
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
    # One page per section, each built to fit: long tables split, text-only sections left out.
    return Report(ctx, paginate(sections), skipped)
