"""Survey designer screen: the list of surveys, the survey and version pickers bound to the URL,
the YAML editor, the "new survey from the default" form and the preview of each path."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

from cx.capture import surveys
from cx.core import text as text_mod
from cx.ui.actions import flash
from cx.ui.components import table
from cx.ui.state import set_url

_esc = text_mod.escape_markdown


def survey_table(rows: Sequence[dict[str, Any]]) -> None:
    """The stored surveys, one row each (their latest version)."""
    table(rows, name="surveys", key="surveys")


def _follow(param: str, key: str, drop: tuple[str, ...] = ()) -> Any:
    return lambda: set_url(drop=drop, **{param: st.session_state[key]})


def pick_survey(ids: Sequence[str], preferred: str = "experience") -> str:
    """The survey picker, following ``?survey=<id>`` (a pasted link opens that survey)."""
    asked, key = st.query_params.get("survey", ""), "survey_pick"
    if asked in ids:
        st.session_state[key] = asked
    elif st.session_state.get(key) not in ids:
        st.session_state[key] = preferred if preferred in ids else ids[0]
    picked: str = st.selectbox(
        "Survey", list(ids), key=key, on_change=_follow("survey", key, ("version",))
    )
    return picked


def pick_version(survey_id: str, stored: Sequence[int]) -> int:
    """The version picker (latest first), following ``?version=<n>``."""
    asked, key = st.query_params.get("version", ""), f"version_pick_{survey_id}"
    if asked.isdigit() and int(asked) in stored:
        st.session_state[key] = int(asked)
    elif st.session_state.get(key) not in stored:
        st.session_state[key] = stored[-1]
    picked: int = st.selectbox(
        "Version",
        list(reversed(stored)),
        key=key,
        format_func=lambda n: f"v{n}" + (" (latest)" if n == stored[-1] else ""),
        on_change=_follow("version", key),
    )
    return picked


def version_line(survey: surveys.Survey, latest: int) -> None:
    """Who saved the version shown, when, and what editing it does."""
    st.caption(
        _esc(
            f"v{survey.version} · {survey.status} · saved {survey.updated_at or 'at an unknown time'} "
            f"by {survey.updated_by or 'an unknown user'} · {survey.name}. Saving makes v{latest + 1}; "
            "answers keep the version they were given on."
        )
    )


def yaml_editor(survey: surveys.Survey) -> str | None:
    """The survey as YAML in a text area; the edited text once "Save as a new version" is clicked
    (a refusal of the save is flashed in the form: slot ``save_survey``)."""
    with st.form(f"survey_yaml_{survey.id}_{survey.version}"):
        text = st.text_area(
            "Definition (YAML)",
            value=surveys.dump(survey),
            height=480,
            key=f"survey_yaml_{survey.id}_{survey.version}",
            help="Conditions test answers of an earlier step: `attr_cleanliness <= 4`, "
            "`callback == yes`. Texts per language may use {agency} and {first_name}.",
        )
        saved = st.form_submit_button("Save as a new version", type="primary")
        flash("save_survey")
    return text if saved else None


def refusal(exc: Exception) -> None:
    """A refused edit: its one-line reason (escaped: it quotes what was typed)."""
    st.error(f"{_esc(str(exc))}. Nothing was saved.")


def new_survey_form() -> str | None:
    """The "new survey from the default" form: the new survey's id once submitted (slot
    ``new_survey`` shows a refusal)."""
    with (
        st.expander("New survey from the default"),
        st.form("new_survey", clear_on_submit=True),
    ):
        sid = st.text_input(
            "Id of the new survey", max_chars=40, help="a-z, 0-9, _ and -, e.g. kiosk or after_sale"
        )
        submitted = st.form_submit_button("New survey from the default")
        flash("new_survey")
    return sid.strip() if submitted else None


def _describe(q: surveys.ShownQuestion) -> str:
    if q.kind in surveys.SCALES:
        lo, hi = surveys.SCALES[q.kind]
        ends = f"{lo} {q.low} … {hi} {q.high}" if q.low or q.high else f"{lo} … {hi}"
        kind = f"{q.kind} scale {ends}"
    elif q.choices:
        kind = f"{q.kind}: " + " / ".join(q.choices)
    else:
        kind = q.kind
    required = " · required" if q.required else ""
    return f"{q.id} · {kind}{required} · sample answer: {q.answer}"


def survey_preview(survey: surveys.Survey) -> None:
    """Each path through the survey, step by step, in one language, as a respondent sees it
    (agency "Madrid", first name "Ana"), then its thank-you page."""
    st.subheader("Preview")
    routes = {name: answers for name, answers, _ in surveys.paths(survey)}
    c1, c2 = st.columns(2)
    name = c1.selectbox("Path", list(routes), key=f"preview_path_{survey.id}_{survey.version}")
    lang = c2.selectbox(
        "Language",
        list(survey.languages),
        index=survey.languages.index(survey.default_language),
        format_func=lambda code: surveys.LANGUAGE_NAMES.get(code, code),
        key=f"preview_language_{survey.id}_{survey.version}",
    )
    answers, values = routes[name], surveys.SAMPLE_VALUES
    default = survey.default_language
    st.markdown(_esc(surveys.render(surveys.pick(survey.intro, lang, default), values)))
    for index, title, questions in surveys.preview(survey, answers, lang):
        st.markdown(f"#### Step {index + 1}" + (f" · {_esc(title)}" if title else ""))
        for q in questions:
            st.markdown(f"**{_esc(q.text)}**")
            st.caption(_esc(_describe(q)))
    st.markdown(f"#### Thank-you page ({surveys.outcome(answers)})")
    st.markdown(_esc(surveys.thank_you(survey, answers, lang, values)))
    if surveys.asks_review(survey, answers):
        st.caption(_esc(f"Public review link shown: {survey.review_url}"))
