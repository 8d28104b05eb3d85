"""Case management: open and closed complaints, time to first contact and to close, SLA breaches,
call attempts and reach rate, callbacks due and overdue — by agency and by advisor; negative
ratings commented within 24 h, with the comment form and the team chat feed settings."""

import streamlit as st

from cx import charts, store, ui
from cx.core import org
from cx.loop import cases, feed, replies
from cx.ui import feed as feed_screen
from cx.ui.cases import board_tables, reply_templates_editor

user = ui.require_user(*ui.MANAGERS, *ui.FRONT_LINE)
ui.header("Case management", user)
ui.flash()

with store.session(ui.engine()) as s:
    board = cases.dashboard(s, user.scope) if user.has(*ui.MANAGERS) else None
    commented = feed.negatives_commented(s, user.scope)
    waiting, latest = feed.uncommented(s, user.scope), feed.recent_comments(s, user.scope)
    chats = feed.feeds(s, user.scope, org.load(ui.data_root())) if user.is_manager else None
    templates = replies.templates(s) if user.has(*replies.EDITORS) else []


def ratings() -> None:
    """The rating comments and the reply templates, under the case figures (or alone)."""
    feed_screen.rating_comments(commented, waiting, latest, user, chats)
    reply_templates_editor(templates, user)


ui.takeaway(board["takeaway"] if board else feed.takeaway(commented))
if board is None or board["status"].is_empty():
    ratings()
    st.stop()

totals = board["totals"]
hours = totals["hours_to_first_contact"]
ui.figures(
    [
        ui.Figure("Open cases", f"{totals['open']:,}"),
        ui.Figure("Closed cases", f"{totals['closed']:,}"),
        ui.Figure("Median time to first contact", "–" if hours is None else f"{hours:.1f} h"),
        ui.Figure("SLA breaches", f"{totals['sla_breaches']:,}"),
        ui.Figure(
            "Callbacks overdue",
            f"{totals['callbacks_overdue']:,}",
            f"{totals['callbacks_due']} due in 24 h",
        ),
    ]
)

left, right = st.columns(2, gap="large")
with left:
    st.altair_chart(charts.case_status_chart(board["status"]), width="stretch")
with right:
    if board["reach"]["attempts"].sum():
        st.altair_chart(charts.reach_rate_chart(board["reach"]), width="stretch")
    else:
        st.info("No call has been logged yet.")

board_tables(board)
st.caption(
    f"SLA: first contact that reaches the customer within {cases.FIRST_CONTACT_SLA.total_seconds() / 3600:.0f} h, "
    f"closing within {cases.CLOSE_SLA.days} days; a breach counts once per case, also while it is still late."
)
ratings()
