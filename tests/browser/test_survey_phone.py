"""A customer on a phone (headless Chromium, 390x844) answers the survey of a QR code, one path per
test; the case it opens shows on Case management and the answer on the overview of its wave."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest

from cx.capture import links
from tests.support.browser import login, shot, wait_idle

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser: object) -> Iterator[object]:
    context = browser.new_context(  # type: ignore[attr-defined]
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="es-ES"
    )
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def tap_score(page: object, field: str, value: int) -> None:
    page.locator(f'label[for="{field}-{value}"]').click()  # type: ignore[attr-defined]


def next_page(page: object) -> None:
    page.locator('button[type="submit"]').click()  # type: ignore[attr-defined]
    page.wait_for_load_state("domcontentloaded")  # type: ignore[attr-defined]


def test_a_detractor_on_a_phone_reports_dirty_toilets_and_asks_to_be_called_back(
    phone: object, survey_url: str, browser: object
) -> None:
    page = phone
    page.goto(survey_url + links.open_link("experience", "Madrid", "qr"))  # type: ignore[attr-defined]
    assert page.locator("html").get_attribute("lang") == "es"  # type: ignore[attr-defined]  # Accept-Language
    shot(page, "survey-phone-1-nps")
    tap_score(page, "nps", 3)
    next_page(page)
    tap_score(page, "attr_cleanliness", 2)
    tap_score(page, "attr_waiting_time", 7)
    shot(page, "survey-phone-2-attributes")
    next_page(page)
    page.get_by_text("Los aseos").click()  # type: ignore[attr-defined]
    shot(page, "survey-phone-3-precision")
    next_page(page)
    page.locator("textarea[name=comment]").fill("Los aseos estaban sucios y no había jabón.")  # type: ignore[attr-defined]
    page.locator('label[for="callback-0"]').click()  # type: ignore[attr-defined]
    next_page(page)
    page.locator("input[name=phone]").fill("612 345 678")  # type: ignore[attr-defined]
    page.locator("select[name=callback_slot]").select_option("morning")  # type: ignore[attr-defined]
    shot(page, "survey-phone-4-callback")
    next_page(page)
    assert page.locator("form").count() == 0  # type: ignore[attr-defined]
    assert re.search(r"llam", page.inner_text("body"), re.I)  # type: ignore[attr-defined]
    shot(page, "survey-phone-5-thanks-callback")

    context = browser.new_context(viewport={"width": 1600, "height": 1800})  # type: ignore[attr-defined]
    desk = context.new_page()
    desk.set_default_timeout(90_000)
    desk.goto(f"{survey_url}/cases")
    login(desk, "madrid.teleop")
    urgent = re.compile(r"most urgent: case #\d+ \(NPS 3, Madrid\)")
    deadline = time.monotonic() + 30  # the loop runs within a second; the page is read as opened
    while True:
        desk.get_by_text("Complaint cases").first.wait_for()
        wait_idle(desk)
        if urgent.search(desk.inner_text("body")):
            break
        if time.monotonic() > deadline:
            shot(desk, "failed-survey-case")
            raise AssertionError("the case of the answer did not reach Complaint cases in 30 s")
        desk.reload()
    desk.get_by_text(re.compile(r"Pidió que le llamen: \+?612345678 · por la mañana")).wait_for()
    desk.locator('[data-testid="stDataFrame"]').last.wait_for()  # the history's grid
    wait_idle(desk)
    shot(desk, "survey-case-opened")
    context.close()


def test_a_promoter_on_a_phone_is_thanked_with_a_review_link(
    phone: object, survey_url: str
) -> None:
    page = phone
    page.goto(survey_url + links.open_link("experience", "Barcelona", "qr", language="en"))  # type: ignore[attr-defined]
    tap_score(page, "nps", 10)
    next_page(page)
    tap_score(page, "attr_cleanliness", 9)
    next_page(page)
    assert page.locator("input[name=callback]").count() == 0  # type: ignore[attr-defined]
    page.locator("textarea[name=comment]").fill("Quick and friendly, thanks Marta!")  # type: ignore[attr-defined]
    next_page(page)
    review = page.get_by_role("link", name=re.compile("review", re.I))  # type: ignore[attr-defined]
    assert review.get_attribute("href").startswith("https://")
    shot(page, "survey-phone-thanks-promoter")


def test_an_answer_shows_on_the_overview_of_its_wave_within_a_minute(
    phone: object, survey_url: str, browser: object
) -> None:
    page = phone
    page.goto(survey_url + links.open_link("experience", "Paris", "web", language="fr"))  # type: ignore[attr-defined]
    tap_score(page, "nps", 9)
    next_page(page)
    next_page(page)  # attributes are optional
    next_page(page)
    assert page.locator("form").count() == 0  # type: ignore[attr-defined]
    context = browser.new_context(viewport={"width": 1600, "height": 1800})  # type: ignore[attr-defined]
    desk = context.new_page()
    desk.set_default_timeout(90_000)
    deadline = time.monotonic() + 60
    desk.goto(f"{survey_url}/?wave=2026-Q4")
    login(desk, "ceo")
    while True:
        desk.get_by_text("NPS overview").first.wait_for()
        wait_idle(desk)
        if (
            "2026-Q4" in desk.inner_text("body")
            and "no response" not in desk.inner_text("body").lower()
        ):
            break
        assert time.monotonic() < deadline, "the answer did not reach the overview within 60 s"
        time.sleep(3)
        desk.reload()
    shot(desk, "survey-overview-2026-Q4")
    context.close()
