"""Voice of the customer screens: verbatims as HTML cards (every field escaped) and their filters
(their downloads are the tables' ones, :func:`cx.ui.components.downloads`)."""

from __future__ import annotations

import polars as pl
import streamlit as st

from cx.core import text as text_mod

CARD_CSS = """<style>
.cx-vb { border-left: 5px solid #9db4ec; padding: .55rem .9rem; margin: 0 0 .7rem 0; background: #fafbfe; border-radius: 4px; }
.cx-vb.detractor { border-left-color: #d73027; } .cx-vb.promoter { border-left-color: #1a9850; } .cx-vb.passive { border-left-color: #f2b134; }
.cx-vb-meta { color: #6b7280; font-size: .95rem; margin-bottom: .2rem; }
.cx-vb-text { font-size: 1.2rem; color: #1f2a44; line-height: 1.45; }
.cx-vb-text mark { background: #ffe58a; padding: 0 .15rem; border-radius: 3px; }
</style>"""


READING_TAGS = "Reading the themes of the comments (new data: each wave is tagged once)…"
"""The wait of a comment screen when a data version's tags are not stored yet."""


def verbatim_html(df: pl.DataFrame) -> str:
    """HTML cards of verbatims (every field escaped; the comment comes pre-escaped and marked)."""
    if df.is_empty():
        return ""

    def esc(c: str) -> pl.Expr:
        return text_mod.escape_html_expr(pl.col(c).cast(pl.String).fill_null("–"))

    cards = df.select(
        pl.format(
            '<div class="cx-vb {}"><div class="cx-vb-meta">{} · {} · NPS {} ({}) · {} · sentiment {}</div>'
            '<div class="cx-vb-text">{}</div></div>',
            esc("score_band"),
            esc("agency"),
            esc("wave"),
            esc("nps"),
            esc("score_band"),
            pl.when(pl.col("themes").list.len() > 0)
            .then(
                text_mod.escape_html_expr(
                    pl.col("themes").list.join(", ").str.replace_all("_", " ")
                )
            )
            .otherwise(pl.lit("no theme")),
            pl.col("sentiment").round(2).cast(pl.String).fill_null("–"),
            pl.col("comment_html"),
        ).alias("card")
    )["card"].str.join("")
    return CARD_CSS + str(cards[0])


def verbatim_cards(df: pl.DataFrame) -> None:
    """Verbatims as cards, newest first: agency, wave, score, themes and sentiment above each comment."""
    if not df.is_empty():
        st.html(verbatim_html(df))


def verbatim_filters(
    options: dict[str, list[str]], labels: dict[str, str], wave_label: str
) -> dict[str, str | None]:
    """The verbatim explorer's filters (each bound to the URL): theme, that theme's polarity,
    overall sentiment, score band, agency, wave and a plain-text search. Empty = no filter."""
    c1, c2, c3, c4, c5, c6 = st.columns(6)
    picks = {
        "theme": c1.selectbox(
            "Theme",
            ["", *options["theme"]],
            format_func=lambda t: labels.get(t, "All themes"),
            key="vb_theme",
            bind="query-params",
        ),
        "polarity": c2.selectbox(
            "Said about it",
            ["", "negative", "positive", "neutral"],
            format_func=lambda p: {"": "Any polarity"}.get(p, p.capitalize()),
            key="vb_polarity",
            bind="query-params",
            help="The polarity of the chosen theme in the comment: 'lovely staff, but the queue "
            "took ages' is positive on staff and negative on waiting time.",
        ),
        "sentiment": c3.selectbox(
            "Overall sentiment",
            ["", "positive", "negative", "neutral"],
            format_func=lambda s: s.capitalize() or "Any sentiment",
            key="vb_sentiment",
            bind="query-params",
        ),
        "score_band": c4.selectbox(
            "Score",
            ["", "promoter", "passive", "detractor"],
            format_func=lambda s: f"{s.capitalize()}s" if s else "Any score",
            key="vb_band",
            bind="query-params",
        ),
        "agency": c5.selectbox(
            "Agency",
            ["", *options["agency"]],
            format_func=lambda a: a or "All agencies",
            key="vb_agency",
            bind="query-params",
        ),
        "wave": c6.selectbox(
            "Wave",
            ["", *options["wave"]],
            format_func=lambda w: {"": wave_label, "all": "All waves"}.get(w, w),
            key="vb_wave",
            bind="query-params",
        ),
    }
    search = st.text_input(
        "Search the comments (plain text)",
        key="vb_search",
        bind="query-params",
        placeholder="e.g. cola, attente, queue, очередь",
    )
    picks["search"] = search.strip()
    return {k: (v or None) for k, v in picks.items()}
