"""`cx precompute --cluster`: a LocalCluster of 2 worker processes and a separately started
scheduler with 2 workers build the same tables as this process (the same files, the same
frames), a worker with another tagging engine is refused, a bad or unreachable address is one
line (exit code 2, nothing written), and the in-process run never loads Dask."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from distributed import Client
from polars.testing import assert_frame_equal

from cx.analytics import rfm
from cx.core import data
from cx.demo.dataset import write_demo
from tests.support.datadir import files_under
from tests.support.net import free_port, wait_for_port

REPO = Path(__file__).resolve().parents[2]
ROWS = 800
"""100 responses a wave over the demo's 8 waves: every job has work on every wave."""


def cx(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cx.cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
        env=env,
    )


def precompute(root: Path, *extra: str) -> list[dict[str, object]]:
    result = cx("precompute", "--data", str(root), "--format", "json", *extra)
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout))


def tables(root: Path) -> dict[str, Path]:
    """Every stored table by its name: ``rfm/<wave>.parquet`` (the version folder fingerprints
    the transactions file's inode, so it differs between copies), ``themes/<engine>/<file>``."""
    out = {}
    for p in (root / data.PRECOMPUTED_DIR).rglob("*"):
        if p.is_file():
            rel = p.relative_to(root / data.PRECOMPUTED_DIR)
            out[f"rfm/{p.name}" if rel.parts[0] == "rfm" else str(rel)] = p
    return out


def assert_same_tables(got: Path, expected: Path) -> None:
    mine, theirs = tables(got), tables(expected)
    assert sorted(mine) == sorted(theirs)
    assert len([n for n in mine if n.startswith("rfm/")]) == 8
    assert len([n for n in mine if n.startswith("themes/")]) == 8
    for name in mine:
        a, b = pl.read_parquet(mine[name]), pl.read_parquet(theirs[name])
        assert not a.is_empty(), name
        # exact, floats included: the tagger's sums are exact (Decimal), whatever the threads
        assert_frame_equal(a, b, check_exact=True)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo")
    write_demo(root, rows=ROWS)
    return root


def copy_of(demo: Path, to: Path) -> Path:
    """A copy keeping the files' modification times (the tags' file names depend on them)."""
    shutil.copytree(demo, to, copy_function=shutil.copy2)
    return to


@pytest.fixture(scope="module")
def in_process(
    demo: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, list[dict[str, object]]]:
    root = copy_of(demo, tmp_path_factory.mktemp("in-process") / "data")
    return root, precompute(root)


def test_the_in_process_run_stores_every_wave_s_rfm_and_themes_table(
    in_process: tuple[Path, list[dict[str, object]]],
) -> None:
    root, rows = in_process
    waves = data.list_waves(root)
    assert [r["table"] for r in rows] == [f"{job}/{w}" for job in ("rfm", "themes") for w in waves]
    tx = rfm.scan_transactions(root)
    responses = data.scan_responses(root)
    for row in rows:
        job, wave = str(row["table"]).split("/")
        if job == "rfm":
            expected = rfm.rfm_scores(tx, data.wave_period(wave)[1]).collect().height
        else:  # one row per non-blank comment
            expected = (
                responses.filter(
                    pl.col("wave") == wave,
                    pl.col("comment").str.strip_chars().str.len_chars() > 0,
                )
                .select(pl.len())
                .collect()
                .item()
            )
        assert row["rows"] == expected > 0, row


def test_a_local_cluster_of_two_workers_stores_the_same_tables_as_this_process(
    demo: Path, in_process: tuple[Path, list[dict[str, object]]], tmp_path: Path
) -> None:
    expected, expected_rows = in_process
    root = copy_of(demo, tmp_path / "data")
    rows = precompute(root, "--cluster", "local:2")
    assert [(r["table"], r["rows"]) for r in rows] == [
        (r["table"], r["rows"]) for r in expected_rows
    ]
    assert_same_tables(root, expected)
    assert not [p for p in (root / data.PRECOMPUTED_DIR).rglob(".*")]  # no temporary file left


def _start(*argv: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "dask", *argv],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )


@pytest.fixture
def scheduler() -> Iterator[tuple[str, list[subprocess.Popen[bytes]]]]:
    """A ``dask scheduler`` on a free loopback port and ``dask worker --nworkers 2`` (real
    processes), stopped after the test; more workers may be added to the list."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [_start("scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard")]
    try:
        wait_for_port(port, timeout=60)
        procs.append(
            _start("worker", address, "--nworkers", "2", "--nthreads", "1", "--no-dashboard")
        )
        yield address, procs
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def test_a_scheduler_and_two_workers_at_a_tcp_address_store_the_same_tables(
    demo: Path,
    in_process: tuple[Path, list[dict[str, object]]],
    scheduler: tuple[str, list[subprocess.Popen[bytes]]],
    tmp_path: Path,
) -> None:
    expected, expected_rows = in_process
    address, procs = scheduler
    root = copy_of(demo, tmp_path / "data")
    rows = precompute(root, "--cluster", address)
    assert [(r["table"], r["rows"]) for r in rows] == [
        (r["table"], r["rows"]) for r in expected_rows
    ]
    assert_same_tables(root, expected)
    # A worker tagging with another engine (no learned model) would store other tags: refused.
    other = {**os.environ, "CX_VOICE_MODEL": str(tmp_path / "absent.parquet")}
    procs.append(_start("worker", address, "--nthreads", "1", "--no-dashboard", env=other))
    fresh = copy_of(demo, tmp_path / "fresh")
    before = files_under(fresh)
    with Client(address, timeout=30) as client:
        client.wait_for_workers(3, timeout=120)
    result = cx("precompute", "--data", str(fresh), "--cluster", address)
    assert result.returncode == 2 and result.stdout == "" and "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith(f"cx precompute: --cluster {address}: worker tcp://"), line
    assert "install the same cx-review on every worker" in line
    assert files_under(fresh) == before


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("local:0", "N must be 1 to 64"),
        ("127.0.0.1:8786", "expected tcp://HOST:PORT or local:N"),
        ("tcp://127.0.0.1", "expected tcp://HOST:PORT or local:N"),
        ("udp://127.0.0.1:8786", "expected tcp://HOST:PORT or local:N"),
        ("unreachable", "cannot connect (Timed out trying to connect"),
    ],
)
def test_a_bad_or_unreachable_cluster_address_is_one_line_and_writes_nothing(
    demo: Path, tmp_path: Path, address: str, reason: str
) -> None:
    root = copy_of(demo, tmp_path / "data")
    if address == "unreachable":
        address = f"tcp://127.0.0.1:{free_port()}"
    result = cx("precompute", "--data", str(root), "--cluster", address)
    assert result.returncode == 2 and result.stdout == "" and "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("cx precompute: --cluster ") and reason in line, line
    assert not (root / data.PRECOMPUTED_DIR).exists()


def test_the_in_process_run_never_loads_dask(
    in_process: tuple[Path, list[dict[str, object]]],
) -> None:
    root, _ = in_process
    before = files_under(root)
    probe = (
        "import sys\nfrom cx.cli import main\n"
        f"assert main(['precompute', '--data', {str(root)!r}, '--format', 'json']) == 0\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "[]"
    assert files_under(root) == before  # every table was current: only checked
