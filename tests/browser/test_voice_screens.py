"""Comment themes and Verbatims in a real browser: the per-theme polarity charts render, the
theme x polarity filter comes from the URL, the downloads are offered; screenshots to look at."""

import pytest

from tests.support.browser import login, shot, wait_idle

pytestmark = pytest.mark.browser


def test_themes_and_verbatims_screens_in_a_real_browser(app_url: str, page: object) -> None:
    page.goto(app_url)  # type: ignore[attr-defined]
    login(page, "ceo")
    page.get_by_text("NPS overview").first.wait_for()  # type: ignore[attr-defined]
    wait_idle(page)

    page.goto(f"{app_url}/themes")  # type: ignore[attr-defined]
    page.get_by_text("is the most-mentioned theme").first.wait_for()  # type: ignore[attr-defined]
    wait_idle(page)
    shot(page, "voice-themes-ceo")
    assert page.locator('[data-testid="stException"]').count() == 0  # type: ignore[attr-defined]
    assert page.locator(".vega-embed").count() == 5  # type: ignore[attr-defined]

    page.goto(f"{app_url}/verbatims?vb_theme=Waiting+time&vb_polarity=Negative")  # type: ignore[attr-defined]
    page.get_by_text("comments match").first.wait_for()  # type: ignore[attr-defined]
    wait_idle(page)
    shot(page, "voice-verbatims-ceo-waiting-negative")
    assert page.locator('[data-testid="stException"]').count() == 0  # type: ignore[attr-defined]
    # one pair of buttons shown (the DOM also holds a hidden copy of the row: not counted)
    assert page.get_by_text("CSV · ").filter(visible=True).count() == 1  # type: ignore[attr-defined]
    assert page.get_by_text("XLSX · ").filter(visible=True).count() == 1  # type: ignore[attr-defined]
