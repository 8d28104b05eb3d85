"""Verbatims: read what customers wrote, filtered by theme and what they said about it, sentiment,
score, agency, wave or text; download the filtered verbatims as CSV or XLSX."""

import streamlit as st

from cx import ui
from cx.voice import verbatims

user = ui.require_user(*ui.MANAGERS)
scope, filters = user.scope, ui.filters()
ui.header("Verbatims", user, filters)

with st.spinner(ui.READING_TAGS):
    options = ui.query(verbatims.verbatim_options, scope, filters)
picks = ui.verbatim_filters(options, verbatims.theme_labels(), f"Wave {filters.wave}")
found = ui.query(verbatims.verbatims, scope, filters, **picks)
ui.takeaway(verbatims.verbatims_takeaway(found))
ui.downloads(
    lambda: ui.query(verbatims.verbatim_export, scope, filters, **picks),
    name="verbatims",
    key="vb",
    count=verbatims.export_count(found),
)
ui.verbatim_cards(found)
st.caption(
    "Newest first, at most 200. E-mails, phone, card and IBAN numbers are masked; comments of an agency and wave "
    "with fewer than 5 responses are never shown. Highlighted: the theme expressions and your search. "
    "'Said about it' is the polarity of the chosen theme in each comment. Downloads hold every match (up to "
    "50,000) inside your scope, masked the same way."
)
