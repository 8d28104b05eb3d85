"""Review meeting screen: large slide type and presentation mode, a slide, and the controls that
step through the slides with the step in the URL."""

from __future__ import annotations

import streamlit as st

from cx.core import text as text_mod
from cx.improve import meeting
from cx.ui.components import figures, style, takeaway
from cx.ui.state import set_url, url_follows

_SLIDE_CSS = """<style>
.cx-slide-kicker { color: #6b7280; font-size: 1.05rem; letter-spacing: .02em; }
h1 { font-size: 3.2rem !important; }
.cx-takeaway { font-size: 1.8rem !important; line-height: 1.35; }
[data-testid="stMetricValue"] { font-size: 4rem !important; }
[data-testid="stMetricLabel"] p { font-size: 1.3rem !important; }
[data-testid="stTable"] th, [data-testid="stTable"] td { font-size: 1.35rem !important; padding: .55rem .8rem !important; }
</style>"""


_PRESENT_CSS = """<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stSidebarNav"],
[data-testid="stHeader"], [data-testid="stToolbar"] { display: none !important; }
.block-container, [data-testid="stMainBlockContainer"] { padding-top: 1.2rem !important; max-width: 100% !important; }
</style>"""


def slide_style(present: bool) -> None:
    """Large type for a meeting screen; in presentation mode the sidebar and toolbar are hidden too."""
    style()
    st.html(_SLIDE_CSS + (_PRESENT_CSS if present else ""))


def kicker(text: str) -> None:
    """The small grey line above a slide's title (plain text: escaped)."""
    st.html(f'<div class="cx-slide-kicker">{text_mod.escape_html(text)}</div>')


def slide(shown: meeting.Slide) -> None:
    """A meeting slide (``cx.improve.meeting.Slide``): title, takeaway, big figures, a chart or a table."""
    st.title(shown.title)
    if shown.takeaway:
        takeaway(shown.takeaway)
    if shown.figures:
        figures(shown.figures)
    if shown.chart is not None:  # any top-level Altair chart (Slide.chart is typed as their base)
        st.altair_chart(shown.chart, width="stretch")  # type: ignore[call-overload]
    if shown.table is not None:
        st.table(shown.table, border="horizontal", hide_index=True)


def stepper(step: int, count: int, *, param: str = "step", key: str = "step_pick") -> None:
    """Previous · page numbers · Next, also on the ← / → keys; each writes the step to ``?<param>=``
    (read back with :func:`url_pick`), so a pasted link opens the same screen."""
    nav = st.columns([1, 4, 1], vertical_alignment="center")
    nav[0].button(
        "Previous",
        on_click=set_url,
        kwargs={param: step - 1},
        shortcut="Left",
        disabled=step <= 1,
        width="stretch",
    )
    with nav[1], st.container(horizontal_alignment="center"):
        st.pagination(
            count,
            key=key,
            max_visible_pages=12,
            width="stretch",
            on_change=url_follows(param, key),
        )
    nav[2].button(
        "Next",
        on_click=set_url,
        kwargs={param: step + 1},
        shortcut="Right",
        disabled=step >= count,
        width="stretch",
        type="primary",
    )
