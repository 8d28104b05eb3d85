"""Benchmarks and World zones pages, run in the real app as each demo user (Streamlit AppTest).

For every user the rendered text and chart data must name no agency, country or region outside
the user's scope (the parent country of an agency is shown only as an aggregate).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from cx import ui
from cx.core import users
from cx.core.org import COUNTRY_NAMES
from cx.core.scope import Scope, contains
from cx.demo.dataset import GEOGRAPHY
from tests.support.apptest import demo_user, rendered_text, run_page

BENCHMARKS = "screens/benchmarks.py"
ZONES = "screens/zones.py"
MANAGER_USERS = ("ceo", "es.manager", "fr.manager", "madrid.manager", "paris.manager", "analyst")


def _outside_names(scope: Scope) -> list[str]:
    """Agency, country and region names with no row inside the scope."""
    names: list[str] = []
    for region, countries in GEOGRAPHY.items():
        region_seen = False
        for country, agencies in countries.items():
            inside = [
                a for a in agencies if contains(scope, region=region, country=country, agency=a)
            ]
            names += [a for a in agencies if a not in inside]
            if inside:
                region_seen = True
            else:
                names.append(COUNTRY_NAMES[country])
        if not region_seen:
            names.append(region)
    return names


def _leaks(text: str, scope: Scope) -> list[str]:
    return [n for n in _outside_names(scope) if re.search(rf"\b{re.escape(n)}\b", text)]


def _page_ok(at) -> str:  # type: ignore[no-untyped-def]
    assert not at.exception, at.exception
    text = rendered_text(at)
    assert "cx-takeaway" in text
    return text


def test_outside_names_for_madrid_cover_its_spanish_and_french_peers() -> None:
    names = _outside_names(Scope.parse("agency:Madrid"))
    assert {"Barcelona", "Valencia", "Sevilla", "Paris", "Lyon", "Marseille", "France"} <= set(
        names
    )
    assert "Madrid" not in names and "Spain" not in names and "Europe" not in names


@pytest.mark.parametrize("username", MANAGER_USERS)
def test_benchmarks_page_renders_nothing_outside_the_scope(demo_root: Path, username: str) -> None:
    user = demo_user(username)
    assert user is not None
    at = run_page(BENCHMARKS, username, demo_root)
    text = _page_ok(at)
    assert _leaks(text, user.scope) == []


def test_ceo_sees_both_league_tables_and_marseille_story_for_france(demo_root: Path) -> None:
    at = run_page(BENCHMARKS, "ceo", demo_root)
    text = _page_ok(at)
    assert [s.value for s in at.subheader] == [
        "Country league vs the world",
        "Region league vs the world",
    ]
    assert "France" in text and "Latin America" in text
    fr = run_page(BENCHMARKS, "fr.manager", demo_root)
    takeaway = " ".join(
        str(h.proto.body) for h in fr.get("html") if "cx-takeaway" in str(h.proto.body)
    )
    assert "Marseille is " in takeaway and "below the France average: significant" in takeaway


def test_agency_manager_gets_the_attribute_benchmark_not_a_league(demo_root: Path) -> None:
    at = run_page(BENCHMARKS, "madrid.manager", demo_root)
    text = _page_ok(at)
    assert [s.value for s in at.subheader] == ["Madrid vs Spain, attribute by attribute"]
    assert "Cleanliness" in text
    assert [m.label for m in at.metric] == ["NPS Madrid", "NPS Spain", "NPS World"]


@pytest.mark.parametrize("username", ["ceo", "analyst"])
def test_zones_page_renders_map_and_table(demo_root: Path, username: str) -> None:
    at = run_page(ZONES, username, demo_root)
    text = _page_ok(at)
    assert "topojson" in text and "Latin America" in text
    assert (
        len(at.dataframe) == 1 and at.dataframe[0].value.shape[0] == 4 + 7
    )  # 4 regions, 7 countries


def test_zones_metric_picker_switches_to_an_attribute(demo_root: Path) -> None:
    at = run_page(ZONES, "ceo", demo_root)
    at.selectbox(key="zone_metric").set_value("attr_cleanliness").run()
    text = _page_ok(at)
    assert "leads on Cleanliness" in text


@pytest.fixture
def region_user(demo_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A Europe region manager added to a copy of the demo users file."""
    config = yaml.safe_load((demo_root / "users.yaml").read_text(encoding="utf-8"))
    template = dict(config["credentials"]["usernames"]["es.manager"])
    template.update(name="Eva Europe", email="europe@cx-demo.example", scope=["region:Europe"])
    config["credentials"]["usernames"]["europe.manager"] = template
    path = tmp_path / "users.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    monkeypatch.setenv("CX_USERS_FILE", str(path))
    return "europe.manager"


@pytest.mark.parametrize("page", [BENCHMARKS, ZONES])
def test_region_manager_sees_only_europe(demo_root: Path, region_user: str, page: str) -> None:
    at = run_page(page, region_user, demo_root)
    text = _page_ok(at)
    leaks = _leaks(text, Scope.parse("region:Europe"))
    assert leaks == []
    assert "France" in text and "Spain" in text


@pytest.mark.parametrize(
    ("username", "page", "allowed"),
    [
        ("madrid.advisor", BENCHMARKS, False),
        ("madrid.teleop", BENCHMARKS, False),
        ("es.manager", ZONES, False),
        ("madrid.manager", ZONES, False),
        ("ceo", ZONES, True),
        ("es.manager", BENCHMARKS, True),
    ],
)
def test_pages_are_offered_by_role_and_scope(
    demo_root: Path, username: str, page: str, allowed: bool
) -> None:
    spec = next(p for p in ui.PAGES if p.path == page)
    user = users.get(username, demo_root / "users.yaml")
    assert user is not None
    assert ui.allowed(spec, user) is allowed


@pytest.mark.parametrize("page", [BENCHMARKS, ZONES])
def test_page_refuses_to_render_without_login(demo_root: Path, page: str) -> None:
    at = run_page(page, None, demo_root)
    assert [w.value for w in at.warning] == [
        "Please sign in from the home page to see this screen."
    ]
    assert not at.dataframe and not at.get("arrow_vega_lite_chart")
