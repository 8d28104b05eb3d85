"""Survey definitions: the YAML round trip and its one-line refusals, the conditions and steps of
each path of the default survey, the checking of submitted forms, versioned saves (also from two
processes at once), waves by cadence, the data-contract row and the placeholders."""

from __future__ import annotations

import multiprocessing
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from cx.capture import surveys
from cx.capture.surveys import AnswerError, Condition, Question, SurveyError
from cx.core.data import sort_waves, wave_period
from cx.core.scope import Scope
from cx.core.users import User
from tests.support.apptest import demo_user

DEFAULT = surveys.default_survey()
STEP_NPS, STEP_ATTRS, STEP_FOLLOWUPS, STEP_COMMENT, STEP_CALLBACK = range(5)


def default_doc() -> dict:
    return yaml.safe_load(surveys.DEFAULT_FILE.read_text(encoding="utf-8"))


def refusal(doc: dict) -> str:
    with pytest.raises(SurveyError) as caught:
        surveys.parse(yaml.safe_dump(doc, allow_unicode=True), source="surveys/experience/v3.yaml")
    message = str(caught.value)
    assert "\n" not in message
    return message


# ---------------------------------------------------------------- parse / dump


def test_the_default_survey_is_experience_in_four_languages_with_five_steps() -> None:
    assert (DEFAULT.id, DEFAULT.version, DEFAULT.cadence, DEFAULT.status) == (
        "experience",
        1,
        "quarter",
        "live",
    )
    assert DEFAULT.languages == ("es", "fr", "en", "ru")
    assert [[q.id for q in s.questions] for s in DEFAULT.steps] == [
        ["nps"],
        [
            "attr_cleanliness",
            "attr_waiting_time",
            "attr_staff_attitude",
            "attr_staff_competence",
            "csat",
        ],
        ["followup_cleanliness", "followup_waiting", "followup_staff"],
        ["comment", "callback"],
        ["phone", "callback_slot"],
    ]
    nps = DEFAULT.steps[0].questions[0]
    assert (
        nps.required
        and nps.low["en"] == "Not at all likely"
        and nps.high["en"] == "Extremely likely"
    )
    assert DEFAULT.steps[2].questions[0].when == (Condition("attr_cleanliness", "<=", 4),)
    assert DEFAULT.steps[3].questions[1].when == (Condition("nps", "<=", 6),)
    assert DEFAULT.steps[4].questions[0].when == (Condition("callback", "==", "yes"),)
    assert [c.value for c in DEFAULT.steps[4].questions[1].choices] == [
        "morning",
        "afternoon",
        "evening",
    ]
    assert DEFAULT.review_url == "https://g.page/r/cx-demo-review/review"
    assert set(DEFAULT.thanks) == {"promoter", "passive", "detractor", "callback"}


def test_dump_then_parse_gives_the_same_survey() -> None:
    edited = replace(
        DEFAULT, version=4, updated_by="analyst", updated_at="2026-11-30T09:00:00+00:00"
    )
    assert surveys.parse(surveys.dump(edited), source="x.yaml") == edited
    assert surveys.dump(surveys.parse(surveys.dump(edited), source="x.yaml")) == surveys.dump(
        edited
    )


def test_a_condition_may_be_written_as_a_list_and_with_quotes() -> None:
    doc = default_doc()
    doc["steps"][4]["questions"][0]["when"] = ["callback == 'yes'", "nps < 7"]
    survey = surveys.parse(yaml.safe_dump(doc), source="x.yaml")
    assert survey.steps[4].questions[0].when == (
        Condition("callback", "==", "yes"),
        Condition("nps", "<", 7),
    )


def _set(doc: dict, path: tuple, value: object) -> dict:
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return doc


CASES = [
    (
        ("steps", 2, "questions", 0, "when"),
        "attr_x <= 4",
        "surveys/experience/v3.yaml: steps[2].questions[0].when: unknown field 'attr_x' (not asked in an earlier step)",
    ),
    (
        ("steps", 1, "questions", 0, "when"),
        "csat <= 2",  # csat is asked in the same step
        "surveys/experience/v3.yaml: steps[1].questions[0].when: unknown field 'csat' (not asked in an earlier step)",
    ),
    (
        ("steps", 2, "questions", 0, "when"),
        "attr_cleanliness = 4",
        "surveys/experience/v3.yaml: steps[2].questions[0].when: unknown operator '='; use <=, <, >=, >, ==, !=",
    ),
    (
        ("steps", 2, "questions", 0, "when"),
        "attr_cleanliness <= __import__('os')",
        "surveys/experience/v3.yaml: steps[2].questions[0].when: attr_cleanliness is a score: compare it with a whole number, not \"__import__('os')\"",
    ),
    (
        ("steps", 4, "questions", 0, "when"),
        "callback == maybe",
        "surveys/experience/v3.yaml: steps[4].questions[0].when: 'maybe' is not a choice of callback (yes, no)",
    ),
    (
        ("steps", 1, "questions", 0, "id"),
        "attr_Clean-ness",
        "surveys/experience/v3.yaml: steps[1].questions[0].id: 'attr_Clean-ness' does not match ^attr_[a-z0-9_]+$",
    ),
    (
        ("steps", 1, "questions", 1, "id"),
        "attr_cleanliness",
        "surveys/experience/v3.yaml: steps[1].questions[1].id: 'attr_cleanliness' is asked twice",
    ),
    (
        ("steps", 1, "questions", 0, "kind"),
        "slider",
        "surveys/experience/v3.yaml: steps[1].questions[0].kind: unknown kind 'slider'; kinds: nps, csat, attribute, comment, text, choice, callback, phone, slot",
    ),
    (
        ("cadence",),
        "year",
        "surveys/experience/v3.yaml: cadence: 'year' is not one of quarter, month, week",
    ),
    (
        ("languages",),
        ["es", "de"],
        "surveys/experience/v3.yaml: languages: 'de' is not offered; languages: es, fr, en, ru",
    ),
    (
        ("review_url",),
        "javascript:alert(1)",
        "surveys/experience/v3.yaml: review_url: 'javascript:alert(1)' is not an http(s) address",
    ),
    (
        ("status",),
        "published",
        "surveys/experience/v3.yaml: status: 'published' is not one of draft, live",
    ),
    (
        ("colour",),
        "blue",
        "surveys/experience/v3.yaml: colour: unknown key; allowed: id, version, name, languages, default_language, cadence, touchpoint, status, review_url, updated_by, updated_at, intro, steps, thanks",
    ),
    (
        ("steps", 0, "questions", 0, "colour"),
        "blue",
        "surveys/experience/v3.yaml: steps[0].questions[0].colour: unknown key; allowed: id, kind, text, choices, when, required, max_length, low, high",
    ),
    (
        ("steps", 0, "questions", 0, "required"),
        False,
        "surveys/experience/v3.yaml: steps: a survey asks a required nps question, shown to everyone",
    ),
    (
        ("intro", "en"),
        "Hello {agency.__class__}",
        "surveys/experience/v3.yaml: intro.en: unknown placeholder {agency.__class__}; use {agency} or {first_name}",
    ),
    (
        ("id",),
        "../etc",
        "surveys/experience/v3.yaml: id: '../etc' does not match ^[a-z0-9][a-z0-9_-]{0,39}$",
    ),
    (
        ("thanks", "promoter", "de"),
        "Danke",
        "surveys/experience/v3.yaml: thanks.promoter.de: unknown language; the survey offers es, fr, en, ru",
    ),
    (
        ("steps", 2, "questions", 0, "choices", 1, "value"),
        "waiting_area",
        "surveys/experience/v3.yaml: steps[2].questions[0].choices[1].value: 'waiting_area' is given twice",
    ),
]


@pytest.mark.parametrize(
    ("path", "value", "expected"), CASES, ids=[c[2].split(": ", 1)[1] for c in CASES]
)
def test_a_bad_definition_is_refused_with_one_line_naming_the_field(
    path: tuple, value: object, expected: str
) -> None:
    assert refusal(_set(default_doc(), path, value)) == expected


def test_a_missing_language_text_is_refused_naming_the_language() -> None:
    doc = default_doc()
    del doc["steps"][3]["questions"][0]["text"]["ru"]
    assert (
        refusal(doc)
        == "surveys/experience/v3.yaml: steps[3].questions[0].text: missing the 'ru' text"
    )


def test_a_missing_thank_you_outcome_is_refused() -> None:
    doc = default_doc()
    del doc["thanks"]["callback"]
    assert (
        refusal(doc) == "surveys/experience/v3.yaml: thanks: missing the 'callback' thank-you text"
    )


def test_broken_yaml_is_refused_with_its_line_and_column() -> None:
    with pytest.raises(SurveyError) as caught:
        surveys.parse("id: x\nname: [unclosed\n", source="edited")
    assert (
        str(caught.value) == "edited: line 3, column 1: expected ',' or ']', but got '<stream end>'"
    )


def test_yaml_tags_that_build_python_objects_are_refused() -> None:
    with pytest.raises(SurveyError) as caught:
        surveys.parse("!!python/object/apply:os.system ['true']", source="edited")
    assert str(caught.value).startswith("edited: line 1, column 1: ")


# ---------------------------------------------------------------- conditions and steps


def test_conditions_compare_numbers_and_words_and_never_hold_on_a_blank_answer() -> None:
    low = Condition("attr_cleanliness", "<=", 4)
    assert low.holds({"attr_cleanliness": 4}) and low.holds({"attr_cleanliness": "0"})
    assert not low.holds({"attr_cleanliness": 5})
    assert not low.holds({}) and not low.holds({"attr_cleanliness": " "})
    assert not low.holds({"attr_cleanliness": "4; drop table"})
    yes = Condition("callback", "==", "yes")
    assert yes.holds({"callback": "yes"}) and not yes.holds({"callback": "no"})
    assert Condition("callback", "!=", "yes").holds({"callback": "no"})
    assert not Condition("callback", "<", "yes").holds({"callback": "a"})


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"nps": 10, "attr_cleanliness": 9, "attr_waiting_time": 8}, [0, 1, 3]),
        ({"nps": 8, "attr_cleanliness": 3}, [0, 1, 2, 3]),
        ({"nps": 4, "attr_cleanliness": 6, "callback": "no"}, [0, 1, 3]),
        ({"nps": 4, "callback": "yes"}, [0, 1, 3, 4]),
        ({"nps": 9, "callback": "yes"}, [0, 1, 3, 4]),  # a stale callback answer still shows step 5
    ],
)
def test_next_step_walks_the_steps_with_a_visible_question(
    answers: dict, expected: list[int]
) -> None:
    walked, i = [], surveys.next_step(DEFAULT, -1, answers)
    while i is not None:
        walked.append(i)
        i = surveys.next_step(DEFAULT, i, answers)
    assert walked == expected


def test_visible_shows_only_the_follow_ups_whose_conditions_hold() -> None:
    step = DEFAULT.steps[STEP_FOLLOWUPS]
    answers = {"nps": 7, "attr_cleanliness": 2, "attr_waiting_time": 5, "attr_staff_attitude": 4}
    assert [q.id for q in surveys.visible(step, answers)] == [
        "followup_cleanliness",
        "followup_staff",
    ]
    assert [q.id for q in surveys.visible(DEFAULT.steps[STEP_COMMENT], {"nps": 7})] == ["comment"]
    assert [q.id for q in surveys.visible(DEFAULT.steps[STEP_COMMENT], {"nps": 6})] == [
        "comment",
        "callback",
    ]


def test_the_preview_paths_of_the_default_survey() -> None:
    found = {name: (answers, shown) for name, answers, shown in surveys.paths(DEFAULT)}
    assert list(found) == [
        "promoter",
        "passive",
        "detractor",
        "detractor with callback",
        "attr_cleanliness <= 4 → followup_cleanliness",
        "attr_waiting_time <= 4 → followup_waiting",
        "attr_staff_attitude <= 4 → followup_staff",
    ]
    assert found["promoter"][1] == [0, 1, 3]
    assert "callback" not in found["promoter"][0]
    assert found["detractor"][1] == [0, 1, 3] and found["detractor"][0]["callback"] == "no"
    answers, shown = found["detractor with callback"]
    assert shown == [0, 1, 3, 4]
    assert (answers["callback"], answers["callback_slot"]) == ("yes", "morning")
    answers, shown = found["attr_cleanliness <= 4 → followup_cleanliness"]
    assert shown == [0, 1, 2, 3] and answers["attr_cleanliness"] == 4
    assert answers["followup_cleanliness"] == "waiting_area" and "followup_waiting" not in answers
    assert [surveys.outcome(a) for a, _ in found.values()][:4] == [
        "promoter",
        "passive",
        "detractor",
        "callback",
    ]


def test_outcome_from_the_score_and_the_callback() -> None:
    assert [surveys.outcome({"nps": n}) for n in (0, 6, 7, 8, 9, 10)] == [
        "detractor",
        "detractor",
        "passive",
        "passive",
        "promoter",
        "promoter",
    ]
    assert surveys.outcome({"nps": 3, "callback": "yes"}) == "callback"
    assert surveys.outcome({"nps": 3, "callback": "no"}) == "detractor"


# ---------------------------------------------------------------- clean


def test_clean_keeps_checked_values_and_leaves_out_blank_optional_answers() -> None:
    questions = DEFAULT.steps[STEP_ATTRS].questions
    form = {
        "attr_cleanliness": "3",
        "attr_waiting_time": " 10 ",
        "csat": "5",
        "attr_staff_attitude": "",
        "csrf": "t",
    }
    assert surveys.clean(questions, form) == {
        "attr_cleanliness": 3,
        "attr_waiting_time": 10,
        "csat": 5,
    }
    callback = surveys.visible(DEFAULT.steps[STEP_CALLBACK], {"callback": "yes"})
    assert surveys.clean(callback, {"phone": "+34 (91) 123-45-67", "callback_slot": "evening"}) == {
        "phone": "+34911234567",
        "callback_slot": "evening",
    }
    comment = DEFAULT.steps[STEP_COMMENT].questions
    assert surveys.clean(
        comment, {"comment": "  <script>x</script>\r\nok  ", "callback": "no"}
    ) == {
        "comment": "<script>x</script>\nok",
        "callback": "no",
    }


@pytest.mark.parametrize(
    ("step", "form", "field", "reason"),
    [
        (STEP_NPS, {"nps": "11"}, "nps", "must be a whole number from 0 to 10"),
        (STEP_NPS, {"nps": "-1"}, "nps", "must be a whole number from 0 to 10"),
        (STEP_NPS, {"nps": "7; drop table"}, "nps", "must be a whole number from 0 to 10"),
        (STEP_NPS, {"nps": "7.5"}, "nps", "must be a whole number from 0 to 10"),
        (STEP_NPS, {}, "nps", "an answer is required"),
        (STEP_NPS, {"nps": "   "}, "nps", "an answer is required"),
        (STEP_ATTRS, {"csat": "0"}, "csat", "must be a whole number from 1 to 5"),
        (STEP_ATTRS, {"csat": "6"}, "csat", "must be a whole number from 1 to 5"),
        (STEP_COMMENT, {"comment": "x" * 2001}, "comment", "longer than 2000 characters"),
        (STEP_COMMENT, {"comment": "a\x00b"}, "comment", "contains control characters"),
        (STEP_COMMENT, {"callback": "maybe"}, "callback", "must be yes or no"),
        (
            STEP_FOLLOWUPS,
            {"followup_cleanliness": "kitchen"},
            "followup_cleanliness",
            "not one of the offered choices",
        ),
        (
            STEP_FOLLOWUPS,
            {"followup_staff": "y" * 1001},
            "followup_staff",
            "longer than 1000 characters",
        ),
        (
            STEP_CALLBACK,
            {"phone": "call me maybe", "callback_slot": "morning"},
            "phone",
            "not a phone number (6 to 20 digits; spaces, +, - and () allowed)",
        ),
        (
            STEP_CALLBACK,
            {"phone": "12345", "callback_slot": "morning"},
            "phone",
            "not a phone number (6 to 20 digits; spaces, +, - and () allowed)",
        ),
        (
            STEP_CALLBACK,
            {"phone": "+34 600 123 456", "callback_slot": "night"},
            "callback_slot",
            "not one of the offered choices",
        ),
        (STEP_CALLBACK, {"phone": "+34 600 123 456"}, "callback_slot", "an answer is required"),
    ],
)
def test_clean_refuses_a_bad_field_naming_it(
    step: int, form: dict, field: str, reason: str
) -> None:
    with pytest.raises(AnswerError) as caught:
        surveys.clean(DEFAULT.steps[step].questions, form)
    assert (caught.value.field, caught.value.reason) == (field, reason)
    assert str(caught.value) == f"{field}: {reason}"


# ---------------------------------------------------------------- texts and languages


def test_render_fills_only_the_two_placeholders_and_never_evaluates() -> None:
    values = {"agency": "Madrid", "first_name": "Ana"}
    assert surveys.render("Hola, {first_name}! {agency}", values) == "Hola, Ana! Madrid"
    assert surveys.render("{agency.__class__} {agency!r} {0} {agency:>10}", values) == (
        "{agency.__class__} {agency!r} {0} {agency:>10}"
    )
    assert surveys.render("Thank you, {first_name}. {agency}", {"agency": "{first_name}"}) == (
        "Thank you. {first_name}"
    )
    assert surveys.render("Merci {first_name} !", {"agency": "Paris"}) == "Merci !"


def test_the_default_thanks_read_well_with_and_without_a_first_name() -> None:
    values = {"agency": "Madrid", "first_name": "Ana"}
    detractor = DEFAULT.thanks["detractor"]["en"]
    assert surveys.render(detractor, values).startswith("Thank you, Ana, and we are sorry")
    assert surveys.render(detractor, {"agency": "Madrid"}) == (
        "Thank you, and we are sorry your visit fell short. Your feedback goes to the Madrid team, "
        "who will use it to put things right."
    )
    assert surveys.render(DEFAULT.intro["es"], {"agency": "Madrid"}).startswith("¡Hola! Gracias")


def test_language_for_prefers_the_asked_language_then_the_browsers_then_the_default() -> None:
    assert surveys.language_for(DEFAULT, "fr", "ru") == "fr"
    assert surveys.language_for(DEFAULT, "de", "ru-RU,ru;q=0.9,en;q=0.8") == "ru"
    assert surveys.language_for(DEFAULT, None, "de;q=1, es;q=0.4, fr;q=0.6") == "fr"
    assert surveys.language_for(DEFAULT, None, "es;q=0, de") == "en"
    assert surveys.language_for(DEFAULT, None, "fr;q=bad, es") == "es"
    assert surveys.language_for(replace(DEFAULT, default_language="es"), None, None) == "es"


def test_pick_falls_back_to_the_default_language() -> None:
    assert surveys.pick({"en": "Hi", "es": "Hola"}, "es") == "Hola"
    assert surveys.pick({"en": "Hi", "es": "Hola"}, "ru") == "Hi"
    assert surveys.pick({"fr": "Salut"}, "ru") == "Salut"
    assert surveys.pick({}, "ru") == ""


# ---------------------------------------------------------------- files and versions


def test_ensure_default_writes_v1_once(tmp_path: Path) -> None:
    first = surveys.ensure_default(tmp_path)
    assert (first.id, first.version, first.updated_by) == ("experience", 1, "cx")
    assert sorted(p.name for p in (tmp_path / "surveys" / "experience").iterdir()) == ["v1.yaml"]
    again = surveys.ensure_default(tmp_path)
    assert again == first
    assert surveys.versions(tmp_path, "experience") == [1]


def test_saving_an_edit_makes_v2_and_leaves_v1_as_it_was(tmp_path: Path) -> None:
    surveys.ensure_default(tmp_path)
    v1_file = tmp_path / "surveys" / "experience" / "v1.yaml"
    before = v1_file.read_bytes()
    edited = replace(surveys.load(tmp_path, "experience"), name="Experience 2027")
    saved = surveys.save(tmp_path, edited, by=demo_user("analyst"))
    assert (saved.version, saved.name, saved.updated_by) == (2, "Experience 2027", "analyst")
    assert datetime.fromisoformat(saved.updated_at) > datetime.now(UTC) - timedelta(minutes=1)
    assert v1_file.read_bytes() == before
    assert surveys.versions(tmp_path, "experience") == [1, 2]
    assert surveys.load(tmp_path, "experience") == saved
    assert surveys.load(tmp_path, "experience", 1).name == "Customer experience"
    assert [s.version for s in surveys.list_surveys(tmp_path)] == [2]
    assert not [p for p in v1_file.parent.iterdir() if p.name.startswith(".")]  # no temp file left


def test_a_country_manager_may_not_save_a_survey(tmp_path: Path) -> None:
    surveys.ensure_default(tmp_path)
    with pytest.raises(surveys.SurveyForbidden) as caught:
        surveys.save(tmp_path, DEFAULT, by=demo_user("es.manager"))
    assert isinstance(caught.value, PermissionError)
    assert (
        str(caught.value)
        == "surveys/experience: es.manager may not edit surveys (roles: analyst, admin)"
    )
    assert surveys.versions(tmp_path, "experience") == [1]


def test_only_a_world_data_admin_saves_or_creates_a_survey(tmp_path: Path) -> None:
    surveys.ensure_default(tmp_path)
    spain = User("es.analyst", "Es", "", ("analyst",), Scope.parse("country:ES"))
    with pytest.raises(surveys.SurveyForbidden, match="a survey serves every agency"):
        surveys.save(tmp_path, DEFAULT, by=spain)
    with pytest.raises(surveys.SurveyForbidden, match="a survey serves every agency"):
        surveys.create(tmp_path, "spain-only", by=spain)
    assert surveys.versions(tmp_path, "experience") == [1]
    assert surveys.save(tmp_path, DEFAULT, by=demo_user("analyst")).version == 2


def test_a_survey_built_in_code_is_checked_before_it_is_saved(tmp_path: Path) -> None:
    broken = replace(DEFAULT, cadence="fortnight")
    with pytest.raises(
        SurveyError, match=r"^surveys/experience: cadence: 'fortnight' is not one of"
    ):
        surveys.save(tmp_path, broken, by=demo_user("analyst"))
    assert surveys.versions(tmp_path, "experience") == []


def test_load_refuses_an_absent_survey_or_version_and_a_path_for_an_id(tmp_path: Path) -> None:
    surveys.ensure_default(tmp_path)
    with pytest.raises(SurveyError, match=r"^surveys/kiosk: no such survey$"):
        surveys.load(tmp_path, "kiosk")
    with pytest.raises(
        SurveyError, match=r"^surveys/experience/v7.yaml: no such version \(versions: 1\)$"
    ):
        surveys.load(tmp_path, "experience", 7)
    with pytest.raises(SurveyError, match=r"is not a survey id"):
        surveys.load(tmp_path, "../../etc")


def test_a_new_survey_from_the_default_is_a_draft_v1_and_an_existing_id_is_refused(
    tmp_path: Path,
) -> None:
    surveys.ensure_default(tmp_path)
    kiosk = surveys.create(tmp_path, "kiosk", by=demo_user("analyst"))
    assert (kiosk.id, kiosk.version, kiosk.status) == ("kiosk", 1, "draft")
    assert [s.id for s in surveys.list_surveys(tmp_path)] == ["experience", "kiosk"]
    with pytest.raises(SurveyError, match=r"^surveys/kiosk: already exists; edit it instead$"):
        surveys.create(tmp_path, "kiosk", by=demo_user("analyst"))
    with pytest.raises(SurveyError, match=r"^surveys/kiosk: no live version$"):
        surveys.live(tmp_path, "kiosk")
    assert surveys.live(tmp_path, "experience").version == 1


def test_an_edit_keeps_the_survey_id() -> None:
    text = surveys.dump(replace(DEFAULT, id="other"))
    with pytest.raises(
        SurveyError,
        match=r"^surveys/experience \(edited\): id: a new version keeps the id 'experience', not 'other'",
    ):
        surveys.parse_edit(text, "experience")


def _save_in_another_process(root: str, name: str, start: object) -> None:
    start.wait()  # type: ignore[attr-defined]
    survey = replace(surveys.load(Path(root), "experience", 1), name=name)
    surveys.save(Path(root), survey, by=demo_user("analyst"))


def test_two_saves_at_once_from_two_processes_give_v2_and_v3(
    tmp_path: Path, spawn_safe: None
) -> None:
    surveys.ensure_default(tmp_path)
    ctx = multiprocessing.get_context("spawn")
    for attempt in range(3):  # three rounds: the race is real, not a lucky ordering once
        start = ctx.Event()
        procs = [
            ctx.Process(
                target=_save_in_another_process, args=(str(tmp_path), f"Edit {attempt}-{k}", start)
            )
            for k in range(2)
        ]
        for p in procs:
            p.start()
        start.set()
        for p in procs:
            p.join(60)
            assert p.exitcode == 0
    assert surveys.versions(tmp_path, "experience") == [1, 2, 3, 4, 5, 6, 7]
    names = sorted(surveys.load(tmp_path, "experience", n).name for n in range(2, 8))
    assert names == [f"Edit {a}-{k}" for a in range(3) for k in range(2)]


# ---------------------------------------------------------------- waves and rows


@pytest.mark.parametrize(
    ("at", "cadence", "wave"),
    [
        (datetime(2026, 12, 31, 23, 59), "quarter", "2026-Q4"),
        (datetime(2027, 1, 1, 0, 0), "quarter", "2027-Q1"),
        (datetime(2026, 4, 1), "quarter", "2026-Q2"),
        (datetime(2026, 3, 31), "month", "2026-03"),
        (datetime(2026, 12, 1), "month", "2026-12"),
        (datetime(2026, 12, 3), "week", "2026-W49"),
        (datetime(2026, 12, 31), "week", "2026-W53"),  # 2026 has 53 ISO weeks
        (datetime(2027, 1, 3), "week", "2026-W53"),  # a Sunday of the previous ISO year
        (datetime(2027, 1, 4), "week", "2027-W01"),
        (datetime(2024, 12, 30), "week", "2025-W01"),  # a Monday of the next ISO year
        (datetime(2026, 1, 5), "week", "2026-W02"),
    ],
)
def test_wave_of_names_the_period_containing_the_date(
    at: datetime, cadence: str, wave: str
) -> None:
    assert surveys.wave_of(at, cadence) == wave
    start, end = wave_period(wave)
    assert start <= at.date() <= end


def test_wave_of_uses_the_answers_own_date_in_its_time_zone() -> None:
    madrid_new_year = datetime(2027, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1)))
    assert surveys.wave_of(madrid_new_year, "quarter") == "2027-Q1"


def test_weekly_waves_sort_in_time_order_across_year_ends() -> None:
    days = [
        datetime(2027, 1, 4),
        datetime(2026, 12, 31),
        datetime(2026, 1, 5),
        datetime(2024, 12, 30),
    ]
    assert sort_waves([surveys.wave_of(d, "week") for d in days]) == [
        "2025-W01",
        "2026-W02",
        "2026-W53",
        "2027-W01",
    ]


def test_wave_of_refuses_an_unknown_cadence() -> None:
    with pytest.raises(SurveyError, match=r"^cadence: 'day' is not one of quarter, month, week$"):
        surveys.wave_of(datetime(2026, 1, 1), "day")


def test_to_row_gives_the_data_contract_columns_and_the_follow_ups_apart() -> None:
    answers = {
        "nps": 3,
        "attr_cleanliness": 2,
        "attr_waiting_time": 7,
        "csat": 2,
        "followup_cleanliness": "toilets",
        "comment": "Dirty toilets",
        "callback": "yes",
        "phone": "+34600123456",
        "callback_slot": "morning",
    }
    at = datetime(2026, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=1)))
    row, followups = surveys.to_row(
        replace(DEFAULT, version=4),
        answers,
        response_id="web-1",
        responded_at=at,
        customer_id="C0001",
        region="Europe",
        country="ES",
        agency="Madrid",
        city="Madrid",
        channel="qr",
        language="es",
    )
    assert row == {
        "response_id": "web-1",
        "wave": "2026-Q4",
        "responded_at": datetime(2026, 12, 31, 22, 30, tzinfo=UTC),
        "customer_id": "C0001",
        "region": "Europe",
        "country": "ES",
        "agency": "Madrid",
        "city": "Madrid",
        "channel": "qr",
        "touchpoint": None,
        "nps": 3,
        "csat": 2,
        "attr_cleanliness": 2,
        "attr_waiting_time": 7,
        "attr_staff_attitude": None,
        "attr_staff_competence": None,
        "comment": "Dirty toilets",
        "language": "es",
        "weight": 1.0,
        "excluded": False,
    }
    assert type(row["nps"]) is int and type(row["weight"]) is float and row["excluded"] is False
    assert followups == {
        "followup_cleanliness": "toilets",
        "callback": "yes",
        "phone": "+34600123456",
        "callback_slot": "morning",
        "survey_id": "experience",
        "survey_version": 4,
    }


def test_to_row_refuses_an_unknown_channel_and_a_missing_score() -> None:
    kwargs = dict(
        response_id="r",
        responded_at=datetime(2026, 1, 1, tzinfo=UTC),
        customer_id="c",
        region="Europe",
        country="ES",
        agency="Madrid",
        city=None,
    )
    with pytest.raises(AnswerError, match=r"^channel: 'fax' is not one of"):
        surveys.to_row(DEFAULT, {"nps": 5}, channel="fax", language="en", **kwargs)  # type: ignore[arg-type]
    with pytest.raises(AnswerError, match=r"^nps: an answer is required$"):
        surveys.to_row(DEFAULT, {}, channel="qr", language="en", **kwargs)  # type: ignore[arg-type]


def test_thank_you_and_review_invitation_follow_the_outcome() -> None:
    values = {"agency": "Madrid", "first_name": "Ana"}
    assert surveys.thank_you(DEFAULT, {"nps": 4, "callback": "yes"}, "en", values).startswith(
        "Thank you, Ana. We will call you back"
    )
    assert surveys.asks_review(DEFAULT, {"nps": 10})
    assert not surveys.asks_review(DEFAULT, {"nps": 8})
    assert not surveys.asks_review(replace(DEFAULT, review_url=None), {"nps": 10})


def test_takeaway_names_each_survey_and_who_saved_it_last() -> None:
    a = replace(DEFAULT, version=4, updated_by="analyst", updated_at="2026-11-30T10:00:00+00:00")
    b = replace(
        DEFAULT,
        id="kiosk",
        status="draft",
        updated_by="admin",
        updated_at="2026-11-02T10:00:00+00:00",
    )
    assert surveys.takeaway([b, a]) == (
        "2 surveys; experience v4 live since 2026-11-30 by analyst, kiosk v1 draft since 2026-11-02 by admin."
    )
    assert surveys.takeaway([]) == "No survey yet: start one from the default below."


def test_a_plain_question_defaults_to_optional() -> None:
    q = Question("comment", "comment", {"en": "Why?"})
    assert (q.required, q.max_length, q.choices, q.when) == (False, 2000, (), ())
