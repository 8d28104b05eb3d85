"""Action plans: the tracker of the scope, one plan's detail and follow-up, and proposing a plan.

Other pages link here with ``?problem_kind=attribute&problem_ref=attr_cleanliness`` to propose a
plan for that problem; ``?plan=<id>`` opens a plan (links pasted in a meeting chat reopen it).
"""

from functools import partial

import streamlit as st

from cx import store, ui
from cx.core import org
from cx.core.filters import Filters
from cx.improve import plans

user = ui.require_user(*ui.MANAGERS)
scope, engine = user.scope, ui.engine()
ui.header("Action plans", user)
with store.session(engine) as s:
    tracker = plans.plan_tracker(s, scope)
ui.takeaway(plans.tracker_takeaway(tracker))

hierarchy, columns = org.load(ui.data_root(), ui.responses()), ui.responses().collect_schema()
draft = plans.draft(ui.url_param("problem_kind"), ui.url_param("problem_ref"), columns.names())
if form := ui.plan_proposal(draft, plans.scope_options(scope, hierarchy), user.username):
    ui.act(
        lambda s: plans.propose(s, user=user, org=hierarchy, **form),
        refused=plans.REFUSED,
        failed="The plan was not saved: {exc}",
        then=lambda plan: ui.set_url(drop=("problem_kind", "problem_ref"), plan=plan.id),
        slot="new_plan",
    )
if tracker.is_empty():
    st.stop()
ui.plan_tracker(tracker)

titles = dict(zip(tracker["id"], tracker["title"], strict=True))
pid = ui.url_select(
    "Open a plan",
    list(titles),
    param="plan",
    key="plan_pick",
    placeholder="Choose a plan",
    format_func=lambda i: f"#{i} {titles[i]}",
)
if pid is None:
    st.stop()
with store.session(engine) as s:
    plan = plans.get_plan(s, int(pid), scope)
    tasks, comments = plans.list_tasks(s, plan.id, scope), plans.list_comments(s, plan.id, scope)  # type: ignore[arg-type]
seen = ui.seen_version(f"plan_{plan.id}", plan.version)

change = partial(  # one change to the plan; a lost update or a refused change is flashed
    ui.act,
    refused=plans.REFUSED,
    stale="{exc}. The plan below now shows the latest version.",
    seen=f"plan_{plan.id}",
)
ui.flash()
ui.plan_heading(plan)
if plans.awaits_decision(user, plan) and (approve := ui.approve_or_reject()) is not None:
    change(lambda s: plans.decide(s, plan.id, user=user, expected_version=seen, approve=approve))
if plan.target_attribute:
    trend = plans.trend_args(plan)
    ui.plan_effect(plan, ui.query(plans.target_trend, plans.plan_scope(plan), Filters(), **trend))
if edits := ui.plan_edit_form(plan):
    change(lambda s: plans.update_plan(s, plan.id, user=user, expected_version=seen, **edits))
ticked, task = ui.plan_tasks(plan, tasks, user.username)
if ticked:
    change(lambda s: plans.toggle_task(s, ticked, user=user))
if task:
    change(lambda s: plans.add_task(s, plan.id, user=user, **task))
if (text := ui.plan_comments(plan, comments)) is not None:
    change(lambda s: plans.add_comment(s, plan.id, user=user, text=text))
