"""AppTest of Relational vs transactional: each manager sees the figures of their own scope and
nothing outside it, the touchpoint filter is ignored (and said so), advisors are refused."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from cx import ui
from cx.analytics import overview, touchpoints
from cx.core import users
from cx.core.filters import Filters
from tests.support.apptest import ROOT, demo_user, rendered_text, run_page, signed_in, takeaway_of

PAGE = "screens/touchpoints.py"
FOREIGN = {
    "ceo": [],
    "es.manager": ["Paris", "Lyon", "Marseille", "London", "Moscow"],
    "madrid.manager": ["Barcelona", "Valencia", "Sevilla", "Paris"],
}


def figures(frame: pl.LazyFrame, username: str) -> tuple[pl.DataFrame, pl.DataFrame, Filters]:
    user = demo_user(username)
    f = Filters(wave=overview.waves(frame)[-1])
    return touchpoints.side_by_side(frame, user.scope, f), touchpoints.drag(frame, user.scope, f), f


@pytest.mark.parametrize("username", list(FOREIGN))
def test_each_manager_sees_their_own_scopes_figures(
    demo_root: Path, responses: pl.LazyFrame, username: str
) -> None:
    at = run_page(PAGE, username, demo_root)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    side, dragged, _ = figures(responses, username)
    assert takeaway_of(at) == touchpoints.takeaway(side, dragged)
    shown = at.dataframe[0].value
    assert list(shown["Survey"]) == side["label"].to_list()
    assert list(shown["Survey"])[0] == "Relational"
    assert list(shown["n"]) == side["n"].to_list()
    assert [round(v, 1) for v in shown["NPS"]] == [round(v, 1) for v in side["nps"]]
    ranking = at.dataframe[1].value
    assert list(ranking["Touchpoint"]) == dragged["label"].to_list()
    assert list(ranking["Customers paired"]) == dragged["pairs"].to_list()
    charts = [*at.get("arrow_vega_lite_chart"), *at.get("vega_lite_chart")]
    assert len(charts) == 3  # side by side, drag, attribute profile
    text = rendered_text(at)
    assert "The touchpoint filter is ignored here" in text
    for name in FOREIGN[username]:
        assert name not in text, f"{username} sees {name}"


def test_the_scopes_differ_so_each_user_gets_their_own_numbers(responses: pl.LazyFrame) -> None:
    ns = [figures(responses, u)[0]["n"][0] for u in ("ceo", "es.manager", "madrid.manager")]
    assert ns[0] > ns[1] > ns[2] > 0


def test_the_demo_story_delivery_drags_the_relationship(demo_root: Path) -> None:
    text = takeaway_of(run_page(PAGE, "ceo", demo_root))
    assert "Delivery drags the relationship most" in text


def test_a_touchpoint_filter_keeps_every_touchpoint_and_says_so(demo_root: Path) -> None:
    at = run_page(PAGE, "es.manager", demo_root, query={"touchpoint": "delivery"})
    assert not at.exception, at.exception
    assert "touchpoint: delivery" in rendered_text(at)
    assert [i.value for i in at.info][:1] == [
        "The touchpoint filter is ignored here: every touchpoint is compared with the relationship."
    ]
    assert set(at.dataframe[0].value["Survey"]) == {"Relational", "Delivery", "Purchase", "Support"}


def test_an_advisor_cannot_open_the_page(demo_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CX_DATA_DIR", str(demo_root))
    advisor = users.get("madrid.advisor", demo_root / "users.yaml")
    assert advisor is not None
    spec = next(p for p in ui.PAGES if p.path == PAGE)
    assert spec.url_path == "touchpoints" and spec.section == "Dashboards"
    assert not ui.allowed(spec, advisor)
    direct = AppTest.from_file(str(ROOT / PAGE), default_timeout=60)  # a direct URL
    signed_in(direct, "madrid.advisor")
    direct.run()
    assert not direct.exception, direct.exception
    assert [e.value for e in direct.error] == ["Your role does not give access to this screen."]
    assert not direct.dataframe and not direct.get("vega_lite_chart")
