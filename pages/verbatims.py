"""Verbatims: read what customers wrote, filtered by theme, sentiment, score, agency, wave or text."""

import streamlit as st

from cx import ui
from cx.voice import verbatims

user = ui.require_user(*ui.MANAGERS)
scope, filters = user.scope, ui.filters()
ui.header("Verbatims", user, filters)

options = ui.query(verbatims.verbatim_options, scope, filters)
labels = verbatims.theme_labels()
c1, c2, c3, c4, c5 = st.columns([2, 2, 2, 2, 2])
theme = c1.selectbox(
    "Theme",
    ["", *options["theme"]],
    format_func=lambda t: labels.get(t, "All themes"),
    key="vb_theme",
    bind="query-params",
)
sentiment = c2.selectbox(
    "Sentiment",
    ["", *verbatims.SENTIMENT_BANDS],
    format_func=lambda s: s.capitalize() or "Any sentiment",
    key="vb_sentiment",
    bind="query-params",
)
band = c3.selectbox(
    "Score",
    ["", *verbatims.SCORE_BANDS],
    format_func=lambda s: f"{s.capitalize()}s" if s else "Any score",
    key="vb_band",
    bind="query-params",
)
agency = c4.selectbox(
    "Agency",
    ["", *options["agency"]],
    format_func=lambda a: a or "All agencies",
    key="vb_agency",
    bind="query-params",
)
wave = c5.selectbox(
    "Wave",
    ["", *options["wave"]],
    format_func=lambda w: {"": f"Wave {filters.wave}", "all": "All waves"}.get(w, w),
    key="vb_wave",
    bind="query-params",
)
search = st.text_input(
    "Search the comments (plain text)",
    key="vb_search",
    bind="query-params",
    placeholder="e.g. cola, attente, queue, очередь",
)

found = ui.query(
    verbatims.verbatims,
    scope,
    filters,
    theme=theme or None,
    sentiment=sentiment or None,
    score_band=band or None,
    agency=agency or None,
    wave=wave or None,
    search=search.strip() or None,
)
ui.takeaway(verbatims.verbatims_takeaway(found))
ui.verbatim_cards(found)
st.caption(
    "Newest first, at most 200. E-mails, phone, card and IBAN numbers are masked; comments of an agency and wave "
    "with fewer than 5 responses are never shown. Highlighted: the theme expressions and your search."
)
