"""Every table of a screen has its CSV and XLSX buttons under it (``cx.ui.table``), run in the real
app as demo users on the demo data (Streamlit AppTest): one pair per table shown, named by a key
unique on the page, built only on a click (deferred, no rerun)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from streamlit.testing.v1 import AppTest

from tests.support.apptest import run_page

SCREENS = [
    ("screens/overview.py", "es.manager", ["breakdown_agency"]),
    (
        "screens/benchmarks.py",
        "es.manager",
        ["league_agency", "attribute_benchmark", "benchmark_indices"],
    ),
    ("screens/zones.py", "ceo", ["zones"]),
    ("screens/evolution.py", "ceo", ["compare"]),
    ("screens/fieldwork.py", "ceo", ["fieldwork_agencies", "fieldwork_indices"]),
    ("screens/rules.py", "analyst", ["rules"]),
    ("screens/account.py", "madrid.advisor", ["sessions"]),
]


def download_keys(at: AppTest) -> list[str]:
    """The keys of the page's CSV buttons, after checking each has its XLSX twin and that both
    are deferred (no file made before a click) and do not rerun the page."""
    buttons = at.get("download_button")
    keys = [re.sub(r"^\$\$ID-[0-9a-f]+-", "", b.proto.id) for b in buttons]
    for b in buttons:
        assert b.proto.deferred_file_id and not b.proto.url, b.proto.label
        assert b.proto.ignore_rerun, b.proto.label
    csv = [k.removesuffix("_csv") for k in keys if k.endswith("_csv")]
    assert sorted(keys) == sorted([f"{k}_csv" for k in csv] + [f"{k}_xlsx" for k in csv])
    assert [b.proto.label for b in buttons] == ["CSV", "XLSX"] * len(csv)
    return csv


def every_table_has_its_downloads(at: AppTest, expected: list[str]) -> None:
    assert not at.exception, at.exception
    keys = download_keys(at)
    assert keys == expected
    assert len(keys) == len(at.dataframe) + len(at.table)  # one pair per table shown


@pytest.mark.parametrize(("page", "username", "expected"), SCREENS)
def test_each_table_of_the_screen_downloads_as_csv_and_xlsx(
    demo_root: Path, page: str, username: str, expected: list[str]
) -> None:
    every_table_has_its_downloads(run_page(page, username, demo_root), expected)


def test_the_case_screens_tables_download_too(demo_root: Path, app_store: Engine) -> None:
    board = run_page("screens/case_dashboard.py", "madrid.manager", demo_root)
    keys = download_keys(board)
    assert {"cases_by_agency", "cases_by_advisor"} <= set(keys)
    assert len(keys) == len(board.dataframe)
    work = run_page("screens/cases.py", "madrid.teleop", demo_root)
    every_table_has_its_downloads(work, ["case_worklist", "case_history"])


def test_the_verbatim_downloads_use_the_same_helper(demo_root: Path) -> None:
    at = run_page("screens/verbatims.py", "es.manager", demo_root)
    assert not at.exception, at.exception
    buttons = at.get("download_button")
    assert [b.proto.id.rsplit("-", 1)[-1] for b in buttons] == ["vb_csv", "vb_xlsx"]
    assert all(b.proto.deferred_file_id and b.proto.ignore_rerun for b in buttons)
