"""Alerts: attributes that went wrong at the wave (trend, peers, unexpected), with a sparkline,
the reason in one sentence, and acknowledge / dismiss / link to an action — all audited."""

import streamlit as st

from cx import store, ui
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
with store.session(ui.engine()) as s:
    items = alerts.cards(found_alerts, alerts.states(s, scope), tuple(show or ()))
    plan_choices = plans.plan_options(s, scope)


def save(alert: dict, status: str, ref: str | None) -> None:  # type: ignore[type-arg]
    """Store the user's decision on one alert (audited); the outcome is flashed after the rerun."""
    ui.act(
        lambda s: alerts.set_state(
            s,
            user,
            alert,
            status=status,
            action_ref=ref,
            expected_version=alert["version"],
        ),
        alerts.done_message(alert, status, ref),
        refused=(PermissionError, ValueError),
        failed="{exc} — reload the page and try again.",
    )


ui.flash()
if not items:
    st.info(
        "No alert with the selected status. Change 'Show' above to see acknowledged or dismissed alerts."
    )
for i, a in enumerate(items):
    if (asked := ui.alert_card(i, a, plan_choices)) is not None:
        save(a, *asked)
st.caption(alerts.SIGNALS_NOTE)
