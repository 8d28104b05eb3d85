"""The tables' CSV and XLSX downloads (``cx.ui.components.table`` / ``downloads``): the bytes the
buttons hand to the browser are written by ``cx.core.export`` with formulas neutralised, built
only on a click, under ``<name>-<YYYY-MM-DD>`` file names; an empty table has no buttons."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from streamlit.delta_generator import DeltaGenerator
from streamlit.testing.v1 import AppTest

from cx.ui import components

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = pl.DataFrame(
    {
        "agency": ["Málaga", "Zürich", "Москва"],
        "comment": ['=HYPERLINK("http://x")', "@SUM(A1)", "очередь — trop d'attente ✓"],
        "nps": [-1, 9, 10],
    }
)


@pytest.fixture
def buttons(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every ``download_button`` call's arguments (Streamlit's method, not ours, is replaced)."""
    calls: list[dict[str, Any]] = []

    def capture(self: DeltaGenerator, label: str, **kwargs: Any) -> bool:
        calls.append({"label": label, **kwargs})
        return False

    monkeypatch.setattr(DeltaGenerator, "download_button", capture)
    return calls


def _today() -> str:
    return f"{datetime.now(UTC):%Y-%m-%d}"


def test_the_table_downloads_neutralise_formulas_and_keep_non_ascii_text(
    buttons: list[dict[str, Any]],
) -> None:
    components.table(HOSTILE, name="Zones – Europe (2026-Q2)", key="zones")
    csv, xlsx = buttons
    assert [csv["label"], xlsx["label"]] == ["CSV", "XLSX"]
    assert [csv["key"], xlsx["key"]] == ["zones_csv", "zones_xlsx"]
    assert csv["file_name"] == f"zones-europe-2026-q2-{_today()}.csv"
    assert xlsx["file_name"] == f"zones-europe-2026-q2-{_today()}.xlsx"
    assert csv["mime"] == "text/csv" and xlsx["mime"] == components.XLSX_MIME
    assert csv["on_click"] == xlsx["on_click"] == "ignore"
    assert callable(csv["data"]) and callable(xlsx["data"])  # built on the click only

    text = csv["data"]().decode("utf-8")
    back = pl.read_csv(io.StringIO(text))
    assert back["comment"].to_list() == [
        '\'=HYPERLINK("http://x")',
        "'@SUM(A1)",
        "очередь — trop d'attente ✓",
    ]
    assert back["agency"].to_list() == ["Málaga", "Zürich", "Москва"]
    assert back["nps"].to_list() == [-1, 9, 10]  # numbers stay numbers, even negative ones

    workbook = xlsx["data"]()
    sheet = pl.read_excel(io.BytesIO(workbook))
    assert sheet["comment"].to_list() == back["comment"].to_list()
    assert sheet["agency"].to_list() == ["Málaga", "Zürich", "Москва"]
    assert sheet["nps"].to_list() == [-1, 9, 10]
    with zipfile.ZipFile(io.BytesIO(workbook)) as book:
        names = book.namelist()
        xml = "".join(book.read(n).decode() for n in names if n.startswith("xl/worksheets/"))
        assert "xl/worksheets/sheet1.xml" in names
        assert not re.search(r"<f[ >]", xml)  # no cell holds a formula
        assert "zones-europe-2026-q2" in book.read("xl/workbook.xml").decode()  # the sheet's name


def test_the_file_holds_the_columns_and_headers_the_table_shows(
    buttons: list[dict[str, Any]],
) -> None:
    import streamlit as st

    components.table(
        HOSTILE,
        name="shown",
        key="shown",
        column_config={"agency": "Agency", "nps": st.column_config.NumberColumn("NPS")},
        column_order=["nps", "agency"],
    )
    back = pl.read_csv(io.BytesIO(buttons[0]["data"]()))
    assert back.columns == ["NPS", "Agency"]  # the hidden comment column never leaves


def test_pandas_frames_stylers_and_rows_of_dicts_download_their_data(
    buttons: list[dict[str, Any]],
) -> None:
    import pandas as pd

    pandas = pd.DataFrame({"comment": ["+33 1 23", "ok"], "n": [1, 2]}, index=["x", "y"])
    components.table(pandas, name="pandas", key="pandas")
    components.table(pandas.style.highlight_max(), name="styler", key="styler")
    components.table([{"Survey": "=cmd", "Version": 2}, {"Survey": "kiosk"}], name="r", key="r")
    files = {b["key"]: b["data"]() for b in buttons if b["key"].endswith("_csv")}
    assert files["pandas_csv"] == files["styler_csv"] == b"comment,n\n'+33 1 23,1\nok,2\n"
    assert files["r_csv"] == b"Survey,Version\n'=cmd,2\nkiosk,\n"


def test_an_empty_table_or_a_count_of_zero_has_no_buttons(buttons: list[dict[str, Any]]) -> None:
    components.table(HOSTILE.clear(), name="empty", key="empty")
    components.downloads(lambda: HOSTILE, name="verbatims", key="vb", count=0)
    assert buttons == []
    components.downloads(lambda: HOSTILE, name="verbatims", key="vb", count=12_345)
    assert [b["label"] for b in buttons] == ["CSV · 12,345", "XLSX · 12,345"]
    assert b"'@SUM(A1)" in buttons[0]["data"]()


def test_in_a_running_app_the_buttons_are_deferred_and_do_not_rerun(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def page() -> None:
        import polars as pl
        import streamlit as st

        from cx.ui.components import table

        st.text(f"export {st.get_option('client.disableDataExport')}")
        table(pl.DataFrame({"c": ["=1+1"]}), name="one", key="one")
        table(pl.DataFrame({"c": []}, schema={"c": pl.String}), name="none", key="none")

    monkeypatch.chdir(ROOT)  # where the app (and every AppTest of tests/pages) runs
    at = AppTest.from_function(page, default_timeout=60)
    at.run()
    assert not at.exception
    assert at.text[0].value == "export True"  # the app's .streamlit/config.toml, as in the app
    assert len(at.dataframe) == 2
    found = at.get("download_button")
    assert [b.proto.label for b in found] == ["CSV", "XLSX"]
    assert [b.proto.id.rsplit("-", 1)[-1] for b in found] == ["one_csv", "one_xlsx"]
    for b in found:
        assert b.proto.deferred_file_id and not b.proto.url  # no file made before a click
        assert b.proto.ignore_rerun


def test_streamlits_own_table_export_is_off_in_the_app_config() -> None:
    """st.dataframe's toolbar download writes formulas as they are: the app turns it off."""
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["disableDataExport"] is True
    assert not list((ROOT / "tests").rglob("config.toml"))  # the AppTests load the app's own
