"""Real-browser fixtures: one Streamlit server on the session's demo data, Debian's headless Chromium,
a fresh page per test. Every test under tests/browser is marked ``browser``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.browser import streamlit_server
from tests.support.net import free_port


def pytest_itemcollected(item: pytest.Item) -> None:
    item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def app_url(demo_root: Path) -> Iterator[str]:
    """One Streamlit server for the browser tests, on the session's demo data."""
    with streamlit_server(demo_root, free_port()) as url:
        yield url


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    """A fresh browser context (no cookies) and page, 1600x1800 like a projector capture."""
    context = browser.new_context(viewport={"width": 1600, "height": 1800})  # type: ignore[attr-defined]
    pg = context.new_page()
    pg.set_default_timeout(90_000)
    yield pg
    context.close()
