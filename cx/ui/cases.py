"""Complaint cases screen: the work list, a case's history and the tabs of forms that take a
case from new to closed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import streamlit as st

from cx import store
from cx.core.users import User
from cx.loop import cases, replies, rules
from cx.store.models import Case
from cx.ui.actions import act
from cx.ui.components import table
from cx.ui.data import engine

_WORKLIST_COLUMNS = {
    "Opened": st.column_config.DatetimeColumn(format="D MMM, HH:mm"),
    "First contact due": st.column_config.DatetimeColumn(format="D MMM, HH:mm"),
    "Late": st.column_config.CheckboxColumn("Late (SLA)"),
}


def case_worklist(worklist: pl.DataFrame) -> None:
    """The work list (``cx.loop.cases.worklist_frame``), most urgent first, at most ~8 rows high."""
    table(
        worklist,
        name="case work list",
        key="case_worklist",
        height=min(38 * (worklist.height + 1) + 4, 320),
        column_config=_WORKLIST_COLUMNS,
    )


def case_history(events: pl.DataFrame) -> None:
    """What happened to a case, oldest first (``cx.loop.cases.events_frame``)."""
    st.markdown("#### History")
    table(
        events,
        name="case history",
        key="case_history",
        column_config={"When": st.column_config.DatetimeColumn(format="D MMM, HH:mm")},
    )


_BOARD_COLUMNS = {
    "country": "Country",
    "agency": "Agency",
    "advisor": "Advisor",
    "cases": "Cases",
    "open": "Open",
    "resolved": "Resolved",
    "closed": "Closed",
    "sla_breaches": "SLA breaches",
    "attempts": "Calls",
    "reached": "Reached",
    "callbacks_due": "Callbacks due",
    "callbacks_overdue": "Overdue",
    "state": "State",
    "case_id": "Case",
    "customer_id": "Customer",
    "assignee": "Assignee",
    "note": "Note",
    "hours_to_first_contact": st.column_config.NumberColumn(
        "Median h to first contact", format="%.1f"
    ),
    "hours_to_close": st.column_config.NumberColumn("Median h to close", format="%.1f"),
    "reach_rate": st.column_config.NumberColumn("Reach rate %", format="%.0f"),
    "due_at": st.column_config.DatetimeColumn("Due (UTC)", format="D MMM, HH:mm"),
}


def board_tables(board: dict[str, Any]) -> None:
    """The case dashboard's tables (``cx.loop.cases.dashboard``): by agency, by advisor, and the
    callbacks due and overdue."""
    st.subheader("By agency")
    table(
        board["by_agency"],
        name="cases by agency",
        key="cases_by_agency",
        column_config=_BOARD_COLUMNS,
    )
    st.subheader("By advisor")
    table(
        board["by_advisor"],
        name="cases by advisor",
        key="cases_by_advisor",
        column_config=_BOARD_COLUMNS,
    )
    st.subheader("Callbacks due and overdue")
    if board["due"].is_empty():
        st.info("No callback pending.")
    else:
        table(board["due"], name="callbacks due", key="callbacks_due", column_config=_BOARD_COLUMNS)


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


# ---------------------------------------------------------------- replies to the respondent


def _send_reply(user: User, case_id: int, name: str, language: str, key: str) -> None:
    """Form callback: send the reply as edited on the screen."""
    edits = {
        "subject": st.session_state.get(f"rp_subject:{key}") or "",
        "body": st.session_state.get(f"rp_body:{key}") or "",
    }
    act(
        lambda s: replies.reply(s, user, case_id, name, language=language, edits=edits),
        f"Case #{case_id}: reply sent to the customer.",
        refused=(cases.CaseError,),
        failed="Reply not sent: {exc}",
        rerun=False,
    )


def reply_panel(case: Case, user: User) -> None:
    """Reply to the respondent: pick a template ("generic answers"), see it rendered for this case
    in the customer's language, edit it and send it (outbox e-mail, logged in the history)."""
    st.markdown("#### Reply to the customer")
    if case.id is None or case.status == "closed" or not user.has(*cases.CASE_WORKERS):
        st.caption("Replies are sent from open cases by the staff working them.")
        return
    if rules.is_anonymous(case.customer_id):
        st.caption(f"No e-mail reply: {replies.NO_ADDRESS}.")
        return
    with store.session(engine()) as s:
        names = replies.template_names(s)
    c1, c2 = st.columns(2)
    name = c1.selectbox(
        "Template", names, key="rp_template", format_func=lambda n: n.replace("_", " ")
    )
    language = c2.selectbox(
        "Language",
        replies.LANGUAGES,
        index=replies.LANGUAGES.index(replies.reply_language(case)),
        key=f"rp_language:{case.id}",
    )
    try:
        with store.session(engine()) as s:
            _, subject, body = replies.draft(s, user, case.id, name, language=language)
    except cases.CaseError as exc:
        st.error(f"{exc}")
        return
    key = f"{case.id}:{name}:{language}"  # a new template or language starts from its own text
    with st.form(f"f_reply:{key}", clear_on_submit=True):
        st.text_input("Subject", value=subject, key=f"rp_subject:{key}")
        st.text_area("Message", value=body, height=260, key=f"rp_body:{key}")
        st.form_submit_button(
            "Send reply", on_click=_send_reply, args=(user, case.id, name, language, key)
        )
    st.caption("Sent by e-mail to the customer's address on file; the case history keeps it.")


def _save_template(user: User, name: str, language: str, version: int, key: str) -> None:
    """Form callback: save the template as edited, on the version the screen showed."""
    new_name = (st.session_state.get(f"tp_name:{key}") or "").strip() or name
    act(
        lambda s: replies.save_template(
            s,
            user,
            new_name,
            language,
            st.session_state.get(f"tp_subject:{key}") or "",
            st.session_state.get(f"tp_body:{key}") or "",
            expected_version=version if new_name == name else None,
        ),
        f"Reply template {new_name} ({language}) saved.",
        refused=(cases.CaseError,),
        failed="Template not saved: {exc}",
        stale="Not saved: someone changed this template since you opened it; reload it and "
        "apply your change again.",
        rerun=False,
    )


def reply_templates_editor(templates: Sequence[Any], user: User) -> None:
    """Edit the reply templates (data admins and managers); placeholders: {first_name},
    {agency}, {case_ref}, {customer_id}, {agent}."""
    if not user.has(*replies.EDITORS):
        return
    with st.expander("Reply templates (generic answers)"):
        by_key = {f"{t.name}:{t.language}": t for t in templates}
        picked = st.selectbox(
            "Template", list(by_key), key="tp_pick", format_func=lambda k: k.replace(":", " · ")
        )
        t = by_key[picked]
        key = f"{picked}:{t.version}"  # a saved version redraws with the stored text
        with st.form(f"f_template:{key}"):
            st.text_input(
                "Name (a new name saves a new template)", value=t.name, key=f"tp_name:{key}"
            )
            st.text_input("Subject", value=t.subject, key=f"tp_subject:{key}")
            st.text_area("Body", value=t.body, height=240, key=f"tp_body:{key}")
            st.form_submit_button(
                "Save template",
                on_click=_save_template,
                args=(user, t.name, t.language, t.version, key),
            )
        st.caption(
            "Placeholders: "
            + ", ".join(f"{{{p}}}" for p in replies.PLACEHOLDERS)
            + "; anything else between braces is sent as written."
        )
