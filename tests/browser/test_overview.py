"""Real browser (Playwright + Debian chromium): direct URL without login, login, scope, cookie, logout."""

import pytest

from tests.support.browser import login, shot, wait_idle

pytestmark = pytest.mark.browser


def body(page: object) -> str:
    return page.inner_text("body")  # type: ignore[attr-defined,no-any-return]


def test_login_scope_cookie_and_logout_in_a_real_browser(app_url: str, page: object) -> None:
    # A page URL opened directly on a fresh server without logging in shows no data, only the form.
    page.goto(f"{app_url}/benchmarks")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign in").wait_for()  # type: ignore[attr-defined]
    assert "/signin?next=/benchmarks" in page.url  # type: ignore[attr-defined]
    shot(page, "anonymous-direct-url")
    assert page.locator('[data-testid="stMetric"]').count() == 0  # type: ignore[attr-defined]
    assert "Benchmarks" not in body(page) and "Madrid" not in body(page)

    # Signing in keeps the deep link: the requested screen opens, inside the user's scope.
    login(page, "es.manager")
    page.get_by_text("Scope: country:ES").first.wait_for()  # type: ignore[attr-defined]
    wait_idle(page)
    assert page.url.endswith("/benchmarks")  # type: ignore[attr-defined]

    page.goto(f"{app_url}/")  # type: ignore[attr-defined]  (the overview is the home page)
    try:
        page.get_by_text("NPS overview").first.wait_for()  # type: ignore[attr-defined]
    finally:
        shot(page, "overview-home-after-login")
    wait_idle(page)
    shot(page, "overview-es-manager")
    text = body(page)
    assert "Scope: country:ES" in text and "Javier Ruiz" in text  # logged back in by the cookie
    for agency in ("Madrid", "Barcelona", "Valencia", "Sevilla"):
        assert agency in text
    for foreign in ("Paris", "Lyon", "Marseille", "London", "Moscow"):
        assert foreign not in text

    # A link with filters reopens the same view.
    page.goto(f"{app_url}/?wave=2025-Q4&segment=Young")  # type: ignore[attr-defined]
    page.get_by_text("segment: Young").first.wait_for()  # type: ignore[attr-defined]
    wait_idle(page)
    assert "Wave 2025-Q4" in body(page)
    assert page.locator('[role="dialog"]').count() == 0  # type: ignore[attr-defined]

    page.get_by_role("button", name="Sign out").click()  # type: ignore[attr-defined]
    page.get_by_text("You are signed out").wait_for()  # type: ignore[attr-defined]
    wait_idle(page)
    # the run that signs out drops the figures of the previous run once it ends
    page.wait_for_function(  # type: ignore[attr-defined]
        "document.querySelectorAll('[data-testid=\"stMetric\"]').length === 0", timeout=30_000
    )
    shot(page, "logged-out")
    page.reload()  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign in").wait_for()  # type: ignore[attr-defined]
    assert "/signin" in page.url and "NPS overview" not in body(page)  # type: ignore[attr-defined]
