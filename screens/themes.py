"""Comment themes: what customers talk about, what it costs in NPS, how they feel about each theme,
how it moves, in their words."""

import streamlit as st

from cx import charts, ui
from cx.voice import discovery, verbatims, word_cloud

user = ui.require_user(*ui.MANAGERS, *ui.OWN)
scope, filters = ui.data_scope(user), ui.filters()
ui.header("Comment themes", user, filters)

with st.spinner(ui.READING_TAGS):
    summary = ui.query(verbatims.theme_summary, scope, filters)
ui.takeaway(verbatims.themes_takeaway(summary))
if summary.is_empty() or summary["n_comments"][0] < 5:
    st.info(
        "Fewer than 5 comments in this scope and filters: themes are not shown. Widen the filters."
    )
    st.stop()

left, right = st.columns(2, gap="large")
with left:
    st.altair_chart(charts.theme_volume_chart(summary), width="stretch")
with right:
    st.altair_chart(charts.theme_impact_chart(summary), width="stretch")

left, right = st.columns(2, gap="large")
with left:
    st.altair_chart(charts.theme_polarity_chart(summary), width="stretch")
with right:
    polarity = ui.query(verbatims.theme_polarity_trend, scope, filters)
    st.altair_chart(charts.theme_polarity_trend_chart(polarity), width="stretch")

st.altair_chart(
    charts.theme_trend_chart(ui.query(verbatims.theme_trend, scope, filters)), width="stretch"
)

st.subheader("In their words")
png = ui.query(word_cloud.comment_cloud, scope, filters)
if png:
    st.image(png, width="stretch")

with st.expander("Candidate new themes: comments no theme matched"):
    candidates = ui.query(discovery.candidate_themes, scope, filters)
    if candidates.is_empty():
        st.info("No recurring topic among the untagged comments.")
    else:
        ui.table(
            candidates,
            name=f"candidate themes {filters.wave or ''}",
            key="candidate_themes",
            column_config={
                "share": st.column_config.NumberColumn("share of untagged", format="percent"),
                "top_terms": st.column_config.ListColumn("top terms"),
                "examples": st.column_config.ListColumn(
                    "example verbatims (masked)", width="large"
                ),
            },
        )
        st.caption("Add a candidate's terms to cx/config/themes.yaml to turn it into a theme.")

st.caption(
    "Themes come from the multilingual taxonomy in cx/config/themes.yaml (es, fr, en, ru). NPS impact = NPS of all "
    "commenters minus NPS of those not mentioning the theme; ranked only with 30+ mentions, hidden under 5. "
    'Each mention has its own polarity ("lovely staff, but the queue took ages": staff positive, waiting '
    "negative); net = % positive minus % negative mentions. "
    "▲▼ = share of comments changed significantly vs the previous wave (two-proportion z-test, 95 %)."
)
