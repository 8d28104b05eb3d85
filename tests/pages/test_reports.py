"""AppTest of the Reports screen: one click builds the four downloads for the user's own scope."""

from __future__ import annotations

from pathlib import Path

from tests.support.apptest import rendered_text, run_page


def test_country_manager_generates_the_four_downloads_of_their_own_scope(demo_root: Path) -> None:
    at = run_page("screens/reports.py", "es.manager", demo_root, timeout=180)
    assert not at.exception, at.exception
    assert not at.get("download_button")  # nothing is built before the click
    at.button(key="generate").click().run(timeout=180)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    downloads = at.get("download_button")
    labels = [d.proto.label for d in downloads]
    assert labels == ["PDF report", "PowerPoint deck", "Infographic (PNG)", "Infographic (PDF)"]
    text = rendered_text(at)
    assert "Spain (ES)" in text
    for name in ("France", "Paris", "Lyon", "Marseille", "Toulouse"):
        assert name not in text


def test_reports_screen_refuses_anonymous_access(demo_root: Path) -> None:
    at = run_page("screens/reports.py", None, demo_root)
    assert "Please sign in" in rendered_text(at)
    assert not at.get("download_button") and not at.button


def test_front_line_roles_have_no_reports_screen(demo_root: Path) -> None:
    import pytest

    with pytest.raises(ValueError, match="Could not find a navigation page"):
        run_page("screens/reports.py", "madrid.advisor", demo_root)
