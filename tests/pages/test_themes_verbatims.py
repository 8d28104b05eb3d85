"""AppTest of the Comment themes and Verbatims screens: render, follow the scope, refuse roles."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.apptest import demo_user, rendered_text, run_page

FRENCH_WORDS = [
    "Paris",
    "Lyon",
    "Marseille",
    "Toulouse",
    "attente",
    "Très",
    "conseiller",
    "toilettes",
]
SPAIN = {"Madrid", "Barcelona", "Sevilla", "Valencia"}


def card_agencies(text: str) -> list[str]:
    return re.findall(r'class="cx-vb-meta">([^·<]+?) ·', text)


@pytest.mark.parametrize("username", ["ceo", "analyst", "es.manager", "madrid.manager"])
def test_themes_page_renders_charts_and_a_takeaway(demo_root: Path, username: str) -> None:
    at = run_page("screens/themes.py", username, demo_root)
    assert not at.exception, at.exception
    text = rendered_text(at)
    assert "is the most-mentioned theme" in text
    assert len(at.get("arrow_vega_lite_chart") + at.get("vega_lite_chart")) == 5
    assert len(at.image) == 1  # the word cloud


def test_country_manager_never_sees_a_french_comment_or_agency(demo_root: Path) -> None:
    for page in ("screens/themes.py", "screens/verbatims.py"):
        at = run_page(page, "es.manager", demo_root)
        assert not at.exception, at.exception
        text = rendered_text(at)
        for word in FRENCH_WORDS:
            assert word not in text, f"es.manager sees {word!r} on {page}"
    agencies = card_agencies(text)
    assert agencies and set(agencies) <= SPAIN


def test_agency_manager_reads_only_that_agency_verbatims_even_with_all_waves(
    demo_root: Path,
) -> None:
    at = run_page("screens/verbatims.py", "madrid.manager", demo_root)
    assert not at.exception, at.exception
    assert at.selectbox(key="vb_agency").options == ["All agencies", "Madrid"]
    at.selectbox(key="vb_wave").select("all").run()
    agencies = card_agencies(rendered_text(at))
    assert len(agencies) == 200 and set(agencies) == {"Madrid"}


def test_verbatim_filters_and_search_highlight_the_matches(demo_root: Path) -> None:
    at = run_page("screens/verbatims.py", "es.manager", demo_root)
    at.selectbox(key="vb_theme").select("waiting_time").run()
    at.text_input(key="vb_search").input("cola").run()
    assert not at.exception, at.exception
    text = rendered_text(at)
    assert "comments match" in text
    assert "<mark>cola</mark>" in text.lower()
    at.text_input(key="vb_search").input("zzzz-nothing-(").run()
    assert "No comment matches" in rendered_text(at)


def test_front_line_roles_cannot_open_the_voice_screens_but_an_advisor_sees_own_themes(
    demo_root: Path,
) -> None:
    from cx import ui

    teleop, advisor = demo_user("madrid.teleop"), demo_user("madrid.advisor")
    allowed = [p.path for p in ui.PAGES if ui.allowed(p, teleop)]
    assert "screens/themes.py" not in allowed and "screens/verbatims.py" not in allowed
    own = [p.path for p in ui.PAGES if ui.allowed(p, advisor)]
    assert "screens/themes.py" in own and "screens/verbatims.py" not in own


def test_verbatim_filters_come_from_the_url(demo_root) -> None:  # type: ignore[no-untyped-def]
    from tests.support.apptest import rendered_text, run_page

    at = run_page("screens/verbatims.py", "es.manager", demo_root, query={"vb_search": "sucio"})
    assert not at.exception
    assert at.text_input(key="vb_search").value == "sucio"
    text = rendered_text(at).lower()
    assert "sucio" in text


def test_verbatims_filter_by_theme_polarity_and_offer_csv_and_xlsx(demo_root: Path) -> None:
    at = run_page(
        "screens/verbatims.py",
        "es.manager",
        demo_root,
        query={"vb_theme": "Cleanliness", "vb_polarity": "Negative"},  # the URL holds labels
    )
    assert not at.exception, at.exception
    assert at.selectbox(key="vb_polarity").value == "negative"
    assert at.selectbox(key="vb_theme").value == "cleanliness"
    text = rendered_text(at)
    assert "comments match" in text
    agencies = card_agencies(text)
    assert agencies and set(agencies) <= SPAIN
    buttons = at.get("download_button")
    assert len(buttons) == 2
    assert buttons[0].proto.label.startswith("CSV · ") and buttons[1].proto.label.startswith(
        "XLSX · "
    )
