"""Every screen in a real browser for the Spain country manager: the check of
``test_screens.py``, in its own module so that the parallel workers share the slowest runs."""

from pathlib import Path

import pytest

from tests.browser.test_screens import every_screen

pytestmark = pytest.mark.browser


def test_every_screen_renders_in_a_real_browser_for_a_country_manager(
    demo_root: Path, app_url: str, page: object
) -> None:
    every_screen(demo_root, app_url, page, "es.manager")
