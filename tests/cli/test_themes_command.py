"""``cx themes FILE --text-column C [--id-column C]`` on real CSV and Parquet files."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from cx.cli import main

ROWS = {
    "ref": ["a1", "a2", "a3", "a4"],
    "texto": [
        "La espera fue eterna pero el personal muy amable",
        "The app keeps crashing, awful",
        None,
        "В отделении очень чисто",
    ],
}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_themes_prints_id_themes_and_sentiment_per_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], suffix: str
) -> None:
    path = tmp_path / f"comments{suffix}"
    df = pl.DataFrame(ROWS)
    df.write_csv(path) if suffix == ".csv" else df.write_parquet(path)
    code, out, err = run(
        capsys,
        "themes",
        str(path),
        "--text-column",
        "texto",
        "--id-column",
        "ref",
        "--format",
        "json",
    )
    assert code == 0 and err == ""
    rows = json.loads(out)
    assert [r["ref"] for r in rows] == ["a1", "a2", "a3", "a4"]
    assert set(rows[0]) == {"ref", "themes", "sentiment", "theme_sentiment"}
    assert rows[0]["themes"] == ["waiting_time", "staff_attitude"]
    by_theme = rows[0]["theme_sentiment"]  # "La espera fue eterna pero el personal muy amable"
    assert set(by_theme) == {"waiting_time", "staff_attitude"}
    assert by_theme["waiting_time"] < 0 < by_theme["staff_attitude"]
    assert rows[1]["themes"] == ["digital"] and rows[1]["sentiment"] < 0
    assert rows[2] == {"ref": "a3", "themes": [], "sentiment": None, "theme_sentiment": {}}
    assert rows[3]["themes"] == ["cleanliness"] and rows[3]["sentiment"] > 0


def test_without_id_column_rows_are_numbered_from_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.csv"
    pl.DataFrame(ROWS).write_csv(path)
    code, out, _ = run(capsys, "themes", str(path), "--text-column", "texto", "--format", "json")
    assert code == 0 and [r["row"] for r in json.loads(out)] == [1, 2, 3, 4]


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        ("csv", ["--text-column", "nope"], "--text-column 'nope' is not a column of"),
        (
            "csv",
            ["--text-column", "texto", "--id-column", "id"],
            "--id-column 'id' is not a column",
        ),
        ("missing", ["--text-column", "texto"], "file not found"),
        ("txt", ["--text-column", "texto"], "unsupported file type .xlsx"),
        ("badparquet", ["--text-column", "texto"], "cannot read as parquet"),
    ],
)
def test_bad_file_or_column_prints_one_line_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], setup: str, args: list[str], message: str
) -> None:
    path = (
        tmp_path
        / {"csv": "c.csv", "missing": "none.csv", "txt": "c.xlsx", "badparquet": "c.parquet"}[setup]
    )
    if setup == "csv":
        pl.DataFrame(ROWS).write_csv(path)
    elif setup in ("txt", "badparquet"):
        path.write_text("not a table", encoding="utf-8")
    code, out, err = run(capsys, "themes", str(path), *args)
    assert code == 2 and out == ""
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
