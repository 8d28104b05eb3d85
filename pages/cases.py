"""Complaint cases: the agency's work list sorted by urgency, the call script, and the actions that
take a case from new to closed. Saves are refused when someone else changed the case meanwhile."""

from datetime import UTC, datetime, timedelta

import streamlit as st

from cx import store, ui
from cx.loop import cases

user = ui.require_user(*ui.FRONT_LINE, *ui.MANAGERS)
scope, engine = user.scope, ui.engine()
ui.header("Complaint cases", user)


def act(fn, case_id: int, done: str, **fields: str) -> None:  # type: ignore[no-untyped-def]
    """Form callback: apply one action with the version the user saw; keep the outcome for the rerun."""
    values = {name: st.session_state.get(key) for name, key in fields.items()}
    if "due_at" in values:
        values["due_at"] = datetime.combine(
            values.pop("due_at"), st.session_state["cb_time"], tzinfo=UTC
        )
    try:
        with store.session(engine) as s:
            fn(
                s,
                scope,
                case_id,
                expected_version=st.session_state[f"seen_{case_id}"],
                actor=user.username,
                **values,
            )
        st.session_state["flash"] = ("success", f"Case #{case_id}: {done}.")
    except (store.StaleEdit, cases.CaseError) as exc:
        st.session_state["flash"] = ("error", f"Not saved: {exc}")


if flash := st.session_state.get(
    "flash"
):  # the outcome of the last action stays until the next one
    (st.success if flash[0] == "success" else st.error)(flash[1])

show = st.segmented_control("Show", ["To do", "All"], default="To do", key="case_filter")
with store.session(engine) as s:
    items = cases.list_cases(s, scope, status=cases.ACTIVE_STATUSES if show != "All" else None)
ui.takeaway(cases.cases_takeaway(items))
if not items:
    st.stop()
table = cases.worklist_frame(items)
st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    height=min(38 * (table.height + 1) + 4, 320),
    column_config={
        "Opened": st.column_config.DatetimeColumn(format="D MMM, HH:mm"),
        "First contact due": st.column_config.DatetimeColumn(format="D MMM, HH:mm"),
        "Late": st.column_config.CheckboxColumn("Late (SLA)"),
    },
)

by_id = {c.id: c for c in items}
case_id = st.selectbox(
    "Work on case", list(by_id), format_func=lambda i: cases.case_label(by_id[i]), key="case_pick"
)
with store.session(engine) as s:
    case = cases.get_case(s, scope, case_id)
    events = cases.events_frame(s, scope, case_id)
if case is None:
    st.error("This case is no longer in your scope.")
    st.stop()
st.session_state[f"seen_{case.id}"] = case.version
st.subheader(f"Case #{case.id} — {case.status.replace('_', ' ')}")

left, right = st.columns([3, 2], gap="large")
with left:
    st.code(cases.call_script(case, agent=user.name.split(" (")[0]), language=None, wrap_lines=True)
    st.markdown("#### History")
    st.dataframe(
        events,
        hide_index=True,
        width="stretch",
        column_config={"When": st.column_config.DatetimeColumn(format="D MMM, HH:mm")},
    )
with right:
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
        st.form_submit_button(
            "Log call",
            type="primary",
            on_click=act,
            args=(cases.log_call, case.id, "call logged"),
            kwargs={"outcome": "call_outcome", "note": "call_note"},
        )
    with callback, st.form("f_callback", clear_on_submit=True):
        st.date_input("Day", value=datetime.now(UTC).date() + timedelta(days=1), key="cb_day")
        st.time_input(
            "Time (UTC)", value=datetime.now(UTC).replace(hour=10, minute=0).time(), key="cb_time"
        )
        st.text_input("Note", key="cb_note")
        st.form_submit_button(
            "Schedule callback",
            on_click=act,
            args=(cases.schedule_callback, case.id, "callback scheduled"),
            kwargs={"due_at": "cb_day", "note": "cb_note"},
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
        st.form_submit_button(
            "Save classification",
            on_click=act,
            args=(cases.classify, case.id, "classified"),
            kwargs={"importance": "cl_importance", "topic": "cl_topic"},
        )
    with solution, st.form("f_solution", clear_on_submit=True):
        st.text_area("What was done for the customer", value=case.solution or "", key="sol_text")
        st.form_submit_button(
            "Record solution",
            on_click=act,
            args=(cases.record_solution, case.id, "solution recorded"),
            kwargs={"solution": "sol_text"},
        )
    with forward, st.form("f_forward"):
        st.selectbox("Forward to", cases.forward_targets(case, exclude=user.username), key="fw_to")
        st.text_input("Note", key="fw_note")
        st.form_submit_button(
            "Forward",
            on_click=act,
            args=(cases.forward, case.id, "forwarded"),
            kwargs={"to": "fw_to", "note": "fw_note"},
        )
    with finish, st.form("f_finish", clear_on_submit=True):
        st.text_input("Note", key="fin_note")
        c1, c2 = st.columns(2)
        c1.form_submit_button(
            "Resolve",
            on_click=act,
            args=(cases.resolve, case.id, "resolved"),
            kwargs={"note": "fin_note"},
        )
        c2.form_submit_button(
            "Close case",
            type="primary",
            on_click=act,
            args=(cases.close, case.id, "closed"),
            kwargs={"note": "fin_note"},
        )
st.caption(
    f"SLA: first contact within {cases.FIRST_CONTACT_SLA.total_seconds() / 3600:.0f} h, closing within {cases.CLOSE_SLA.days} days. "
    "Comments are shown with personal data masked. Every change is kept in the audit trail."
)
