"""Action plans: the tracker of the scope, one plan's detail and follow-up, and proposing a plan.

Other pages link here with ``?problem_kind=attribute&problem_ref=attr_cleanliness`` to propose a
plan for that problem; ``?plan=<id>`` opens a plan (links pasted in a meeting chat reopen it).
"""

from datetime import date

import streamlit as st

from cx import charts, store, ui
from cx.core import data, org
from cx.core.filters import Filters
from cx.core.text import escape_markdown
from cx.improve import plans

user = ui.require_user(*ui.MANAGERS)


scope = user.scope
ui.header("Action plans", user)
engine, hierarchy = ui.engine(), org.load(ui.data_root(), ui.responses())
with store.session(engine) as s:
    tracker = plans.plan_tracker(s, scope)
ui.takeaway(plans.tracker_takeaway(tracker))

kind, ref = st.query_params.get("problem_kind"), st.query_params.get("problem_ref", "")
with st.expander(
    f"Propose an action plan for {escape_markdown(plans.problem_label(kind, ref))}"
    if kind
    else "Propose an action plan",
    expanded=bool(kind),
):
    attrs = ["nps", *data.attributes(ui.responses().collect_schema().names())]
    with st.form("new_plan", clear_on_submit=True):
        title = st.text_input(
            "Title",
            value=f"Improve {plans.problem_label(kind, ref).split(' (')[0]}" if kind else "",
        )
        c1, c2, c3 = st.columns(3)
        where = c1.selectbox("Scope of the plan", plans.scope_options(scope, hierarchy))
        owner = c2.text_input("Owner (username or e-mail)", value=user.username)
        due = c3.date_input("Due date", value=None, min_value=date(2020, 1, 1))
        c1, c2, c3, c4 = st.columns(4)
        problem_kind = c1.selectbox(
            "Problem",
            plans.PROBLEM_KINDS,
            format_func=lambda k: k.replace("_", " ").capitalize(),
            index=plans.PROBLEM_KINDS.index(kind) if kind in plans.PROBLEM_KINDS else 1,
        )
        problem_ref = c2.text_input(
            "Problem reference", value=ref, help="attr_<id>, a theme id or an alert key"
        )
        target_attribute = c3.selectbox(
            "Target metric",
            attrs,
            index=attrs.index(ref) if ref in attrs else 0,
            format_func=lambda a: "NPS" if a == "nps" else data.attribute_label(a),
        )
        target_value = c4.number_input("Target value (≥)", value=None, step=0.1)
        contributors = st.text_input("Contributors (comma-separated)")
        if st.form_submit_button("Propose the plan", type="primary"):
            try:
                with store.session(engine) as s:
                    new = plans.create_plan(
                        s,
                        user=user,
                        title=title,
                        owner=owner,
                        **plans.geography(where, hierarchy),
                        problem_kind=problem_kind,
                        problem_ref=problem_ref,
                        contributors=contributors.split(","),
                        target_attribute=target_attribute,
                        target_value=target_value,
                        target_wave=None,
                        due_date=due,
                    )
                for param in ("problem_kind", "problem_ref"):
                    st.query_params.pop(param, None)
                st.query_params["plan"] = str(new.id)
                st.rerun()
            except (plans.PlanError, plans.PlanForbidden, ValueError) as exc:
                st.error(f"The plan was not saved: {exc}")

if tracker.is_empty():
    st.stop()
left, right = st.columns(2, gap="large")
for col, by, label in ((left, "owner", "Owner"), (right, "problem", "Problem")):
    with col:
        st.markdown(f"#### Plans by {label.lower()}")
        st.altair_chart(
            charts.tracker_chart(plans.tracker_counts(tracker, by), by, label), width="stretch"
        )
st.markdown("#### All plans")
st.dataframe(
    plans.tracker_view(tracker),
    hide_index=True,
    width="stretch",
    column_config={
        "Progress": st.column_config.ProgressColumn(
            "Progress", min_value=0, max_value=100, format="%d %%"
        ),
        "Due": st.column_config.DateColumn("Due", format="YYYY-MM-DD"),
    },
)

ids = tracker["id"].to_list()
titles = dict(zip(ids, tracker["title"].to_list(), strict=True))
asked = st.query_params.get("plan", "")
# The URL is the source of truth, so a pasted link (?plan=<id>) opens that plan.
st.session_state["plan_pick"] = (
    int(asked) if asked.isdigit() and int(asked) in ids else st.session_state.get("plan_pick")
)
pid = st.selectbox(
    "Open a plan",
    ids,
    key="plan_pick",
    format_func=lambda i: f"#{i} {titles[i]}",
    placeholder="Choose a plan",
    on_change=lambda: st.query_params.update(plan=str(st.session_state["plan_pick"] or "")),
)
if pid is None:
    st.stop()
with store.session(engine) as s:
    plan = plans.get_plan(s, int(pid), scope)
    tasks, comments = plans.list_tasks(s, plan.id, scope), plans.list_comments(s, plan.id, scope)  # type: ignore[arg-type]
seen = st.session_state.setdefault(f"plan_version_{plan.id}", plan.version)


def act(fn, *args, **kwargs) -> None:  # noqa: ANN001
    """Run one change in its own session; a lost update or a refused change becomes a message."""
    try:
        with store.session(engine) as s:
            fn(s, *args, user=user, **kwargs)
        st.session_state.pop(f"plan_version_{plan.id}", None)
        st.rerun()
    except store.StaleEdit as exc:
        st.session_state[f"plan_version_{plan.id}"] = plan.version
        st.error(f"{exc}. The plan below now shows the latest version.")
    except (plans.PlanError, plans.PlanForbidden, plans.PlanNotFound, ValueError) as exc:
        st.error(str(exc))


st.subheader(f"#{plan.id} {escape_markdown(plan.title)}")
st.caption(
    f"{plans.scope_label(plan)} · owner {plan.owner} · {plan.status.replace('_', ' ')} · {plan.approval}"
    + (f" by {plan.approved_by}" if plan.approved_by else "")
    + f" · due {plan.due_date or '–'} · version {plan.version}"
)
st.markdown(
    f"Problem: **{escape_markdown(plans.problem_label(plan.problem_kind, plan.problem_ref))}** — [show the evidence]({plans.evidence_link(plan)})"
)
if plan.approval == "proposed" and plans.can_approve(user, plan):
    a, r, _ = st.columns([1, 1, 4])
    if a.button("Approve", type="primary"):
        act(plans.approve_plan, plan.id, expected_version=seen)
    if r.button("Reject"):
        act(plans.reject_plan, plan.id, expected_version=seen)
if plan.target_attribute:
    effect = ui.query(
        plans.target_trend,
        plans.plan_scope(plan),
        Filters(),
        metric=plan.target_attribute,
        started=plan.created_at.date().isoformat(),
        target=plan.target_value,
        op=plan.target_op,
    )
    ui.takeaway(plans.effect_sentence(plan, effect))
    st.altair_chart(
        charts.plan_effect_chart(
            effect,
            "NPS"
            if plan.target_attribute == "nps"
            else data.attribute_label(plan.target_attribute),
        ),
        width="stretch",
    )

with st.form(f"edit_{plan.id}"):
    c1, c2, c3, c4 = st.columns(4)
    status = c1.selectbox(
        "Status",
        plans.STATUSES,
        index=plans.STATUSES.index(plan.status),
        format_func=lambda x: x.replace("_", " "),
    )
    progress = c2.slider("Progress %", 0, 100, plan.progress)
    owner = c3.text_input("Owner", plan.owner)
    due = c4.date_input("Due date", plan.due_date)
    if st.form_submit_button("Save changes"):
        act(
            plans.update_plan,
            plan.id,
            expected_version=seen,
            status=status,
            progress=progress,
            owner=owner,
            due_date=due,
        )

st.markdown("#### Tasks")
for t in tasks:
    late = " · LATE" if t.due_date and not t.done and t.due_date < date.today() else ""
    if (
        st.checkbox(
            f"{t.title} · {t.owner} · due {t.due_date or '–'}{late}",
            value=t.done,
            key=f"task_{t.id}_{t.version}",
        )
        != t.done
    ):
        act(plans.complete_task, t.id, expected_version=t.version, done=not t.done)
with st.form(f"task_{plan.id}", clear_on_submit=True):
    c1, c2, c3, c4 = st.columns([3, 2, 2, 1], vertical_alignment="bottom")
    t_title, t_owner, t_due = (
        c1.text_input("New task"),
        c2.text_input("Task owner", user.username),
        c3.date_input("Task due", value=None),
    )
    if c4.form_submit_button("Add"):
        act(plans.add_task, plan.id, title=t_title, owner=t_owner, due_date=t_due)

st.markdown("#### Comments")
for c in comments:
    st.caption(f"{c.author} · {c.at:%Y-%m-%d %H:%M} UTC")
    st.text(c.text)
with st.form(f"comment_{plan.id}", clear_on_submit=True):
    text = st.text_area("Add a comment", height=80)
    if st.form_submit_button("Comment"):
        act(plans.add_comment, plan.id, text=text)
