"""Voice of the customer screens: verbatims as HTML cards (every field escaped)."""

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
