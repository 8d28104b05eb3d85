"""Action plans screen: the proposal form, the tracker, and a plan's heading, approval, effect,
edit form, tasks and comments."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import polars as pl
import streamlit as st

from cx import charts
from cx.core import text as text_mod
from cx.improve import plans
from cx.store.models import Plan, PlanComment, PlanTask
from cx.ui.actions import flash
from cx.ui.components import table, takeaway

_PLAN_COLUMNS = {
    "Progress": st.column_config.ProgressColumn(
        "Progress", min_value=0, max_value=100, format="%d %%"
    ),
    "Due": st.column_config.DateColumn("Due", format="YYYY-MM-DD"),
}


def plan_proposal(draft: plans.Draft, where: Sequence[str], owner: str) -> dict[str, Any] | None:
    """The "propose an action plan" form, open when a link named the problem; the fields of
    :func:`cx.improve.plans.propose` once submitted (a refusal is flashed in the form: slot ``new_plan``)."""
    with (
        st.expander(text_mod.escape_markdown(draft.heading), expanded=draft.linked),
        st.form("new_plan", clear_on_submit=True),
    ):
        form: dict[str, Any] = {"title": st.text_input("Title", value=draft.title)}
        c1, c2, c3 = st.columns(3)
        form["where"] = c1.selectbox("Scope of the plan", where)
        form["owner"] = c2.text_input("Owner (username or e-mail)", value=owner)
        form["due_date"] = c3.date_input("Due date", value=None, min_value=date(2020, 1, 1))
        c1, c2, c3, c4 = st.columns(4)
        form["problem_kind"] = c1.selectbox(
            "Problem", plans.PROBLEM_KINDS, index=draft.kind_index, format_func=plans.kind_label
        )
        form["problem_ref"] = c2.text_input(
            "Problem reference", value=draft.ref, help="attr_<id>, a theme id or an alert key"
        )
        form["target_attribute"] = c3.selectbox(
            "Target metric", draft.metrics, index=draft.metric_index, format_func=plans.metric_label
        )
        form["target_value"] = c4.number_input("Target value (≥)", value=None, step=0.1)
        form["contributors"] = st.text_input("Contributors (comma-separated)")
        submitted = st.form_submit_button("Propose the plan", type="primary")
        flash("new_plan")
    return form if submitted else None


def plan_tracker(tracker: pl.DataFrame) -> None:
    """The plans of the scope: open / late / done per owner and per problem, then the full table."""
    left, right = st.columns(2, gap="large")
    for col, by, label in ((left, "owner", "Owner"), (right, "problem", "Problem")):
        with col:
            st.markdown(f"#### Plans by {label.lower()}")
            st.altair_chart(
                charts.tracker_chart(plans.tracker_counts(tracker, by), by, label), width="stretch"
            )
    st.markdown("#### All plans")
    table(
        plans.tracker_view(tracker), name="action plans", key="plans", column_config=_PLAN_COLUMNS
    )


def plan_heading(plan: Plan) -> None:
    """The plan's title, status line and the problem it addresses, with a link to the evidence."""
    st.subheader(f"#{plan.id} {text_mod.escape_markdown(plan.title)}")
    st.caption(plans.summary_line(plan))
    problem = text_mod.escape_markdown(plans.problem_label(plan.problem_kind, plan.problem_ref))
    st.markdown(f"Problem: **{problem}** — [show the evidence]({plans.evidence_link(plan)})")


def approve_or_reject() -> bool | None:
    """The Approve / Reject buttons of a proposed plan: True, False, or None until one is clicked."""
    a, r, _ = st.columns([1, 1, 4])
    if a.button("Approve", type="primary"):
        return True
    return False if r.button("Reject") else None


def plan_effect(plan: Plan, effect: pl.DataFrame) -> None:
    """Did it work: one sentence and the target metric before and after the plan started."""
    takeaway(plans.effect_sentence(plan, effect))
    label = plans.metric_label(plan.target_attribute or "nps")
    st.altair_chart(charts.plan_effect_chart(effect, label), width="stretch")


def plan_edit_form(plan: Plan) -> dict[str, Any] | None:
    """Status, progress, owner and due date of a plan; the edited fields once saved."""
    with st.form(f"edit_{plan.id}"):
        c1, c2, c3, c4 = st.columns(4)
        edits = {
            "status": c1.selectbox(
                "Status",
                plans.STATUSES,
                index=plans.STATUSES.index(plan.status),
                format_func=plans.status_label,
            ),
            "progress": c2.slider("Progress %", 0, 100, plan.progress),
            "owner": c3.text_input("Owner", plan.owner),
            "due_date": c4.date_input("Due date", plan.due_date),
        }
        return edits if st.form_submit_button("Save changes") else None


def plan_tasks(
    plan: Plan, tasks: Sequence[PlanTask], owner: str
) -> tuple[PlanTask | None, dict[str, Any] | None]:
    """The plan's tasks as checkboxes and a form to add one: the task whose box was just changed
    and the new task's fields, once added."""
    st.markdown("#### Tasks")
    ticked = None
    for t in tasks:
        if (
            st.checkbox(
                text_mod.escape_markdown(plans.task_label(t)),
                value=t.done,
                key=f"task_{t.id}_{t.version}",
            )
            != t.done
        ):
            ticked = t
    with st.form(f"task_{plan.id}", clear_on_submit=True):
        c1, c2, c3, c4 = st.columns([3, 2, 2, 1], vertical_alignment="bottom")
        task = {
            "title": c1.text_input("New task"),
            "owner": c2.text_input("Task owner", owner),
            "due_date": c3.date_input("Task due", value=None),
        }
        added = c4.form_submit_button("Add")
    return ticked, task if added else None


def plan_comments(plan: Plan, comments: Sequence[PlanComment]) -> str | None:
    """The plan's comments, oldest first, and a form to add one: its text once sent."""
    st.markdown("#### Comments")
    for c in comments:
        st.caption(f"{c.author} · {c.at:%Y-%m-%d %H:%M} UTC")
        st.text(c.text)
    with st.form(f"comment_{plan.id}", clear_on_submit=True):
        text = st.text_area("Add a comment", height=80)
        return text if st.form_submit_button("Comment") else None
