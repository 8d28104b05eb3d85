"""`cx precompute`: one row per stored table (table, rows, seconds) in every format, nothing
computed twice, and one-line errors naming the file (exit code 2, no traceback)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from cx.analytics import precompute, rfm
from cx.cli import main
from cx.core import data
from tests.support.datadir import files_under, write_waves

REPO = Path(__file__).resolve().parents[2]
WAVES = ("2026-Q1", "2026-Q2")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Two waves of responses and the CRM purchases of 30 customers."""
    root = tmp_path / "data"
    responses = pl.DataFrame(
        {
            "response_id": [f"r{w}{i}" for w in range(2) for i in range(30)],
            "wave": [w for w in WAVES for _ in range(30)],
            "responded_at": [datetime(2026, 3 * w + 2, 1) for w in range(2) for _ in range(30)],
            "customer_id": [f"C{i:02d}" for _ in WAVES for i in range(30)],
            "region": ["Europe"] * 60,
            "country": ["ES"] * 60,
            "agency": ["Madrid"] * 60,
            "nps": [i % 11 for _ in WAVES for i in range(30)],
        }
    )
    write_waves(root, responses)
    (root / "crm").mkdir()
    pl.DataFrame(
        {
            "customer_id": [f"C{i:02d}" for i in range(30) for _ in range(i % 4 + 1)],
            "date": [
                date(2026, 1, 1) + timedelta(days=7 * i + 30 * k)
                for i in range(30)
                for k in range(i % 4 + 1)
            ],
            "amount": [10.0 * (i + 1) for i in range(30) for _ in range(i % 4 + 1)],
        }
    ).write_parquet(rfm.transactions_path(root))
    return root


def test_precompute_prints_one_row_per_wave_table_and_stores_each(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["precompute", "--data", str(folder), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [list(r) for r in rows] == [["table", "rows", "seconds"]] * len(WAVES)
    assert [r["table"] for r in rows] == [f"rfm/{w}" for w in WAVES]
    tx = rfm.scan_transactions(folder)
    for row, wave in zip(rows, WAVES, strict=True):
        expected = rfm.rfm_scores(tx, data.wave_period(wave)[1]).collect().height
        assert row["rows"] == expected and row["seconds"] >= 0
    version = precompute.rfm_version(folder, rfm.load_tiers())
    assert all(precompute.rfm_path(folder, version, w).is_file() for w in WAVES)


def test_precompute_table_and_csv_formats_have_the_same_columns(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["precompute", "--data", str(folder)]) == 0
    header, *lines = capsys.readouterr().out.splitlines()
    assert header.split() == ["table", "rows", "seconds"]
    assert [line.split()[0] for line in lines] == [f"rfm/{w}" for w in WAVES]
    assert main(["precompute", "--data", str(folder), "--format", "csv"]) == 0
    csv = capsys.readouterr().out.splitlines()
    assert csv[0] == "table,rows,seconds" and [c.split(",")[0] for c in csv[1:]] == [
        f"rfm/{w}" for w in WAVES
    ]


def test_a_second_precompute_rewrites_nothing(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["precompute", "--data", str(folder), "--format", "json"]) == 0
    first = json.loads(capsys.readouterr().out)
    before = files_under(folder)
    assert main(["precompute", "--data", str(folder), "--format", "json"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert files_under(folder) == before
    assert [(r["table"], r["rows"]) for r in second] == [(r["table"], r["rows"]) for r in first]


def cx(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cx.cli", *args], capture_output=True, text=True, cwd=REPO
    )


@pytest.mark.parametrize(
    ("breakage", "reason"),
    [
        ("no CRM file", "transactions.parquet: no CRM transactions file"),
        ("not Parquet", "transactions.parquet: not a readable Parquet file"),
        ("no amount column", "transactions.parquet: required column 'amount' is missing"),
        ("no waves", "waves: no wave files"),
    ],
)
def test_precompute_errors_are_one_line_naming_the_file_with_exit_code_2(
    folder: Path, breakage: str, reason: str
) -> None:
    path = rfm.transactions_path(folder)
    if breakage == "no CRM file":
        path.unlink()
    elif breakage == "not Parquet":
        path.write_bytes(b"customer_id,date,amount\nC01,2026-01-01,10\n")
    elif breakage == "no amount column":
        pl.read_parquet(path).drop("amount").write_parquet(path)
    else:
        for part in data.wave_files(folder):
            part.unlink()
    result = cx("precompute", "--data", str(folder))
    assert result.returncode == 2 and result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("cx precompute: ") and reason in line, line
    assert "Traceback" not in result.stderr
    assert not (folder / "precomputed").exists()
