"""The Staff scorecards screen's parts: the period picker (kept in the URL), the figures and
the table with its HR export. The rows come from :mod:`cx.improve.scorecards`, which decides who
sees whose."""

from __future__ import annotations

import polars as pl
import streamlit as st

from cx import store
from cx.core.filters import Filters
from cx.core.users import User
from cx.improve import scorecards
from cx.ui.components import fmt_points, table, takeaway
from cx.ui.data import engine, responses
from cx.ui.state import set_url, url_param

PERIOD_LABELS = {"month": "Month", "quarter": "Quarter"}


def period_picker() -> str:
    """Month or quarter, from ``?period=`` (a pasted link keeps it) and written back on change."""
    asked = url_param("period", "quarter")
    st.session_state.setdefault("scorecard_period", asked if asked in PERIOD_LABELS else "quarter")
    picked = st.segmented_control(
        "Period",
        list(PERIOD_LABELS),
        format_func=PERIOD_LABELS.__getitem__,
        key="scorecard_period",
        on_change=lambda: set_url(period=st.session_state["scorecard_period"] or "quarter"),
    )
    return picked or "quarter"


def load(user: User, filters: Filters, period: str) -> pl.DataFrame:
    """The scorecards this user may see (one store session for the feed and case figures)."""
    with store.session(engine()) as s:
        return scorecards.scorecards(responses(), user, filters, s, period=period)


COLUMNS = {
    "advisor_id": "Advisor",
    "agency": "Agency",
    "period": "Period",
    "rank": st.column_config.NumberColumn("Rank", help="Among advisors with 30+ answers"),
    "n": st.column_config.NumberColumn("Answers"),
    "nps": st.column_config.NumberColumn("NPS", format="%+.1f"),
    "nps_moe": st.column_config.NumberColumn("± MoE", format="%.1f"),
    "csat": st.column_config.NumberColumn("CSAT %", format="%.0f"),
    "change": st.column_config.NumberColumn("Change", format="%+.1f"),
    "significant": st.column_config.CheckboxColumn("Significant"),
    "negatives": st.column_config.NumberColumn("Negative ratings"),
    "commented_share": st.column_config.NumberColumn("Commented", format="percent"),
    "cases": st.column_config.NumberColumn("Cases"),
    "sla_share": st.column_config.NumberColumn("Closed within SLA", format="percent"),
    "low_base": st.column_config.CheckboxColumn("Low base"),
}


def show(df: pl.DataFrame, period_label: str, *, own: bool) -> None:
    """The chosen period's figures (own scorecard) or table (an agency's advisors), then history."""
    if df.is_empty():
        st.info("No answer from customers with an advisor id in this scope and these filters.")
        return
    chosen = st.selectbox("Show", scorecards.periods(df), key="scorecard_when")
    takeaway(scorecards.takeaway(df, chosen, own=own))
    now = df.filter(pl.col("period") == chosen)
    if own:
        r = now.row(0, named=True)
        c = st.columns(4)
        c[0].metric(
            "NPS", fmt_points(r["nps"], signed=True), help=f"± {r['nps_moe'] or 0:.1f} (95 %)"
        )
        c[1].metric("Answers", f"{r['n']:,}")
        c[2].metric(
            "Negative ratings commented",
            "—" if r["commented_share"] is None else f"{100 * r['commented_share']:.0f} %",
        )
        c[3].metric(
            "Cases closed within SLA",
            "—" if r["sla_share"] is None else f"{100 * r['sla_share']:.0f} %",
        )
    else:
        shown = [c for c in COLUMNS if c != "period"]
        table(
            scorecards.export_frame(now),
            name=f"staff scorecards {chosen} {period_label}",
            key="scorecards_now",
            column_order=shown,
            column_config=COLUMNS,
        )
    st.subheader("Every period")
    table(
        scorecards.export_frame(df),
        name=f"staff scorecards by {period_label}",
        key="scorecards_all",
        column_order=[c for c in COLUMNS if not (own and c in ("rank", "agency"))],
        column_config=COLUMNS,
    )
