"""The other half of the demo users for :func:`tests.pages.test_overview.every_allowed_page`, in
its own module so that the parallel workers share the slowest AppTest runs."""

from pathlib import Path

import pytest

from tests.pages.test_overview import DEMO_USERS, every_allowed_page


@pytest.mark.parametrize("username", list(DEMO_USERS)[1::2])
def test_every_allowed_page_renders_without_error_for_the_other_users(
    demo_root: Path, username: str
) -> None:
    every_allowed_page(demo_root, username)
