"""Real browser: madrid.manager proposes a plan from an improvement area, es.manager approves it,
fr.manager never sees it; the review meeting steps through its agenda with the keyboard."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.support.browser import login, shot, wait_idle

pytestmark = pytest.mark.browser
TITLE = "Madrid cleanliness plan"


@contextmanager
def signed_in(browser: object, app_url: str, username: str, path: str) -> Iterator[object]:
    """A fresh browser context for ``username`` opened on ``path`` (login happens on that URL)."""
    context = browser.new_context(viewport={"width": 1600, "height": 1800})  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(90_000)
    page.goto(f"{app_url}/{path}")
    login(page, username)
    try:
        yield page
    except Exception:
        shot(page, f"failed-plans-{username}")  # what the browser showed when the test failed
        raise
    finally:
        context.close()


def test_plan_proposed_by_madrid_is_approved_by_spain_and_invisible_to_france(
    browser: object, app_url: str
) -> None:
    with signed_in(
        browser,
        app_url,
        "madrid.manager",
        "plans?problem_kind=improvement_area&problem_ref=attr_cleanliness",
    ) as page:
        page.get_by_text("Propose an action plan for Cleanliness (improvement area)").wait_for()  # type: ignore[attr-defined]
        wait_idle(page)
        page.get_by_role("textbox", name="Title").fill(TITLE)  # type: ignore[attr-defined]
        page.get_by_role("spinbutton", name="Target value (≥)").fill("7.5")  # type: ignore[attr-defined]
        page.get_by_role("button", name="Propose the plan").click()  # type: ignore[attr-defined]
        heading = page.get_by_role("heading", name=re.compile(rf"#\d+ {TITLE}"))  # type: ignore[attr-defined]
        heading.wait_for()
        wait_idle(page)
        plan_id = int(re.search(r"#(\d+)", heading.inner_text()).group(1))  # type: ignore[union-attr]
        assert f"plan={plan_id}" in page.url  # type: ignore[attr-defined]
        body = page.inner_text("body")  # type: ignore[attr-defined]
        assert "agency:Madrid · owner madrid.manager · planned · proposed" in body
        assert page.get_by_role("button", name="Approve").count() == 0  # type: ignore[attr-defined]  # never one's own
        shot(page, "plans-madrid-proposed")

    with signed_in(browser, app_url, "es.manager", f"plans?plan={plan_id}") as page:
        page.get_by_role("heading", name=re.compile(rf"#{plan_id} {TITLE}")).wait_for()  # type: ignore[attr-defined]
        wait_idle(page)
        # the takeaway is an st.html element, which the front end may paint after the script ended
        page.get_by_text(re.compile(r"\b1 awaits approval")).wait_for()  # type: ignore[attr-defined]
        page.get_by_role("button", name="Approve").click()  # type: ignore[attr-defined]
        page.get_by_text("approved by es.manager").wait_for()  # type: ignore[attr-defined]
        wait_idle(page)
        shot(page, "plans-spain-approved")
        assert page.get_by_role("button", name="Approve").count() == 0  # type: ignore[attr-defined]

    with signed_in(browser, app_url, "fr.manager", f"plans?plan={plan_id}") as page:
        page.get_by_text("Scope: country:FR").wait_for()  # type: ignore[attr-defined]
        page.get_by_text("No action plan in this scope yet").wait_for()  # type: ignore[attr-defined]
        wait_idle(page)
        shot(page, "plans-france-sees-nothing")
        body = page.inner_text("body")  # type: ignore[attr-defined]
        assert TITLE not in body and "Madrid" not in body
        assert "No action plan in this scope yet" in body


def test_review_meeting_steps_with_the_keyboard_and_keeps_its_state_in_the_url(
    browser: object, app_url: str
) -> None:
    with signed_in(browser, app_url, "es.manager", "meeting?agenda=quarterly&present=true") as page:
        page.get_by_role("heading", name="NPS 2026-Q3").wait_for()  # type: ignore[attr-defined]
        wait_idle(page)
        # presentation mode hides the sidebar with a style the front end may apply after the run
        page.locator('[data-testid="stSidebar"]').wait_for(state="hidden", timeout=30_000)  # type: ignore[attr-defined]
        shot(page, "meeting-es-quarterly-1")
        page.locator("body").press("ArrowRight")  # type: ignore[attr-defined]
        page.get_by_role("heading", name="NPS over the waves").wait_for()  # type: ignore[attr-defined]
        wait_idle(page)
        assert "step=2" in page.url  # type: ignore[attr-defined]
        page.locator("body").press("ArrowRight")  # type: ignore[attr-defined]
        page.get_by_text("2026-Q3", exact=False).first.wait_for()  # type: ignore[attr-defined]
        wait_idle(page)
        shot(page, "meeting-es-quarterly-3")
        assert "step=3" in page.url  # type: ignore[attr-defined]
        body = page.inner_text("body")  # type: ignore[attr-defined]
        for foreign in ("Paris", "Lyon", "London"):
            assert foreign not in body
        page.locator("body").press("ArrowLeft")  # type: ignore[attr-defined]
        page.get_by_role("heading", name="NPS over the waves").wait_for()  # type: ignore[attr-defined]
        link = page.url  # type: ignore[attr-defined]
    with signed_in(browser, app_url, "es.manager", link.split("/", 3)[3]) as page:
        page.get_by_role("heading", name="NPS over the waves").wait_for()  # type: ignore[attr-defined]
