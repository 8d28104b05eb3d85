"""Staff scorecards: per advisor and period, the satisfaction of the customers they served, the
negative ratings commented and the cases closed within SLA. An advisor sees their own; an agency
manager their agency's advisors (for the motivation system and HR)."""

import streamlit as st

from cx import ui
from cx.core import roles
from cx.improve import scorecards

user = ui.require_user(*roles.SCORECARD_READERS, *roles.OWN_DASHBOARDS)
filters = ui.filters()
own = not user.has(*roles.SCORECARD_READERS)
ui.header("My scorecard" if own else "Staff scorecards", user, filters)

period = ui.scorecard_period()
try:
    cards = ui.scorecard_rows(user, filters, period)
except scorecards.ScorecardForbidden as exc:
    st.error(str(exc))
    st.stop()
ui.scorecard_show(cards, period, own=own)
st.caption(
    "Answers of the customers each advisor served (advisor_id), by calendar "
    f"{period} of the answer; excluded answers out, weights applied. Fewer than 5 answers: no score; "
    "under 30: low base, never ranked. Commented = negative ratings (NPS 0–6) the staff commented in "
    "the rating feed; SLA = cases of these customers closed within 7 days. The wave filter does not "
    "apply here; channel, touchpoint and segment do."
)
