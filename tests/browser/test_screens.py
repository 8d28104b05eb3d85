"""Every screen in a real browser for the CEO, a country manager and an agency manager:
it renders without an error box, stays inside the scope, and a screenshot is saved to look at."""

from pathlib import Path

import pytest

from cx import ui
from cx.core import users
from tests.support.apptest import ROOT
from tests.support.browser import login, shot, wait_idle

pytestmark = pytest.mark.browser

FOREIGN = {
    "ceo": [],
    "es.manager": ["Paris", "Marseille", "London"],
    "madrid.manager": ["Barcelona", "Valencia", "Paris"],
}


@pytest.mark.parametrize("username", ["ceo", "madrid.manager"])
def test_every_screen_renders_in_a_real_browser(
    demo_root: Path, app_url: str, page: object, username: str
) -> None:
    every_screen(demo_root, app_url, page, username)


def every_screen(demo_root: Path, app_url: str, page: object, username: str) -> None:
    """Open every screen ``username`` may open; none shows an error or a place outside the scope
    (the country manager's run is in ``test_screens_country.py``: another parallel worker)."""
    user = users.get(username, demo_root / "users.yaml")
    assert user is not None
    page.goto(app_url)  # type: ignore[attr-defined]
    login(page, username)
    page.get_by_text("NPS overview").first.wait_for()  # type: ignore[attr-defined]
    wait_idle(page)
    seen = []
    for spec in ui.PAGES:
        if (
            not ui.allowed(spec, user)
            or not (ROOT / spec.path).exists()
            or spec.url_path == "import"
        ):
            continue
        url = app_url + ("/" if spec.url_path == "overview" else f"/{spec.url_path}")
        page.goto(url)  # type: ignore[attr-defined]
        if spec.url_path != "meeting":  # presentation screens carry no scope caption
            page.get_by_text(f"Scope: {user.scope}").first.wait_for()  # type: ignore[attr-defined]
        wait_idle(page)
        shot(page, f"screen-{username}-{spec.url_path}")
        assert page.locator('[data-testid="stException"]').count() == 0, spec.path  # type: ignore[attr-defined]
        text = page.inner_text("body")  # type: ignore[attr-defined]
        for name in FOREIGN[username]:
            assert name not in text, f"{spec.path}: {username} sees {name}"
        seen.append(spec.url_path)
    assert {"overview", "benchmarks", "drivers", "segments", "evolution"} <= set(seen)
