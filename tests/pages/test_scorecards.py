"""The advisor's own dashboards and the Staff scorecards screen on the demo: an advisor sees only
the customers they served and never a peer's score; the agency manager sees the agency's advisors."""

from pathlib import Path

import polars as pl

from cx import ui
from cx.core import data
from cx.demo.accounts import DEMO_ADVISOR
from tests.support.apptest import demo_user, rendered_text, run_page, takeaway_of

PEERS = [f"MAD-{i:02d}" for i in range(1, 9) if f"MAD-{i:02d}" != DEMO_ADVISOR]


def _own_count(demo_root: Path) -> int:
    frame = data.scan_responses(demo_root)
    latest = data.sort_waves(frame.select("wave").unique().collect()["wave"].to_list())[-1]
    return (
        frame.filter(
            (pl.col("wave") == latest)
            & (pl.col("advisor_id") == DEMO_ADVISOR)
            & ~pl.col("excluded").fill_null(False)
        )
        .select(pl.len())
        .collect()
        .item()
    )


def test_the_advisor_overview_counts_only_the_customers_they_served(demo_root: Path) -> None:
    at = run_page("screens/overview.py", "madrid.advisor", demo_root)
    assert not at.exception, at.exception
    base = next(m for m in at.metric if m.label == "Responses (n)")
    assert base.value.replace(",", "") == str(_own_count(demo_root))
    assert [s.value for s in at.subheader] == ["By channel"]
    text = rendered_text(at)
    assert not any(peer in text for peer in PEERS)


def test_the_advisor_opens_their_themes_and_drivers_but_not_the_managers_screens(
    demo_root: Path,
) -> None:
    user = demo_user("madrid.advisor")
    opened = {p.url_path for p in ui.PAGES if ui.allowed(p, user)}
    assert {"overview", "themes", "drivers", "scorecards"} <= opened
    assert not opened & {"benchmarks", "segments", "verbatims", "evolution", "plans"}
    for page in ("screens/themes.py", "screens/drivers.py"):
        at = run_page(page, "madrid.advisor", demo_root)
        assert not at.exception, (page, at.exception)
        assert not at.error, (page, [e.value for e in at.error])
        assert at.get("arrow_vega_lite_chart") + at.get("vega_lite_chart"), page
        assert not any(peer in rendered_text(at) for peer in PEERS)


def test_the_advisor_scorecard_shows_their_own_figures_only(demo_root: Path) -> None:
    at = run_page("screens/scorecards.py", "madrid.advisor", demo_root)
    assert not at.exception, at.exception
    assert [m.label for m in at.metric] == [
        "NPS",
        "Answers",
        "Negative ratings commented",
        "Cases closed within SLA",
    ]
    assert takeaway_of(at).startswith("Your customers' NPS in ")
    assert not any(peer in rendered_text(at) for peer in PEERS)
    history = at.dataframe[0].value
    assert set(history["advisor_id"]) == {DEMO_ADVISOR}
    assert history["rank"].isna().all()  # never ranked against peers


def test_the_agency_manager_scorecards_rank_the_agency_advisors(demo_root: Path) -> None:
    at = run_page("screens/scorecards.py", "madrid.manager", demo_root)
    assert not at.exception, at.exception
    now = at.dataframe[0].value
    assert set(now["advisor_id"]) == {f"MAD-{i:02d}" for i in range(1, 9)}
    ranked = now[now["rank"].notna()]
    assert len(ranked) >= 2 and (ranked["n"] >= 30).all()
    assert sorted(ranked["rank"].astype(int)) == list(range(1, len(ranked) + 1))
    assert "advisors with 30+ answers" in takeaway_of(at)


def test_only_advisors_and_agency_managers_get_the_scorecards_screen() -> None:
    page = next(p for p in ui.PAGES if p.url_path == "scorecards")
    shown = {
        name
        for name in (
            "ceo",
            "es.manager",
            "madrid.manager",
            "madrid.advisor",
            "madrid.teleop",
            "analyst",
        )
        if ui.allowed(page, demo_user(name))
    }
    assert shown == {"madrid.manager", "madrid.advisor"}
