"""Display components shared by the screens: the CSS, the header and takeaway, big figures
(the benchmark and fieldwork rows among them), the ranked breakdown table and a progress bar."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
import streamlit as st

from cx.core import labels
from cx.core import text as text_mod
from cx.core.filters import Filters
from cx.core.users import User
from cx.improve import meeting
from cx.ui.state import filter_summary

_CSS = """
<style>
[data-testid="stMetricValue"] { font-size: 3.1rem; font-weight: 700; line-height: 1.1; }
[data-testid="stMetricLabel"] p { font-size: 1.05rem; font-weight: 600; color: #4b5563; }
[data-testid="stMetricDelta"] { font-size: 1.05rem; }
[data-testid="stTable"] table { font-size: 1.05rem; }
[data-testid="stTable"] th { font-weight: 700; }
h1 { font-size: 2.4rem !important; }
.cx-takeaway { font-size: 1.35rem; font-weight: 500; padding: .7rem 1rem; border-left: 6px solid #2f5fd0;
  background: #f3f6fd; border-radius: 4px; margin: .2rem 0 1rem 0; color: #1f2a44; }
.cx-note { color: #6b7280; font-size: .95rem; }
</style>
"""


def style() -> None:
    st.html(_CSS)


def header(title: str, user: User, f: Filters | None = None) -> None:
    style()
    st.title(title)
    where = str(user.scope) if user.scope.entries else "no scope"
    st.caption(f"Scope: {where}" + (f" · {filter_summary(f)}" if f else ""))


def takeaway(text: str) -> None:
    """The one-sentence takeaway on top of a screen (plain text: escaped, never evaluated)."""

    st.html(f'<div class="cx-takeaway">{text_mod.escape_html(text)}</div>')


def fmt_points(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+.1f}" if signed else f"{value:.1f}"


def kpi_row(headline: pl.DataFrame) -> None:
    """The big figures: NPS ± MoE, change vs the compared wave, base, CSAT."""
    row = headline.row(0, named=True)
    c1, c2, c3, c4 = st.columns(4)
    if row["suppressed"]:
        c1.metric("NPS", "hidden", help="Fewer than 5 responses: no score is shown.")
    else:
        c1.metric(
            "NPS",
            fmt_points(row["nps"]),
            f"± {row['nps_moe']:.1f} (95 % margin)",
            delta_color="off",
            delta_arrow="off",
        )
    if row["change"] is None:
        c2.metric(
            "Change",
            "–",
            "no earlier wave" if not row["prev_wave"] else f"vs {row['prev_wave']}",
            delta_color="off",
            delta_arrow="off",
        )
    else:
        mark = "significant" if row["significant"] else "not significant"
        c2.metric(
            f"Change vs {row['prev_wave']}",
            fmt_points(row["change"], signed=True),
            mark,
            delta_color="normal" if row["significant"] else "off",
            delta_arrow="up" if row["change"] > 0 else "down",
        )
    c3.metric(
        "Responses (n)",
        f"{row['n']:,}",
        "low base (n < 30)" if row["low_base"] else None,
        delta_color="off",
        delta_arrow="off",
    )
    c4.metric("CSAT (top-2-box)", "–" if row["csat"] is None else f"{row['csat']:.0f} %")


def base_note(headline: pl.DataFrame) -> None:
    row = headline.row(0, named=True)
    if row["suppressed"]:
        return
    st.html(
        f'<div class="cx-note">{row["promoters"]:,} promoters · {row["passives"]:,} passives · '
        f"{row['detractors']:,} detractors (shares are weighted; effective base {row['effective_base']:,.0f})</div>"
    )


@dataclass(frozen=True)
class Figure:
    """One big number: its label, its value and a small line under it (red when ``alarm``)."""

    label: str
    value: str
    note: str | None = None
    alarm: bool = False


def figure(item: Figure | meeting.Figure, where: Any = st) -> None:
    """One big number, on the page or in ``where`` (a column)."""
    alarm = isinstance(item, Figure) and item.alarm
    where.metric(
        item.label,
        item.value,
        item.note,
        delta_color="inverse" if alarm else "off",
        delta_arrow="off",
    )


def figures(items: Sequence[Figure | meeting.Figure | None]) -> None:
    """A row of big numbers, one column each (None leaves its column empty)."""
    for col, item in zip(st.columns(len(items)), items, strict=True):
        if item is not None:
            figure(item, col)


def benchmark_figures(nps: dict[str, Any], own: str, parent: str | None) -> None:
    """NPS of the scope, of its parent and of the world, with the gaps and whether they are
    significant (the NPS row of ``cx.analytics.benchmarks.attribute_benchmark``)."""

    def gap(to: str) -> str:
        verdict = "significant" if nps[f"significant_{to}"] else "not significant"
        return f"{fmt_points(nps[f'diff_{to}'], True)} · {verdict}"

    figures(
        [
            Figure(f"NPS {own}", fmt_points(nps["own_mean"]), f"n = {nps['own_n']:,}"),
            Figure(f"NPS {parent}", fmt_points(nps["parent_mean"]), gap("parent"))
            if parent
            else None,
            Figure("NPS World", fmt_points(nps["world_mean"]), gap("world")),
        ]
    )


def fieldwork_figures(row: dict[str, Any]) -> None:
    """Response rate, delivery rate, responses against target and the lagging agencies (in red)
    of a wave's fieldwork (the row of ``cx.analytics.fieldwork.summary``)."""
    figures(
        [
            Figure(
                "Response rate",
                f"{100 * (row['response_rate'] or 0):.1f} %",
                f"{row['responses']:,} responses",
            ),
            Figure(
                "Delivery rate",
                f"{100 * (row['delivery_rate'] or 0):.1f} %",
                f"{row['invitations']:,} invitations sent",
            ),
            Figure(
                "Responses vs target",
                f"{100 * (row['attainment'] or 0):.0f} %",
                f"target {row['target_responses']:,}",
            ),
            Figure(
                "Lagging agencies",
                f"{row['lagging']}",
                ", ".join(row["lagging_agencies"][:3]) or "none",
                alarm=bool(row["lagging"]),
            ),
        ]
    )


def _one_decimal(column: str, *, signed: bool = False, prefix: str = "") -> pl.Expr:
    value = pl.col(column).round(1)
    text = pl.lit(prefix) + value.abs().cast(pl.String) if prefix else value.cast(pl.String)
    if signed:
        text = (
            pl.when(value > 0)
            .then(pl.lit("+") + value.cast(pl.String))
            .otherwise(value.cast(pl.String))
        )
    return pl.when(pl.col(column).is_null()).then(pl.lit("–")).otherwise(text)


def breakdown_table(df: pl.DataFrame, level: str) -> None:
    """Ranked table (a real HTML table, readable on a projector): rank, entity, n, NPS ± MoE,
    change and a note; low bases flagged and unranked, tiny cells hidden."""
    label = labels.LEVEL_LABELS.get(level, level)
    view = df.select(
        pl.col("rank").cast(pl.String).fill_null("–").alias("#"),
        pl.col(level).alias(label),
        pl.col("n"),
        _one_decimal("nps").alias("NPS"),
        _one_decimal("nps_moe", prefix="± ").alias("MoE (95 %)"),
        _one_decimal("change", signed=True).alias("Δ vs prev."),
        labels.change_note().alias("Note"),
    )
    st.table(view, hide_index=True)


def progress_bar(text: str) -> Callable[[str, float], None]:
    """A progress bar showing ``text``; call the returned function with a message and a fraction."""
    bar = st.progress(0.0, text=text)

    def advance(message: str, fraction: float) -> None:
        bar.progress(fraction, text=message)

    return advance
