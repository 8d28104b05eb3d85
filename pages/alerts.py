"""Alerts: attributes that went wrong at the wave (trend, peers, unexpected), with a sparkline,
the reason in one sentence, and acknowledge / dismiss / link to an action — all audited."""

import streamlit as st

from cx import charts, store, ui
from cx.improve import plans
from cx.loop import alerts

user = ui.require_user(*ui.MANAGERS)
scope, filters = user.scope, ui.filters()
ui.header("Attribute alerts", user, filters)

found_alerts = ui.query(alerts.detect, scope, filters)
ui.takeaway(alerts.takeaway(found_alerts, filters.wave))
show = st.segmented_control(
    "Show",
    ["open", "acknowledged", "dismissed"],
    default=["open", "acknowledged"],
    selection_mode="multi",
    key="alert_status",
    bind="query-params",
)
engine = ui.engine()
with store.session(engine) as s:
    items = alerts.cards(found_alerts, alerts.states(s, scope), tuple(show or ()))
    plan_choices = plans.plan_options(s, scope)


def save(alert: dict, status: str, ref: str | None = None) -> None:
    try:
        with store.session(engine) as s:
            alerts.set_state(
                s,
                scope,
                alert,
                status=status,
                actor=user.username,
                action_ref=ref,
                expected_version=alert["version"],
            )
    except (store.StaleEdit, PermissionError, ValueError) as exc:
        st.error(f"{exc} — reload the page and try again.")
        return
    st.session_state["alert_done"] = (
        f"{alert['label']} · {alert['entity']}: {status}"
        + (f", linked to {ref}" if ref else "")
        + "."
    )
    st.rerun()


if done := st.session_state.pop("alert_done", None):
    st.success(done)
if not items:
    st.info(
        "No alert with the selected status. Change 'Show' above to see acknowledged or dismissed alerts."
    )
for i, a in enumerate(items):
    with st.container(border=True):
        text, chart, act = st.columns([5, 3, 3], gap="medium")
        with text:
            level = "Agency" if a["level"] == "agency" else "Country"
            st.markdown(f"#### {a['label']} · {a['entity']}")
            st.caption(
                f"{level} · score {a['score']:.1f} · n = {a['n']:,} · {', '.join(a['reasons'])} · status: **{a['status']}**"
                + (f" · linked to {a['action_ref']}" if a["action_ref"] else "")
            )
            st.text(a["sentence"])
        with chart:
            st.altair_chart(charts.sparkline_chart(alerts.sparkline_frame(a)), width="stretch")
        with act:
            b1, b2 = st.columns(2)
            if a["status"] != "acknowledged" and b1.button(
                "Acknowledge", key=f"ack{i}", width="stretch"
            ):
                save(a, "acknowledged")
            if a["status"] != "dismissed" and b2.button("Dismiss", key=f"dis{i}", width="stretch"):
                save(a, "dismissed")
            if a["status"] != "open" and b1.button("Reopen", key=f"re{i}", width="stretch"):
                save(a, "open")
            ref = (
                st.selectbox(
                    "Link to an action plan",
                    plan_choices,
                    index=None,
                    key=f"plan{i}",
                    placeholder="Plan…",
                )
                if plan_choices
                else None
            )
            free = st.text_input(
                "or a reference", key=f"ref{i}", max_chars=200, placeholder="e.g. ticket CX-123"
            )
            if st.button(
                "Link", key=f"link{i}", width="stretch", disabled=not (ref or free.strip())
            ):
                save(
                    a,
                    a["status"] if a["status"] != "open" else "acknowledged",
                    (ref or "").split(" · ")[0] or free,
                )
st.caption(
    "Signals: trend_down = significant decline over the last 4 waves (not a one-wave wobble); below_peers = "
    "significantly and ≥ 0.5 point below the other agencies of the country (countries: of the region); unexpected = "
    "below the 95 % prediction interval of its own history; high_importance = a top-3 driver here (raises the score). "
    "No alert on a low base (n < 30)."
)
