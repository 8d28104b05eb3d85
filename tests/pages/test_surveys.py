"""AppTest of the Surveys designer: the default listed on a fresh data folder, a bad edit refused
with its one-line reason and nothing written, a good edit saved as a new version, a new survey
from the default, the preview of each path, and who may open the screen."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cx import ui
from cx.capture import surveys
from tests.support.apptest import ROOT, demo_user, rendered_text, run_page, signed_in, takeaway_of
from tests.support.datadir import files_under, write_org, write_waves
from tests.support.frames import routing_answers

PAGE = "screens/surveys.py"


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A small data folder (eight answers, the demo org) and its own SQLite store."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return write_org(write_waves(tmp_path / "data", routing_answers()))


def editor(at: AppTest) -> object:
    return next(t for t in at.text_area if t.label == "Definition (YAML)")


def save(at: AppTest, text: str) -> AppTest:
    editor(at).input(text)  # type: ignore[attr-defined]
    next(b for b in at.button if b.label == "Save as a new version").click().run()
    return at


def test_the_designer_lists_the_default_survey_on_a_fresh_data_folder(data: Path) -> None:
    at = run_page(PAGE, "analyst", data)
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Surveys"]
    table = at.dataframe[0].value
    assert list(table["Survey"]) == ["experience"] and list(table["Version"]) == [1]
    assert takeaway_of(at).startswith("1 survey; experience v1 live since ")
    assert takeaway_of(at).endswith(" by cx.")
    assert surveys.versions(data, "experience") == [1]
    assert surveys.parse(editor(at).value, source="shown") == surveys.load(data, "experience")  # type: ignore[attr-defined]


def test_a_bad_edit_is_refused_with_its_one_line_reason_and_nothing_is_written(data: Path) -> None:
    at = run_page(PAGE, "analyst", data)
    before = files_under(data / "surveys")
    text = editor(at).value.replace("when: attr_cleanliness <= 4", "when: attr_x <= 4")  # type: ignore[attr-defined]
    save(at, text)
    assert not at.exception
    assert [e.value for e in at.error] == [
        "surveys/experience (edited): steps\\[2\\].questions\\[0\\].when: unknown field 'attr\\_x' "
        "(not asked in an earlier step). Nothing was saved."
    ]
    assert not at.success
    assert files_under(data / "surveys") == before
    save(at, "id: experience\nname: [")
    assert [e.value for e in at.error] == [
        "surveys/experience (edited): line 2, column 8: expected the node content, but found "
        "'\\<stream end\\>'. Nothing was saved."
    ]
    assert files_under(data / "surveys") == before


def test_a_good_edit_makes_a_new_version_and_opens_it(data: Path) -> None:
    at = run_page(PAGE, "analyst", data)
    text = editor(at).value.replace("name: Customer experience", "name: Experience 2027")  # type: ignore[attr-defined]
    save(at, text)
    assert not at.exception, at.exception
    assert [s.value for s in at.success] == [
        "Survey experience saved as v2; earlier answers keep their version."
    ]
    assert surveys.versions(data, "experience") == [1, 2]
    v2 = surveys.load(data, "experience", 2)
    assert (v2.name, v2.updated_by) == ("Experience 2027", "analyst")
    assert surveys.load(data, "experience", 1).name == "Customer experience"
    assert at.query_params["version"] == "2"
    assert "name: Experience 2027" in editor(at).value  # type: ignore[attr-defined]
    assert takeaway_of(at).startswith("1 survey; experience v2 live since ")
    assert takeaway_of(at).endswith(" by analyst.")
    version_box = next(b for b in at.selectbox if b.label == "Version")
    assert version_box.options == ["v2 (latest)", "v1"]


def test_a_link_reopens_an_older_version(data: Path) -> None:
    surveys.ensure_default(data)
    surveys.save(data, surveys.load(data, "experience"), by=demo_user("analyst"))
    at = run_page(PAGE, "analyst", data, query={"survey": "experience", "version": "1"})
    assert not at.exception
    assert next(b for b in at.selectbox if b.label == "Version").value == 1
    assert "updated_by: cx" in editor(at).value  # type: ignore[attr-defined]


def test_a_new_survey_from_the_default_is_listed_and_opened(data: Path) -> None:
    at = run_page(PAGE, "analyst", data)
    next(t for t in at.text_input if t.label == "Id of the new survey").input("kiosk")
    next(b for b in at.button if b.label == "New survey from the default").click().run()
    assert not at.exception, at.exception
    assert [s.value for s in at.success] == [
        "Survey kiosk v1 created from the default, as a draft."
    ]
    assert list(at.dataframe[0].value["Survey"]) == ["experience", "kiosk"]
    assert next(b for b in at.selectbox if b.label == "Survey").value == "kiosk"
    next(t for t in at.text_input if t.label == "Id of the new survey").input("kiosk")
    next(b for b in at.button if b.label == "New survey from the default").click().run()
    assert [e.value for e in at.error] == [
        "surveys/kiosk: already exists; edit it instead. Nothing was saved."
    ]


def preview_steps(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith("#### Step ")]


def test_the_preview_shows_the_callback_step_only_on_the_detractor_path(data: Path) -> None:
    at = run_page(PAGE, "analyst", data)
    path = next(b for b in at.selectbox if b.label == "Path")
    assert path.options[:4] == ["promoter", "passive", "detractor", "detractor with callback"]
    seen, questions = {}, {}
    for name in path.options:
        next(b for b in at.selectbox if b.label == "Path").select(name).run()
        assert not at.exception
        seen[name] = preview_steps(at)
        questions[name] = [
            m.value for m in at.markdown if m.value.startswith("**") and m.value.endswith("**")
        ]
    with_callback = [n for n, steps in seen.items() if "#### Step 5 · Your call back" in steps]
    assert with_callback == ["detractor with callback"]
    assert seen["promoter"] == [
        "#### Step 1",
        "#### Step 2 · Your visit",
        "#### Step 4 · Your comments",
    ]
    assert questions["detractor with callback"][-3:] == [
        "**Would you like us to call you back about your visit?**",
        "**Your phone number**",
        "**When should we call you?**",
    ]
    low_cleanliness = "attr_cleanliness <= 4 → followup_cleanliness"
    assert seen[low_cleanliness] == [
        "#### Step 1",
        "#### Step 2 · Your visit",
        "#### Step 3 · Tell us more",
        "#### Step 4 · Your comments",
    ]
    assert "**What was not clean?**" in questions[low_cleanliness]
    assert "**What was not clean?**" not in questions["detractor"]


def test_the_preview_renders_texts_with_sample_values_in_the_chosen_language(data: Path) -> None:
    at = run_page(PAGE, "analyst", data)
    next(b for b in at.selectbox if b.label == "Path").select("detractor with callback").run()
    next(b for b in at.selectbox if b.label == "Language").select("es").run()
    assert not at.exception
    text = rendered_text(at)
    assert "¡Hola, Ana\\! Gracias por visitar nuestra agencia de Madrid." in text
    assert "**¿Desea que le llamemos para hablar de su visita?**" in text
    assert "Gracias, Ana. Le llamaremos en la franja que ha elegido" in text
    assert "#### Thank-you page (callback)" in text
    next(b for b in at.selectbox if b.label == "Path").select("promoter").run()
    text = rendered_text(at)
    assert "Public review link shown: https://g.page/r/cx-demo-review/review" in text
    assert "Le llamaremos" not in text


def test_only_data_admins_see_the_surveys_screen() -> None:
    spec = next(p for p in ui.PAGES if p.path == PAGE)
    allowed = {
        name
        for name in ("ceo", "es.manager", "madrid.manager", "madrid.advisor", "analyst")
        if ui.allowed(spec, demo_user(name))
    }
    assert allowed == {"analyst"}


def test_a_country_manager_opening_the_screen_by_its_address_is_refused(data: Path) -> None:
    import os

    os.environ["CX_DATA_DIR"] = str(data)
    direct = AppTest.from_file(str(ROOT / PAGE), default_timeout=60)
    signed_in(direct, "es.manager")
    direct.run()
    assert not direct.exception
    assert [e.value for e in direct.error] == ["Your role does not give access to this screen."]
    assert not direct.text_area and not direct.dataframe
    assert surveys.versions(data, "experience") == []
