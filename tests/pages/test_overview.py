"""AppTest of the app and its pages, for every demo user: renders, stays in scope, refuses anonymous access."""

from pathlib import Path

import pytest

from cx import ui
from cx.demo import accounts
from tests.support.apptest import ROOT, demo_user, rendered_text, run_page

DEMO_USERS = [u["username"] for u in accounts.DEMO_USERS]
FOREIGN = {
    "es.manager": ["Paris", "Lyon", "Marseille", "London", "Moscow"],
    "fr.manager": ["Madrid", "Barcelona", "Sevilla", "London"],
    "madrid.manager": ["Barcelona", "Valencia", "Sevilla", "Paris"],
    "paris.manager": ["Lyon", "Marseille", "Toulouse", "Madrid"],
    "madrid.advisor": ["Barcelona", "Paris"],
    "madrid.teleop": ["Barcelona", "Paris"],
}


def allowed_pages(username: str) -> list[str]:
    user = demo_user(username)
    assert user is not None
    return [p.path for p in ui.PAGES if ui.allowed(p, user) and (ROOT / p.path).exists()]


@pytest.mark.parametrize("username", DEMO_USERS)
def test_overview_renders_for_every_demo_user_inside_their_scope(
    demo_root: Path, username: str
) -> None:
    at = run_page("screens/overview.py", username, demo_root)
    assert not at.exception, at.exception
    assert [m.label for m in at.metric][:1] == ["NPS"]
    text = rendered_text(at)
    for name in FOREIGN.get(username, []):
        assert name not in text, f"{username} sees {name}"


def test_country_manager_breakdown_lists_exactly_the_country_agencies(demo_root: Path) -> None:
    at = run_page("screens/overview.py", "es.manager", demo_root)
    table = at.table[0].value
    assert sorted(table["Agency"]) == ["Barcelona", "Madrid", "Sevilla", "Valencia"]


def test_agency_manager_sees_advisors_and_channels(demo_root: Path) -> None:
    at = run_page("screens/overview.py", "madrid.manager", demo_root)
    headers = [s.value for s in at.subheader]
    assert headers == ["By advisor", "By channel"]
    advisors = set(at.table[0].value["Advisor"])
    assert advisors and all(a.startswith("MAD-") for a in advisors)


def test_filters_from_the_url_reopen_the_same_view(demo_root: Path) -> None:
    at = run_page(
        "screens/overview.py", "ceo", demo_root, query={"wave": "2025-Q2", "segment": "Young"}
    )
    assert not at.exception
    assert "Wave 2025-Q2" in rendered_text(at) and "segment: Young" in rendered_text(at)


@pytest.mark.parametrize("page", [p.path for p in ui.PAGES if (ROOT / p.path).exists()])
def test_every_page_refuses_to_render_without_a_login(demo_root: Path, page: str) -> None:
    at = run_page(page, None, demo_root)
    assert not at.exception
    assert [w.value for w in at.warning] == [
        "Please sign in from the home page to see this screen."
    ]
    assert (
        not at.metric and not at.dataframe and not at.table and not at.get("arrow_vega_lite_chart")
    )


def test_app_without_login_shows_only_the_sign_in_form(demo_root: Path) -> None:
    import os

    from streamlit.testing.v1 import AppTest

    os.environ["CX_DATA_DIR"] = str(demo_root)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.run()
    assert not at.exception
    assert [b.proto.label for b in at.get("link_button")] == ["Sign in"]
    assert not at.metric and not at.dataframe and not at.table


def test_unknown_user_in_session_sees_nothing(demo_root: Path) -> None:
    at = run_page("screens/overview.py", "ghost", demo_root)
    assert not at.metric and not at.dataframe and not at.table


@pytest.mark.parametrize("username", list(DEMO_USERS)[::2])
def test_every_allowed_page_renders_without_error(demo_root: Path, username: str) -> None:
    every_allowed_page(demo_root, username)


def every_allowed_page(demo_root: Path, username: str) -> None:
    """Every page ``username`` may open runs without an exception and shows no place outside
    the scope (half the users here, half in ``test_every_user.py``: the other parallel worker)."""
    for page in allowed_pages(username):
        at = run_page(page, username, demo_root)
        assert not at.exception, f"{page} as {username}: {at.exception}"
        text = rendered_text(at)
        for name in FOREIGN.get(username, []):
            assert name not in text, f"{page}: {username} sees {name}"


def test_every_registered_page_file_exists() -> None:
    assert [p.path for p in ui.PAGES if not (ROOT / p.path).exists()] == []
