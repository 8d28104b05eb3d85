"""Imports of one table run one after the other, from reading what is stored to publishing the
new file: two overlapping appends keep every row of both (real processes for the waves)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import polars as pl
import pytest

from cx import ingest
from tests.ingest.files import csv, rows
from tests.support.datadir import no_hook

ROOT = Path(__file__).resolve().parents[2]


def wait_until(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def test_two_cx_import_append_processes_at_once_keep_every_row(root: Path, tmp_path: Path) -> None:
    ingest.import_file(
        csv(tmp_path / "base.csv", rows("BASE", 3)), "2026-Q4", root=root, after_import=no_hook
    )
    files = [csv(tmp_path / f"{p}.csv", rows(p, 10)) for p in ("AAA", "BBB")]
    errs = [tmp_path / f"err{i}.txt" for i in range(2)]
    env = {**os.environ, "CX_DATA_DIR": str(root), "DATABASE_URL": ""}
    # The barrier: this test holds the waves lock while both processes start, so each one
    # reaches the point where it would read the stored wave before either can write.
    with ingest.exclusive(root, "waves"):
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "cx.cli", "import", str(f), "--wave", "2026-Q4"]
                + ["--mode", "append", "--data", str(root), "--format", "json"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=e.open("w"),
            )
            for f, e in zip(files, errs, strict=True)
        ]
        try:
            wait_until(
                lambda: (
                    all("waiting for another import" in e.read_text() for e in errs)
                    or any(p.poll() is not None for p in procs)
                ),
                60,
                "both imports to wait for the lock",
            )
            assert all(p.poll() is None for p in procs), [e.read_text() for e in errs]
        except BaseException:
            for p in procs:
                p.kill()
            raise
    outs = [p.communicate(timeout=60)[0].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [e.read_text() for e in errs]
    assert all('"outcome": "written"' in out for out in outs)
    stored = pl.read_parquet(root / "waves" / "wave=2026-Q4" / "part-0.parquet")
    ids = set(stored["response_id"].to_list())
    assert ids == {f"{p}{i}" for p in ("AAA", "BBB") for i in range(10)} | {
        f"BASE{i}" for i in range(3)
    }
    assert not list((root / ".locks").iterdir())  # released and removed


@pytest.mark.parametrize("table", ["crm", "fieldwork"])
def test_overlapping_side_table_imports_keep_every_row(
    root: Path, tmp_path: Path, table: str
) -> None:
    if table == "crm":
        header = "transaction_id,customer_id,date,amount"
        sources = [
            csv(
                tmp_path / f"{p}.csv",
                [f"{p}{i},C{i},2026-01-0{1 + i},{i}.5" for i in range(5)],
                header,
            )
            for p in ("T", "U")
        ]
        run = lambda f: ingest.import_crm(f, root=root)  # noqa: E731
        target = root / "crm" / "transactions.parquet"
    else:
        header = "wave,agency,channel,invitations"
        sources = [
            csv(tmp_path / "a.csv", ["2026-Q4,Leeds,email,10", "2026-Q4,Madrid,email,5"], header),
            csv(tmp_path / "b.csv", ["2026-Q4,Leeds,sms,7", "2026-Q4,Paris,web,3"], header),
        ]
        run = lambda f: ingest.import_fieldwork(f, root=root)  # noqa: E731
        target = root / "fieldwork.parquet"
    errors: list[BaseException] = []

    def work(f: Path) -> None:
        try:
            run(f)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    with ingest.exclusive(root, table):  # both threads start, read nothing, and wait
        threads = [threading.Thread(target=work, args=(f,)) for f in sources]
        for t in threads:
            t.start()
        time.sleep(0.3)
        assert not target.exists() and all(t.is_alive() for t in threads)
    for t in threads:
        t.join(60)
    assert not errors
    assert pl.read_parquet(target).height == (10 if table == "crm" else 4)


def test_a_waiting_import_gives_up_after_its_timeout_in_one_line(
    root: Path, tmp_path: Path
) -> None:
    src = csv(tmp_path / "a.csv", rows("A", 2))
    told: list[str] = []
    with ingest.exclusive(root, "waves"), pytest.raises(ingest.IngestError) as refused:
        ingest.import_file(
            src,
            "2026-Q4",
            root=root,
            lock_timeout=0.2,
            on_wait=told.append,
            after_import=no_hook,
        )
    assert str(refused.value).startswith(f"another import of waves (pid {os.getpid()}) still holds")
    assert "\n" not in str(refused.value)
    assert told == [f"waiting for another import of waves (pid {os.getpid()}) to finish…"]
    assert not (root / "waves").exists()
    with ingest.exclusive(root, "crm"), pytest.raises(ingest.IngestError, match="import of crm"):
        ingest.import_crm(
            csv(
                tmp_path / "t.csv", ["T1,C1,2026-01-01,1"], "transaction_id,customer_id,date,amount"
            ),
            root=root,
            lock_timeout=0.1,
        )
