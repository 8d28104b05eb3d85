"""Page smoke tests: the Import and Fieldwork screens render for the right users, scoped."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.support.apptest import ROOT, rendered_text, run_page, signed_in


def test_fieldwork_page_names_leeds_as_lagging_for_the_ceo(demo_root: Path) -> None:
    at = run_page("screens/fieldwork.py", "ceo", demo_root)
    assert not at.exception
    text = rendered_text(at)
    assert "Leeds lags behind" in text
    assert "Response rate" in text
    assert (
        len(at.get("arrow_vega_lite_chart") + at.get("vega_lite_chart")) == 5
    )  # progress, channels, daily, and the indices chart


def test_fieldwork_page_shows_only_the_managers_country(demo_root: Path) -> None:
    at = run_page("screens/fieldwork.py", "fr.manager", demo_root)
    assert not at.exception
    text = rendered_text(at)
    assert "Paris" in text and "Marseille" in text
    for outside in ("Leeds", "Madrid", "London", "Moscow"):
        assert outside not in text
    assert "no agency lags behind" in text


def test_fieldwork_page_for_an_agency_manager_shows_only_that_agency(demo_root: Path) -> None:
    at = run_page("screens/fieldwork.py", "madrid.manager", demo_root)
    assert not at.exception
    text = rendered_text(at)
    for outside in ("Barcelona", "Paris", "Leeds"):
        assert outside not in text


@pytest.mark.parametrize("username", ["ceo", "madrid.manager", "madrid.advisor"])
def test_import_page_is_not_in_the_navigation_of_non_analysts(
    demo_root: Path, username: str
) -> None:
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        run_page("screens/import.py", username, demo_root)


@pytest.mark.parametrize("username", ["ceo", "es.manager"])
def test_import_page_opened_directly_refuses_non_analysts(demo_root: Path, username: str) -> None:
    os.environ["CX_DATA_DIR"] = str(demo_root)
    at = AppTest.from_file(str(ROOT / "screens/import.py"), default_timeout=60)
    signed_in(at, username)
    at.run()
    assert "Your role does not give access" in rendered_text(at)
    assert not at.get("file_uploader")


def test_import_page_invites_the_analyst_to_upload(demo_root: Path) -> None:
    at = run_page("screens/import.py", "analyst", demo_root)
    assert not at.exception
    text = rendered_text(at)
    assert "Upload a file of at most 200 MB" in text


def test_pages_refuse_without_login(demo_root: Path) -> None:
    for page in ("screens/import.py", "screens/fieldwork.py"):
        at = run_page(page, None, demo_root)
        assert "Please sign in" in rendered_text(at)
