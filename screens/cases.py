"""Complaint cases: the agency's work list sorted by urgency, the call script, and the actions that
take a case from new to closed. Saves are refused when someone else changed the case meanwhile."""

import streamlit as st

from cx import store, ui
from cx.loop import cases
from cx.ui.cases import reply_panel

user = ui.require_user(*ui.FRONT_LINE, *ui.MANAGERS)
scope, engine = user.scope, ui.engine()
ui.header("Complaint cases", user)
ui.flash()

show = st.segmented_control("Show", ["To do", "All"], default="To do", key="case_filter")
with store.session(engine) as s:
    items = cases.list_cases(s, scope, status=cases.ACTIVE_STATUSES if show != "All" else None)
ui.takeaway(cases.cases_takeaway(items))
if not items:
    st.stop()
ui.case_worklist(cases.worklist_frame(items))

by_id = {c.id: c for c in items}
case_id = st.selectbox(
    "Work on case", list(by_id), format_func=lambda i: cases.case_label(by_id[i]), key="case_pick"
)
with store.session(engine) as s:
    case = cases.get_case(s, scope, case_id)
    events = cases.events_frame(s, scope, case_id)
    asked = cases.requested_callback(s, scope, case_id)  # the number the customer left, if any
if case is None:
    st.error("This case is no longer in your scope.")
    st.stop()


def apply(fn, done: str, **fields: object) -> None:  # type: ignore[no-untyped-def]
    """Form callback: one action on the case as this screen showed it (its version), so a save on a
    case someone changed meanwhile is refused; the outcome is flashed on the next run."""
    ui.act(
        lambda s: fn(s, user, case.id, expected_version=case.version, **fields),
        f"Case #{case.id}: {done}.",
        refused=(cases.CaseError,),
        failed="Not saved: {exc}",
        rerun=False,  # a callback: Streamlit reruns anyway
    )


st.subheader(f"Case #{case.id} — {case.status.replace('_', ' ')}")
left, right = st.columns([3, 2], gap="large")
with left:
    st.code(
        cases.call_script(case, agent=user.name.split(" (")[0], asked=asked),
        language=None,
        wrap_lines=True,
    )
    ui.case_history(events)
with right:
    ui.case_actions(case, cases.forward_targets(case, exclude=user.username), apply)
reply_panel(case, user)
st.caption(
    f"SLA: first contact within {cases.FIRST_CONTACT_SLA.total_seconds() / 3600:.0f} h, closing within {cases.CLOSE_SLA.days} days. "
    "Comments are shown with personal data masked. Every change is kept in the audit trail."
)
