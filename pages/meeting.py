"""Review meeting: step through an agenda one idea per screen, large type, sidebar hidden when presenting.

The agenda, the step, the comparison and presentation mode live in the URL (with the sidebar's wave),
so a link pasted in the meeting chat opens the same screen for anyone allowed to see it.
← / → (or the buttons) move between screens.
"""

import streamlit as st

from cx import store, ui
from cx.core.text import escape_html
from cx.improve import meeting

CSS = """<style>
.cx-slide-kicker { color: #6b7280; font-size: 1.05rem; letter-spacing: .02em; }
h1 { font-size: 3.2rem !important; }
.cx-takeaway { font-size: 1.8rem !important; line-height: 1.35; }
[data-testid="stMetricValue"] { font-size: 4rem !important; }
[data-testid="stMetricLabel"] p { font-size: 1.3rem !important; }
[data-testid="stTable"] th, [data-testid="stTable"] td { font-size: 1.35rem !important; padding: .55rem .8rem !important; }
</style>"""
PRESENT_CSS = """<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stSidebarNav"],
[data-testid="stHeader"], [data-testid="stToolbar"] { display: none !important; }
.block-container, [data-testid="stMainBlockContainer"] { padding-top: 1.2rem !important; max-width: 100% !important; }
</style>"""

user = ui.require_user(*ui.MANAGERS)
scope, filters = user.scope, ui.filters()
engine = ui.engine()

bar = st.columns([2, 2, 1.2], vertical_alignment="center")
kind = bar[0].segmented_control(
    "Agenda", meeting.KINDS, key="agenda", bind="query-params", default="quarterly", required=True
)
compare_label = bar[1].segmented_control(
    "Compare to",
    list(meeting.COMPARE.values()),
    key="compare",
    bind="query-params",
    default=meeting.COMPARE["previous"],
    required=True,
)
compare = {v: k for k, v in meeting.COMPARE.items()}[compare_label]
present = bar[2].toggle("Presentation mode", key="present", bind="query-params")
with store.session(engine) as s:
    screens = meeting.agenda(s, scope, kind)
ui.style()
st.html(CSS + (PRESENT_CSS if present else ""))


def go(step: int) -> None:
    st.query_params["step"] = str(min(max(1, step), len(screens)))


asked = st.query_params.get("step", "1")
step = int(asked) if asked.isdigit() and 1 <= int(asked) <= len(screens) else 1
st.session_state["step_pick"] = (
    step  # the URL is the source of truth (a pasted link opens that screen)
)
screen = screens[step - 1]
try:
    if meeting.SCREENS[screen].store:
        slide = meeting.build(
            screen,
            meeting.MeetingContext(ui.responses(), scope, filters, compare=compare, engine=engine),
        )
    else:
        slide = ui.query(meeting.slide, scope, filters, screen=screen, compare=compare)
except Exception as exc:  # one failing screen must not end the meeting
    st.error(
        f"This screen could not be computed ({type(exc).__name__}: {exc}); move on to the next one."
    )
    slide = meeting.Slide(screen, meeting.SCREENS[screen].title, "")

st.html(
    f'<div class="cx-slide-kicker">{escape_html(f"{kind.capitalize()} review · {step} / {len(screens)} · {ui.filter_summary(filters)} · {scope}")}</div>'
)
st.title(slide.title)
if slide.takeaway:
    ui.takeaway(slide.takeaway)
if slide.figures:
    for col, fig in zip(st.columns(len(slide.figures)), slide.figures, strict=True):
        col.metric(fig.label, fig.value, fig.note, delta_color="off", delta_arrow="off")
if slide.chart is not None:
    st.altair_chart(slide.chart, width="stretch")
if slide.table is not None:
    st.table(slide.table, border="horizontal", hide_index=True)

nav = st.columns([1, 4, 1], vertical_alignment="center")
nav[0].button(
    "Previous", on_click=go, args=(step - 1,), shortcut="Left", disabled=step <= 1, width="stretch"
)
with nav[1], st.container(horizontal_alignment="center"):
    st.pagination(
        len(screens),
        key="step_pick",
        max_visible_pages=12,
        width="stretch",
        on_change=lambda: go(st.session_state["step_pick"]),
    )
nav[2].button(
    "Next",
    on_click=go,
    args=(step + 1,),
    shortcut="Right",
    disabled=step >= len(screens),
    width="stretch",
    type="primary",
)

if not present:
    with st.expander(f"Edit the {kind} agenda of {scope}"):
        chosen = st.multiselect(
            "Screens, in order",
            meeting.available(),
            default=screens,
            format_func=lambda x: meeting.SCREENS[x].title,
        )
        if st.button("Save the agenda"):
            try:
                with store.session(engine) as s:
                    meeting.save_agenda(s, user=user, kind=kind, screens=chosen)
                st.rerun()
            except meeting.AgendaError as exc:
                st.error(str(exc))
