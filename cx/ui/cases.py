"""Complaint cases screen: the work list, a case's history and the tabs of forms that take a
case from new to closed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import streamlit as st

from cx.loop import cases
from cx.store.models import Case

_WORKLIST_COLUMNS = {
    "Opened": st.column_config.DatetimeColumn(format="D MMM, HH:mm"),
    "First contact due": st.column_config.DatetimeColumn(format="D MMM, HH:mm"),
    "Late": st.column_config.CheckboxColumn("Late (SLA)"),
}


def case_worklist(table: pl.DataFrame) -> None:
    """The work list (``cx.loop.cases.worklist_frame``), most urgent first, at most ~8 rows high."""
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        height=min(38 * (table.height + 1) + 4, 320),
        column_config=_WORKLIST_COLUMNS,
    )


def case_history(events: pl.DataFrame) -> None:
    """What happened to a case, oldest first (``cx.loop.cases.events_frame``)."""
    st.markdown("#### History")
    st.dataframe(
        events,
        hide_index=True,
        width="stretch",
        column_config={"When": st.column_config.DatetimeColumn(format="D MMM, HH:mm")},
    )


def _case_submit(
    apply: Callable[..., None], fn: Callable[..., Any], done: str, fields: dict[str, str]
) -> None:
    """Form callback: the form's widget values (by key) go to ``apply(fn, done, **values)``."""
    values: dict[str, Any] = {name: st.session_state.get(key) for name, key in fields.items()}
    if "due_at" in values:  # the callback's day and time (UTC) make one moment
        values["due_at"] = datetime.combine(
            values.pop("due_at"), st.session_state["cb_time"], tzinfo=UTC
        )
    apply(fn, done, **values)


def case_actions(case: Case, forward_to: Sequence[str], apply: Callable[..., None]) -> None:
    """The tabs that take a case from new to closed. Each form's submit callback calls
    ``apply(fn, done, **fields)``: ``fn`` the :mod:`cx.loop.cases` action, ``done`` its past tense."""

    def submit(where: Any, label: str, fn: Callable[..., Any], done: str, **fields: str) -> None:
        kind = "primary" if label in ("Log call", "Close case") else "secondary"
        where.form_submit_button(
            label, type=kind, on_click=_case_submit, args=(apply, fn, done, fields)
        )

    call, callback, classify, solution, forward, finish = st.tabs(
        ["Call", "Callback", "Classify", "Solution", "Forward", "Resolve & close"]
    )
    with call, st.form("f_call", clear_on_submit=True):
        st.radio(
            "Outcome",
            cases.OUTCOMES,
            key="call_outcome",
            horizontal=True,
            format_func=lambda o: o.replace("_", " "),
        )
        st.text_input("Note", key="call_note")
        submit(
            st, "Log call", cases.log_call, "call logged", outcome="call_outcome", note="call_note"
        )
    with callback, st.form("f_callback", clear_on_submit=True):
        st.date_input("Day", value=datetime.now(UTC).date() + timedelta(days=1), key="cb_day")
        st.time_input(
            "Time (UTC)", value=datetime.now(UTC).replace(hour=10, minute=0).time(), key="cb_time"
        )
        st.text_input("Note", key="cb_note")
        submit(
            st,
            "Schedule callback",
            cases.schedule_callback,
            "callback scheduled",
            due_at="cb_day",
            note="cb_note",
        )
    with classify, st.form("f_classify"):
        st.selectbox(
            "Importance",
            cases.IMPORTANCES,
            index=cases.IMPORTANCES.index(case.importance),
            key="cl_importance",
        )
        st.selectbox(
            "Topic",
            cases.TOPICS,
            index=cases.TOPICS.index(case.topic) if case.topic in cases.TOPICS else None,
            key="cl_topic",
            format_func=lambda t: t.replace("_", " "),
        )
        submit(
            st,
            "Save classification",
            cases.classify,
            "classified",
            importance="cl_importance",
            topic="cl_topic",
        )
    with solution, st.form("f_solution", clear_on_submit=True):
        st.text_area("What was done for the customer", value=case.solution or "", key="sol_text")
        submit(
            st, "Record solution", cases.record_solution, "solution recorded", solution="sol_text"
        )
    with forward, st.form("f_forward"):
        st.selectbox("Forward to", forward_to, key="fw_to")
        st.text_input("Note", key="fw_note")
        submit(st, "Forward", cases.forward, "forwarded", to="fw_to", note="fw_note")
    with finish, st.form("f_finish", clear_on_submit=True):
        st.text_input("Note", key="fin_note")
        c1, c2 = st.columns(2)
        submit(c1, "Resolve", cases.resolve, "resolved", note="fin_note")
        submit(c2, "Close case", cases.close, "closed", note="fin_note")
