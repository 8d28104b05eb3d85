"""Surveys (data admins): the survey definitions under ``data/surveys/``, each version, the YAML
editor that saves a new version, a new survey from the default, and a preview of each path.

``?survey=<id>&version=<n>`` reopens a survey at a version (links pasted in a chat reopen it).
"""

import streamlit as st

from cx import ui
from cx.capture import surveys
from cx.core import roles
from cx.ui import surveys as designer

user = ui.require_user(*roles.DATA_ADMINS)
root = ui.data_root()
ui.header("Surveys", user)
try:
    surveys.ensure_default(root)
    listed = surveys.list_surveys(root)
except surveys.SurveyError as exc:
    designer.refusal(exc)
    st.stop()
ui.takeaway(surveys.takeaway(listed))
designer.survey_table(surveys.summary(listed))

if (new_id := designer.new_survey_form()) is not None:
    ui.act(
        lambda _s: surveys.create(root, new_id, by=user),
        lambda s: f"Survey {s.id} v1 created from the default, as a draft.",
        refused=surveys.REFUSED,
        failed="{exc}. Nothing was saved.",
        then=lambda s: ui.set_url(drop=("version",), survey=s.id),
        slot="new_survey",
    )

sid = designer.pick_survey([s.id for s in listed])
stored = surveys.versions(root, sid)
try:
    survey = surveys.load(root, sid, designer.pick_version(sid, stored))
except surveys.SurveyError as exc:
    designer.refusal(exc)
    st.stop()
designer.version_line(survey, stored[-1])
if (text := designer.yaml_editor(survey)) is not None:
    try:
        edited = surveys.parse_edit(text, sid)
    except surveys.SurveyError as exc:
        designer.refusal(exc)
    else:
        ui.act(
            lambda _s: surveys.save(root, edited, by=user),
            lambda s: f"Survey {s.id} saved as v{s.version}; earlier answers keep their version.",
            refused=surveys.REFUSED,
            failed="{exc}. Nothing was saved.",
            then=lambda s: ui.set_url(survey=s.id, version=s.version),
            slot="save_survey",
        )
designer.survey_preview(survey)
