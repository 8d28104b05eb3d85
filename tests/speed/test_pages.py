"""`cx bench` times every screen under AppTest (cold and warm rows) and `--only` picks by area,
by screen or by name part (structure only: durations are reported, never asserted)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cx.demo.dataset import write_demo
from cx.speed import pages, screens, suite
from tests.support.apptest import ROOT, demo_user

COLUMNS = {"query", "rows", "seconds", "reference_seconds", "ratio", "per_second", "unit"}


@pytest.fixture(scope="module")
def bench_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bench")
    write_demo(root, rows=20_000)
    return root


def bench(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cx.cli", "bench", "--rows", "20000", "--workdir", str(root)]
        + [*args, "--format", "json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=900,
    )


def test_only_pages_gives_one_cold_and_one_warm_row_per_screen_and_reader(
    bench_root: Path,
) -> None:
    result = bench(bench_root, "--only", "pages", "--repeat", "1")
    assert result.returncode == 0, result.stderr  # a screen that raised would fail the run
    rows = json.loads(result.stdout)
    names = [r["query"] for r in rows]
    expected = [
        f"page.{page} [{user}] {kind}"
        for page, users in screens.READERS.items()
        for user in users
        for kind in ("cold", "warm")
    ]
    assert sorted(names) == sorted(expected)
    assert all(n.startswith("page.") for n in names)  # no query case with --only pages
    for r in rows:
        assert set(r) == COLUMNS
        assert r["rows"] == 20_000 and r["seconds"] > 0
        assert r["reference_seconds"] is None and r["ratio"] is None


def test_every_manager_screen_has_a_page_row_and_a_reader_allowed_to_open_it() -> None:
    from cx.ui.navigation import PAGES, allowed

    specs = {p.url_path: p for p in PAGES}
    for run in screens.page_runs():
        user = demo_user(run.username)
        assert specs[run.page].path == run.path and allowed(specs[run.page], user), run
    covered = {run.page for run in screens.page_runs()}
    assert {"overview", "segments", "drivers", "themes", "alerts", "meeting", "reports"} <= covered
    assert not covered & {"import", "rules", "surveys", "webhooks", "tokens", "account"}


def test_a_screen_that_refuses_its_user_fails_the_bench_naming_page_and_user(
    bench_root: Path,
) -> None:
    refused = screens.PageRun("tokens", "screens/tokens.py", "es.manager")  # no user admin
    with pytest.raises(screens.PageError, match=r"screens/tokens.py as es.manager"):
        pages.run(bench_root, 20_000, [refused], lambda fn: 0.0)


def test_only_an_area_selects_its_cases_and_no_screen() -> None:
    cases, runs = suite.select("voice")
    assert cases and all(c.query.startswith("voice.") for c in cases) and not runs
    cases, runs = suite.select("analytics")
    names = [c.query for c in cases]
    assert any(n.startswith("segments.") for n in names)
    assert any(n.startswith("rfm_precompute.") for n in names) and not runs
    cases, runs = suite.select("pages")
    assert not cases and runs == screens.page_runs()


def test_only_a_screen_selects_its_page_rows_and_its_query_cases() -> None:
    cases, runs = suite.select("drivers")
    assert [(r.page, r.username) for r in runs] == [
        ("drivers", "ceo"),
        ("drivers", "es.manager"),
    ]
    names = {c.query for c in cases}
    assert "drivers.key_drivers [world]" in names
    assert "evolution.attribute_trend [world]" in names  # the screen's trend chart
    assert not any(n.startswith("segments.") for n in names)
    cases, runs = suite.select("themes")
    assert {r.page for r in runs} == {"themes"}
    assert "voice.theme_summary [country:ES]" in {c.query for c in cases}


def test_only_still_matches_a_part_of_the_name() -> None:
    cases, runs = suite.select("tier_nps")
    assert cases and all("tier_nps" in c.query for c in cases) and not runs
    cases, runs = suite.select("[es.manager]")
    assert not cases and runs and all(r.username == "es.manager" for r in runs)


def test_only_matching_nothing_is_a_one_line_error(bench_root: Path) -> None:
    result = bench(bench_root, "--only", "no-such-case")
    assert result.returncode != 0 and not result.stdout
    assert "Traceback" not in result.stderr
    assert "--only 'no-such-case' matches no case" in result.stderr
