"""Review-meeting mode: agendas of screens, one idea per screen, computed from the user's scope.

A screen is a pure function ``(MeetingContext) -> Slide``: a title, a one-sentence takeaway
computed from data, a few big figures and one chart or one short table. ``screens/meeting.py``
renders slides; nothing here imports Streamlit. Screens reuse the other areas' queries when their
module is installed (drivers, benchmarks, alerts, cases) and are left out of agendas otherwise.
Agendas are editable per scope and stored in the ``Agenda`` table (built-in ones are the default).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import altair as alt
import polars as pl
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from cx import charts, store
from cx.analytics import benchmarks, drivers, evolution, overview, takeaways
from cx.core import labels, metrics
from cx.core.data import previous_wave, same_wave_last_year
from cx.core.filters import Filters
from cx.core.roles import DASHBOARD_READERS
from cx.core.scope import Scope
from cx.core.users import User
from cx.improve import plans
from cx.loop import alerts, cases
from cx.store.models import Agenda
from cx.voice import verbatims

KINDS = ("weekly", "quarterly")
COMPARE = {"previous": "previous wave", "last_year": "same wave last year"}
BUILT_IN: dict[str, tuple[str, ...]] = {
    "weekly": ("last_week", "alerts", "cases", "plans_due"),
    "quarterly": (
        "nps",
        "evolution",
        "drivers",
        "benchmarks",
        "themes",
        "theme_trend",
        "plan_results",
    ),
}


class AgendaError(ValueError):
    """A bad agenda (unknown kind or screen, empty list) or a user who may not edit it."""


# ---------------------------------------------------------------- slides


@dataclass(frozen=True)
class Figure:
    """One big number: label, value, and an optional small line under it."""

    label: str
    value: str
    note: str | None = None


@dataclass(frozen=True)
class Slide:
    """One idea: the title, a takeaway sentence, up to four figures, one chart or one table."""

    screen: str
    title: str
    takeaway: str
    figures: tuple[Figure, ...] = ()
    chart: alt.TopLevelMixin | None = None
    table: pl.DataFrame | None = None
    note: str = ""


@dataclass(frozen=True)
class MeetingContext:
    """What every screen may read: the responses, the scope, the filters, the store and the comparison."""

    frame: pl.LazyFrame
    scope: Scope
    filters: Filters
    compare: str = "previous"
    engine: Engine | None = None
    now: datetime = field(default_factory=store.utcnow)

    @property
    def waves(self) -> list[str]:
        return overview.waves(self.frame)

    @property
    def wave(self) -> str:
        return self.filters.wave or self.waves[-1]

    @property
    def compare_wave(self) -> str | None:
        """The wave to compare with: the previous one, or the same one a year before."""
        if self.compare == "last_year":
            return same_wave_last_year(self.waves, self.wave)
        return previous_wave(self.waves, self.wave)


@dataclass(frozen=True)
class Screen:
    id: str
    title: str
    build: Callable[[MeetingContext], Slide]
    store: bool = False


def _fmt(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+.1f}".replace("-", "−") if signed else f"{value:.1f}"


# ---------------------------------------------------------------- queries of the weekly screens


def _last_days(rows: pl.LazyFrame) -> pl.LazyFrame:
    """Rows of the last 14 days of data, labelled ``last_7_days`` / ``previous_7_days``."""
    day = pl.col("responded_at").dt.date()
    last = day.max()
    return rows.with_columns(
        day=day,
        last_day=last,
        period=pl.when(day > last - pl.duration(days=7))
        .then(pl.lit("last_7_days"))
        .when(day > last - pl.duration(days=14))
        .then(pl.lit("previous_7_days")),
    ).filter(pl.col("period").is_not_null())


def last_week(frame: pl.LazyFrame, scope: Scope, filters: Filters) -> pl.DataFrame:
    """NPS of the last 7 days of data (relative to the scope's last response) vs the 7 days before.

    One row: first/last day, n, promoters, detractors, nps, nps_moe and the same ``prev_`` figures,
    ``change`` and ``significant``. The wave filter is ignored (a week may straddle two waves).
    """
    rows = _last_days(overview.scoped(frame, scope, filters.with_wave(None)))
    per = (
        rows.group_by("period")
        .agg(*metrics.nps_aggs(), first_day=pl.col("day").min(), last_day=pl.col("day").max())
        .collect()
    )
    empty = {
        "n": 0,
        "promoters": 0,
        "detractors": 0,
        "nps": None,
        "nps_moe": None,
        "first_day": None,
        "last_day": None,
    }
    now = (per.filter(pl.col("period") == "last_7_days").to_dicts() or [empty])[0]
    prev = (per.filter(pl.col("period") == "previous_7_days").to_dicts() or [empty])[0]
    out: dict[str, Any] = {k: now[k] for k in empty} | {
        f"prev_{k}": prev[k] for k in ("n", "nps", "nps_moe")
    }
    for key, row in (("", now), ("prev_", prev)):
        if row["n"] < metrics.SUPPRESS_BELOW:
            out[f"{key}nps"] = out[f"{key}nps_moe"] = None
            if not key:
                out["promoters"] = out["detractors"] = None
    ok = out["nps"] is not None and out["prev_nps"] is not None
    out["change"] = out["nps"] - out["prev_nps"] if ok else None
    out["significant"] = bool(
        ok
        and out["n"] >= metrics.LOW_BASE
        and out["prev_n"] >= metrics.LOW_BASE
        and metrics.z_scalar(out["nps"], out["nps_moe"], out["prev_nps"], out["prev_nps_moe"])
        > metrics.Z95
    )
    return pl.DataFrame(
        [out],
        schema_overrides={
            "first_day": pl.Date,
            "last_day": pl.Date,
            "nps": pl.Float64,
            "nps_moe": pl.Float64,
            "prev_nps": pl.Float64,
            "prev_nps_moe": pl.Float64,
            "change": pl.Float64,
            "promoters": pl.Int64,
            "detractors": pl.Int64,
        },
    )


def last_week_daily(frame: pl.LazyFrame, scope: Scope, filters: Filters) -> pl.DataFrame:
    """Responses per day over the last 7 days of data; the split is hidden on days with n < 5."""
    hide = pl.col("n") < metrics.SUPPRESS_BELOW
    return (
        _last_days(overview.scoped(frame, scope, filters.with_wave(None)))
        .filter(pl.col("period") == "last_7_days")
        .group_by("day")
        .agg(
            n=pl.len(),
            promoters=metrics.is_promoter().sum(),
            passives=metrics.is_passive().sum(),
            detractors=metrics.is_detractor().sum(),
        )
        .with_columns(
            [
                pl.when(hide).then(None).otherwise(pl.col(c)).alias(c)
                for c in ("promoters", "passives", "detractors")
            ]
            + [pl.when(hide).then(pl.col("n")).otherwise(None).alias("hidden")]
        )
        .sort("day")
        .collect()
    )


# ---------------------------------------------------------------- screens


def _nps(ctx: MeetingContext) -> Slide:
    head = overview.headline(
        ctx.frame, ctx.scope, ctx.filters.with_wave(ctx.wave), compare_to=ctx.compare_wave
    )
    row = head.row(0, named=True)
    figures = [
        Figure(
            "NPS",
            "hidden" if row["suppressed"] else _fmt(row["nps"]),
            None if row["suppressed"] else f"± {row['nps_moe']:.1f} (95 % margin)",
        )
    ]
    if row["change"] is not None:
        figures.append(
            Figure(
                f"vs {row['prev_wave']}",
                _fmt(row["change"], signed=True),
                "significant" if row["significant"] else "not significant",
            )
        )
    else:
        figures.append(Figure("Change", "–", f"no {COMPARE[ctx.compare]} in the data"))
    figures.append(
        Figure("Responses", f"{row['n']:,}", "low base (n < 30)" if row["low_base"] else None)
    )
    return Slide(
        "nps",
        f"NPS {ctx.wave}",
        takeaways.overview_takeaway(head),
        tuple(figures),
        chart=None if row["suppressed"] else charts.shares_chart(head),
    )


def _evolution(ctx: MeetingContext) -> Slide:
    trend = overview.nps_trend(ctx.frame, ctx.scope, ctx.filters)
    text = evolution.takeaway(
        trend,
        evolution.attribute_trend(ctx.frame, ctx.scope, ctx.filters.with_wave(ctx.wave)),
        ctx.wave,
    )
    return Slide(
        "evolution", "NPS over the waves", text, chart=charts.nps_trend_chart(trend, title="")
    )


def _drivers(ctx: MeetingContext) -> Slide:
    df = drivers.key_drivers(ctx.frame, ctx.scope, ctx.filters.with_wave(ctx.wave))
    return Slide(
        "drivers",
        f"Strengths and weaknesses {ctx.wave}",
        drivers.takeaway(df),
        chart=charts.drivers_chart(df) if df.height and not df["low_base"][0] else None,
    )


def _benchmarks(ctx: MeetingContext) -> Slide:
    f = ctx.filters.with_wave(ctx.wave)
    if ctx.scope.top_level == "agency":
        df = benchmarks.attribute_benchmark(ctx.frame, ctx.scope, f)
        own = ", ".join(ctx.scope.values("agency"))
        parent = df["parent"][0] if df.height else None
        return Slide(
            "benchmarks",
            f"{own} vs {parent or 'the world'}",
            benchmarks.attribute_takeaway(df, own),
            chart=charts.attribute_benchmark_chart(df, own, parent) if df.height else None,
        )
    level = "agency" if ctx.scope.top_level == "country" else "country"
    df = benchmarks.league_table(ctx.frame, ctx.scope, f, level)
    label = labels.LEVEL_LABELS[level]
    return Slide(
        "benchmarks",
        f"{label} league {ctx.wave}",
        benchmarks.league_takeaway(df, level),
        chart=charts.league_chart(df, level, label) if df.height else None,
    )


def _breakdown(ctx: MeetingContext) -> Slide:
    levels = overview.breakdown_levels(ctx.scope)
    if not levels:
        return Slide("breakdown", "Breakdown", "Nothing to break down in this scope.")
    level = levels[-1] if ctx.scope.top_level == "world" else levels[0]
    df = overview.breakdown(
        ctx.frame, ctx.scope, ctx.filters.with_wave(ctx.wave), level, compare_to=ctx.compare_wave
    )
    head = overview.headline(
        ctx.frame, ctx.scope, ctx.filters.with_wave(ctx.wave), compare_to=ctx.compare_wave
    )
    label = labels.LEVEL_LABELS.get(level, level)
    return Slide(
        "breakdown",
        f"NPS by {label.lower()} {ctx.wave}",
        takeaways.overview_takeaway(head, df),
        chart=charts.nps_bar_chart(df, level, label) if df.height else None,
    )


def _themes(ctx: MeetingContext) -> Slide:
    summary = verbatims.theme_summary(ctx.frame, ctx.scope, ctx.filters.with_wave(ctx.wave))
    enough = not summary.is_empty() and summary["n_comments"][0] >= metrics.SUPPRESS_BELOW
    return Slide(
        "themes",
        f"What customers talk about {ctx.wave}",
        verbatims.themes_takeaway(summary),
        chart=charts.theme_impact_chart(summary) if enough else None,
    )


def _theme_trend(ctx: MeetingContext) -> Slide:
    trend = verbatims.theme_trend(ctx.frame, ctx.scope, ctx.filters.with_wave(ctx.wave))
    return Slide(
        "theme_trend",
        "Themes over the waves",
        theme_trend_takeaway(trend, ctx.wave),
        chart=charts.theme_trend_chart(trend) if not trend.is_empty() else None,
    )


def theme_trend_takeaway(trend: pl.DataFrame, wave: str) -> str:
    """E.g. "In 2026-Q3, Cleanliness rose significantly to 20 % of comments (+3 points vs the wave before)."."""
    moves = trend.filter((pl.col("wave") == wave) & pl.col("significant")).sort(["change", "label"])
    if moves.is_empty():
        return f"In {wave}, no theme's share of comments changed significantly vs the wave before."
    parts = []
    for row in (moves.row(-1, named=True), moves.row(0, named=True)):
        verb = "rose" if row["change"] > 0 else "fell"
        part = f"{row['label']} {verb} significantly to {100 * row['share']:.0f} % of comments ({100 * row['change']:+.0f} points)"
        if part not in parts:
            parts.append(part)
    return f"In {wave}, " + "; ".join(parts) + " vs the wave before."


def _alerts(ctx: MeetingContext) -> Slide:
    df = alerts.detect(ctx.frame, ctx.scope, ctx.filters.with_wave(ctx.wave))
    if df.is_empty():
        return Slide("alerts", f"Alerts {ctx.wave}", f"No alert in {ctx.wave} for this scope.")
    top = df.head(5)
    text = f"{df.height} alert{'s' if df.height > 1 else ''} in {ctx.wave}; the strongest: {top['sentence'][0]}"
    table = top.select(
        pl.col("entity").alias("Where"),
        pl.col("label").alias("Attribute"),
        pl.col("mean").round(1).alias("Score"),
        pl.col("sentence").alias("Why"),
    )
    return Slide(
        "alerts", f"Alerts {ctx.wave}", text, (Figure("Alerts", f"{df.height:,}"),), table=table
    )


def _cases(ctx: MeetingContext) -> Slide:
    since = ctx.now - timedelta(days=7)
    with store.session(ctx.engine) as s:  # type: ignore[arg-type]
        found = cases.list_cases(s, ctx.scope)
    opened = sum(1 for c in found if c.created_at >= since)
    closed = sum(1 for c in found if c.closed_at is not None and c.closed_at >= since)
    open_ = [c for c in found if c.is_open]
    late = sum(1 for c in open_ if c.close_due_at < ctx.now)
    text = (
        f"{opened} new complaint case{'s' if opened != 1 else ''} and {closed} closed in the last 7 days; "
        f"{len(open_)} still open, {late} past the closing deadline."
    )
    figures = (
        Figure("New (7 days)", f"{opened:,}"),
        Figure("Closed (7 days)", f"{closed:,}"),
        Figure("Open", f"{len(open_):,}"),
        Figure("Past deadline", f"{late:,}"),
    )
    return Slide("cases", "Complaints and cases", text, figures)


def _last_week(ctx: MeetingContext) -> Slide:
    row = last_week(ctx.frame, ctx.scope, ctx.filters).row(0, named=True)
    if row["n"] == 0:
        return Slide(
            "last_week", "Last week", "No responses in the last 7 days of data for this scope."
        )
    when = f"{row['first_day']:%d %b} – {row['last_day']:%d %b %Y}"
    if row["nps"] is None:
        text = f"Only {row['n']} responses in the last 7 days of data ({when}): too few to show a score."
    else:
        text = f"In the last 7 days of data ({when}), {row['n']:,} customers answered: NPS {row['nps']:.1f} ± {row['nps_moe']:.1f}"
        if row["change"] is not None:
            text += (
                f", {'up' if row['change'] > 0 else 'down'} {abs(row['change']):.1f} vs the 7 days before "
                f"({'a significant change' if row['significant'] else 'not a significant change'})"
            )
        text += (
            f"; {row['detractors']:,} detractors to call back."
            if row["detractors"] is not None
            else "."
        )
    figures = (
        Figure("Responses (7 days)", f"{row['n']:,}"),
        Figure("NPS", _fmt(row["nps"]), None if row["nps"] is None else f"± {row['nps_moe']:.1f}"),
        Figure(
            "vs 7 days before",
            _fmt(row["change"], signed=True),
            None
            if row["change"] is None
            else ("significant" if row["significant"] else "not significant"),
        ),
        Figure("Detractors", "–" if row["detractors"] is None else f"{row['detractors']:,}"),
    )
    daily = last_week_daily(ctx.frame, ctx.scope, ctx.filters)
    return Slide(
        "last_week",
        "Last week's responses",
        text,
        figures,
        chart=charts.daily_responses_chart(daily),
    )


def _plans_due(ctx: MeetingContext) -> Slide:
    today = ctx.now.astimezone(UTC).date()
    with store.session(ctx.engine) as s:  # type: ignore[arg-type]
        due = plans.plans_due(s, ctx.scope, within_days=7, today=today)
    if not due:
        return Slide(
            "plans_due",
            "Action plans due",
            "No action plan is due in the next 7 days, and none is late.",
        )
    late = [p for p in due if p.due_date and p.due_date < today]
    text = f"{len(due)} action plan{'s' if len(due) > 1 else ''} due in the next 7 days"
    if late:
        worst = min(late, key=lambda p: (p.due_date, p.id))
        text += f", {len(late)} late; the oldest: “{worst.title}” ({plans.scope_label(worst)}, {(today - worst.due_date).days} days late)"  # type: ignore[operator]
    table = pl.DataFrame(
        {
            "Plan": [p.title for p in due],
            "Scope": [plans.scope_label(p) for p in due],
            "Owner": [p.owner for p in due],
            "Due": [str(p.due_date) for p in due],
            "Progress %": [p.progress for p in due],
            "Late": ["late" if p in late else "" for p in due],
        }
    )
    return Slide(
        "plans_due",
        "Action plans due",
        text + ".",
        (Figure("Due", f"{len(due)}"), Figure("Late", f"{len(late)}")),
        table=table,
    )


def plan_results(ctx: MeetingContext, limit: int = 8) -> pl.DataFrame:
    """Approved plans with a target: baseline before the plan, latest value, change, target met."""
    with store.session(ctx.engine) as s:  # type: ignore[arg-type]
        chosen = [
            p
            for p in plans.list_plans(s, ctx.scope, status=("planned", "in_progress", "done"))
            if p.approval == "approved" and p.target_attribute and p.target_value is not None
        ][:limit]
    rows = []
    for p in chosen:
        effect = plans.plan_effect(ctx.frame, p).filter(~pl.col("suppressed"))
        before, latest = effect.filter(pl.col("phase") == "before"), effect.tail(1)
        rows.append(
            {
                "Plan": p.title,
                "Scope": plans.scope_label(p),
                "Target": plans.target_text(p),
                "Status": p.status,
                "Before": before["value"][-1] if before.height else None,
                "Latest": latest["value"][0] if latest.height else None,
                "Latest wave": latest["wave"][0] if latest.height else None,
                "Change": latest["change"][0] if latest.height else None,
                "Significant": bool(latest["significant"][0]) if latest.height else False,
                "Target met": latest["met"][0] if latest.height else None,
            }
        )
    schema = {
        "Plan": pl.String,
        "Scope": pl.String,
        "Target": pl.String,
        "Status": pl.String,
        "Before": pl.Float64,
        "Latest": pl.Float64,
        "Latest wave": pl.String,
        "Change": pl.Float64,
        "Significant": pl.Boolean,
        "Target met": pl.Boolean,
    }
    return pl.DataFrame(rows, schema=schema)


def _plan_results(ctx: MeetingContext) -> Slide:
    df = plan_results(ctx)
    if df.is_empty():
        return Slide(
            "plan_results",
            "Action-plan results",
            "No approved action plan with a measurable target in this scope yet.",
        )
    met = int(df["Target met"].fill_null(False).sum())
    text = f"{met} of {df.height} approved plan{'s' if df.height > 1 else ''} with a target {'has' if df.height == 1 else 'have'} reached it"
    ups = df.filter(pl.col("Significant") & (pl.col("Change") > 0))
    if ups.height:
        text += f"; significant improvement: {', '.join(ups['Plan'].to_list())}"
    change = pl.col("Change").round(1)
    shown = df.with_columns(
        pl.col("Before", "Latest").round(1).cast(pl.String).fill_null("–"),
        pl.col("Status").str.replace("_", " "),
        pl.when(change.is_null())
        .then(pl.lit("–"))
        .when(change == 0)
        .then(pl.lit("0.0"))
        .when(change > 0)
        .then(pl.format("+{}", change))
        .otherwise(change.cast(pl.String))
        .alias("Change"),
        pl.when(pl.col("Significant"))
        .then(pl.lit("yes"))
        .otherwise(pl.lit("no"))
        .alias("Significant"),
        pl.when(pl.col("Target met"))
        .then(pl.lit("✓ met"))
        .when(pl.col("Target met").is_null())
        .then(pl.lit("–"))
        .otherwise(pl.lit("not yet"))
        .alias("Target met"),
    )
    return Slide("plan_results", "Action-plan results", text + ".", table=shown)


SCREENS: dict[str, Screen] = {
    s.id: s
    for s in (
        Screen("last_week", "Last week's responses", _last_week),
        Screen("alerts", "Alerts", _alerts),
        Screen("cases", "Complaints and cases", _cases, store=True),
        Screen("plans_due", "Action plans due", _plans_due, store=True),
        Screen("nps", "NPS and change", _nps),
        Screen("evolution", "NPS over the waves", _evolution),
        Screen("drivers", "Strengths and weaknesses", _drivers),
        Screen("benchmarks", "Benchmarks", _benchmarks),
        Screen("breakdown", "NPS by entity", _breakdown),
        Screen("themes", "What customers talk about", _themes),
        Screen("theme_trend", "Themes over the waves", _theme_trend),
        Screen("plan_results", "Action-plan results", _plan_results, store=True),
    )
}


def available() -> list[str]:
    """Every screen id, in the order of :data:`SCREENS`."""
    return list(SCREENS)


def built_in(kind: str) -> list[str]:
    """The built-in agenda of ``kind``; benchmarks fall back to the overview breakdown without cx.analytics.benchmarks."""
    if kind not in KINDS:
        raise AgendaError(f"unknown agenda {kind!r}: use {' or '.join(KINDS)}")
    ok = set(available())
    screens = [s if s in ok or s != "benchmarks" else "breakdown" for s in BUILT_IN[kind]]
    return [s for s in screens if s in ok]


def build(screen: str, ctx: MeetingContext) -> Slide:
    """Compute one slide."""
    if screen not in available():
        raise AgendaError(
            f"unknown or unavailable screen {screen!r}; available: {', '.join(available())}"
        )
    return SCREENS[screen].build(ctx)


def slide(
    frame: pl.LazyFrame, scope: Scope, filters: Filters, *, screen: str, compare: str = "previous"
) -> Slide:
    """A screen that reads only responses, as a cacheable query (``ui.query``); store screens use :func:`build`."""
    if screen in SCREENS and SCREENS[screen].store:
        raise AgendaError(
            f"screen {screen!r} reads the operational store: build it with meeting.build"
        )
    return build(screen, MeetingContext(frame, scope, filters, compare=compare))


# ---------------------------------------------------------------- agendas per scope


def agenda(s: Session, scope: Scope, kind: str) -> list[str]:
    """The scope's agenda of ``kind``: its own saved list (available screens only), else the built-in one."""
    default = built_in(kind)
    row = s.exec(select(Agenda).where(Agenda.scope_key == str(scope), Agenda.kind == kind)).first()
    if row is None:
        return default
    ok = set(available())
    return [x for x in row.screens if x in ok] or default


def save_agenda(
    s: Session, *, user: User, kind: str, screens: Sequence[str], now: datetime | None = None
) -> list[str]:
    """Store the user's scope's agenda of ``kind`` (managers and analysts); audited."""
    if not user.has(*DASHBOARD_READERS):
        raise AgendaError(f"{user.username} may not edit agendas: managers only")
    built_in(kind)
    unknown = [x for x in screens if x not in SCREENS]
    if unknown:
        raise AgendaError(f"unknown screen {unknown[0]!r}; screens: {', '.join(SCREENS)}")
    chosen = list(dict.fromkeys(screens))
    if not chosen:
        raise AgendaError("an agenda needs at least one screen")
    key = str(user.scope)
    row = s.exec(select(Agenda).where(Agenda.scope_key == key, Agenda.kind == kind)).first()
    before = row.screens if row else built_in(kind)
    row = row or Agenda(scope_key=key, kind=kind)
    row.screens, row.updated_by, row.updated_at = chosen, user.username, now or store.utcnow()
    s.add(row)
    s.flush()
    store.audit(
        s,
        actor=user.username,
        action="save_agenda",
        entity="agenda",
        entity_id=f"{key}:{kind}",
        detail={"from": before, "to": chosen},
    )
    return chosen
