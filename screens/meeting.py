"""Review meeting: step through an agenda one idea per screen, large type, sidebar hidden when presenting.

The agenda, the step, the comparison and presentation mode live in the URL (with the sidebar's wave),
so a link pasted in the meeting chat opens the same screen for anyone allowed to see it.
← / → (or the buttons) move between screens.
"""

import streamlit as st

from cx import store, ui
from cx.improve import meeting

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
ui.slide_style(present)

step = ui.url_pick("step", range(1, len(screens) + 1), "step_pick", default=1)
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

ui.kicker(
    f"{kind.capitalize()} review · {step} / {len(screens)} · {ui.filter_summary(filters)} · {scope}"
)
ui.slide(slide)
ui.stepper(step, len(screens))

if not present:
    with st.expander(f"Edit the {kind} agenda of {scope}"):
        chosen = st.multiselect(
            "Screens, in order",
            meeting.available(),
            default=screens,
            format_func=lambda x: meeting.SCREENS[x].title,
        )
        if st.button("Save the agenda"):
            ui.act(
                lambda s: meeting.save_agenda(s, user=user, kind=kind, screens=chosen),
                refused=(meeting.AgendaError,),
                slot="agenda",
            )
        ui.flash("agenda")
