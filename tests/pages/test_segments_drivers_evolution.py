"""AppTest of Segments & RFM, Strengths & weaknesses and Evolution for every demo manager:
renders, the takeaway is computed from the user's own scope, and nothing outside it is rendered."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from cx import ui
from cx.analytics import drivers, evolution, overview, segments
from cx.core import users
from cx.core.filters import Filters
from tests.support.apptest import ROOT, demo_user, rendered_text, run_page, signed_in, takeaway_of

PAGES = ("screens/segments.py", "screens/drivers.py", "screens/evolution.py")
MANAGERS = ("ceo", "es.manager", "fr.manager", "madrid.manager", "paris.manager", "analyst")
FOREIGN = {
    "es.manager": ["Paris", "Lyon", "Marseille", "Toulouse", "London", "Moscow", "Mexico"],
    "fr.manager": ["Madrid", "Barcelona", "Sevilla", "London"],
    "madrid.manager": ["Barcelona", "Valencia", "Sevilla", "Paris", "country:FR"],
    "paris.manager": ["Lyon", "Marseille", "Toulouse", "Madrid"],
}


def expected_takeaway(page: str, username: str, frame: pl.LazyFrame, root: Path) -> str:
    user = demo_user(username)
    assert user is not None
    f = Filters(wave=overview.waves(frame)[-1])
    if page == "screens/drivers.py":
        return drivers.takeaway(
            drivers.key_drivers(frame, user.scope, f),
            evolution.attribute_trend(frame, user.scope, f),
            f.wave,
        )
    if page == "screens/evolution.py":
        return evolution.takeaway(
            overview.nps_trend(frame, user.scope, f),
            evolution.attribute_trend(frame, user.scope, f),
            f.wave or "",
        )
    return segments.takeaway(
        segments.segment_nps(frame, user.scope, f),
        segments.segment_trend(frame, user.scope, f),
        segments.tier_nps(frame, user.scope, f, str(root)),
        segments.value_by(frame, user.scope, f, str(root)),
    )


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("username", MANAGERS)
def test_page_renders_the_users_own_numbers_and_nothing_outside_the_scope(
    demo_root: Path, responses: pl.LazyFrame, page: str, username: str
) -> None:
    at = run_page(page, username, demo_root)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert takeaway_of(at) == expected_takeaway(page, username, responses, demo_root)
    assert at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")
    text = rendered_text(at)
    for name in FOREIGN.get(username, []):
        assert name not in text, f"{username} sees {name} on {page}"


def test_madrid_manager_sees_madrid_cleanliness_story_on_drivers_and_evolution(
    demo_root: Path,
) -> None:
    assert takeaway_of(run_page("screens/drivers.py", "madrid.manager", demo_root)).startswith(
        "Cleanliness is your biggest improvement area"
    )
    assert "biggest significant fall: Cleanliness" in takeaway_of(
        run_page("screens/evolution.py", "madrid.manager", demo_root)
    )


def test_wave_comparison_picker_is_kept_in_the_url(demo_root: Path) -> None:
    at = run_page(
        "screens/evolution.py",
        "es.manager",
        demo_root,
        query={"cmp_from": "2024-Q4", "cmp_to": "2026-Q3"},
    )
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table.columns)[1:3] == ["2024-Q4", "2026-Q3"]


@pytest.mark.parametrize("page", PAGES)
def test_front_line_roles_and_anonymous_visitors_get_no_data(demo_root: Path, page: str) -> None:
    at = run_page(page, None, demo_root)
    assert not at.exception and not any(
        'class="cx-takeaway"' in el.proto.body for el in at.get("html")
    )
    teleop = users.get("madrid.teleop", demo_root / "users.yaml")
    assert teleop is not None
    assert page not in [
        p.path for p in ui.PAGES if ui.allowed(p, teleop)
    ]  # not in their navigation
    # Opened directly with a teleoperator's session, the page refuses before computing anything.
    direct = AppTest.from_file(str(ROOT / page), default_timeout=60)
    signed_in(direct, "madrid.teleop")
    direct.run()
    assert not direct.exception and [e.value for e in direct.error] == [
        "Your role does not give access to this screen."
    ]
    assert not any('class="cx-takeaway"' in el.proto.body for el in direct.get("html"))


def test_drivers_page_says_so_when_the_filters_leave_a_low_base(demo_root: Path) -> None:
    at = run_page(
        "screens/drivers.py",
        "madrid.manager",
        demo_root,
        query={"channel": "chat", "segment": "Young"},
    )
    assert not at.exception
    assert "too few (fewer than 30) for a driver analysis" in takeaway_of(at)
    assert [i.value for i in at.info] == [
        "Driver analysis needs at least 30 complete answers (NPS and every attribute). Widen the filters."
    ]
    assert not at.get("arrow_vega_lite_chart") and not at.get("vega_lite_chart")
