"""Killing the import process (SIGKILL) while it writes leaves the previous wave intact and readable,
no half-written file where readers look, no stray version, and the lock free for the next import."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import polars as pl
import pytest

from cx import ingest
from cx.core import data
from cx.ingest import waves
from tests.support.datadir import no_hook

ROOT = Path(__file__).resolve().parents[2]
HEADER = "response_id,responded_at,customer_id,agency,nps"

# The child imports as the CLI would; its progress callback parks the process at a chosen step
# (after signalling the parent through a marker file) so the parent can kill it right there.
CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from cx import ingest

    src, root, marker, stop_at = sys.argv[1:5]

    def progress(message, fraction):
        if stop_at and message.startswith(stop_at):
            Path(marker).write_text(message)
            time.sleep(600)

    ingest.import_file(src, "2026-Q4", root=Path(root), mode="replace", progress=progress, after_import=lambda *a: "")
    """
)


def old_wave(root: Path, tmp_path: Path) -> pl.DataFrame:
    src = tmp_path / "old.csv"
    src.write_text(
        "\n".join(
            [
                HEADER,
                "OLD1,2026-10-01,C1,Madrid,9",
                "OLD2,2026-10-01,C2,Madrid,2",
                "OLD3,2026-10-01,C3,Madrid,7",
            ]
        )
        + "\n"
    )
    ingest.import_file(src, "2026-Q4", root=root, after_import=no_hook)
    return pl.read_parquet(waves.wave_path(root, "2026-Q4"))


def new_file(tmp_path: Path, rows: int) -> Path:
    src = tmp_path / "new.csv"
    pl.DataFrame(
        {
            "response_id": [f"NEW{i:07d}" for i in range(rows)],
            "responded_at": ["2026-11-02 10:00:00"] * rows,
            "customer_id": [f"C{i}" for i in range(rows)],
            "agency": ["Madrid"] * rows,
            "nps": [i % 11 for i in range(rows)],
        }
    ).write_csv(src)
    return src


def spawn(src: Path, root: Path, marker: Path, stop_at: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(src), str(root), str(marker), stop_at],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def wait_for(predicate: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.005)
    raise TimeoutError("the child never reached the step")


@pytest.mark.parametrize("stop_at", ["Writing the wave file", "Replacing the wave atomically"])
def test_sigkill_while_writing_leaves_the_previous_wave_intact(
    root: Path, tmp_path: Path, stop_at: str
) -> None:
    before = old_wave(root, tmp_path)
    marker = tmp_path / "marker"
    child = spawn(new_file(tmp_path, 5_000), root, marker, stop_at)
    try:
        wait_for(marker.exists)
        if stop_at.startswith(
            "Replacing"
        ):  # the complete new file sits next to the old one, hidden
            assert list(waves.wave_path(root, "2026-Q4").parent.glob(".part-0.parquet.*.tmp"))
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL
    assert pl.read_parquet(waves.wave_path(root, "2026-Q4")).equals(before)
    assert data.wave_files(root) == [waves.wave_path(root, "2026-Q4")]
    assert data.scan_responses(root).collect()["response_id"].sort().to_list() == [
        "OLD1",
        "OLD2",
        "OLD3",
    ]
    # A version kept just before the kill is the current file itself: nothing to undo.
    assert ingest.undoable(root) == {}
    with ingest.exclusive(root, "waves", timeout=0):  # the kernel released the dead one's lock
        pass
    # The next import cleans the leftover and takes the lock the dead process held.
    again = ingest.import_file(
        new_file(tmp_path, 10),
        "2026-Q4",
        root=root,
        mode="replace",
        lock_timeout=5,
        after_import=lambda *a: "",
    )
    assert again.wave_rows == 10
    assert not list(waves.wave_path(root, "2026-Q4").parent.glob(".*.tmp"))
    assert ingest.undo(root, "2026-Q4").rows == 3  # the old wave is the one version kept


def test_sigkill_at_the_first_sight_of_the_temporary_file_never_shows_half_a_wave(
    root: Path, tmp_path: Path
) -> None:
    old_wave(root, tmp_path)
    src = new_file(tmp_path, 300_000)
    folder = waves.wave_path(root, "2026-Q4").parent
    child = spawn(src, root, tmp_path / "unused", "")
    try:
        wait_for(
            lambda: any(folder.glob(".part-0.parquet.*.tmp")) or child.poll() is not None,
            timeout=120,
        )
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    ids = data.scan_responses(root).collect()["response_id"]
    # Atomic: either the whole old wave or the whole new one, never a mix or a torn file.
    assert ids.len() in (3, 300_000)
    assert ids.str.starts_with("OLD").all() or ids.str.starts_with("NEW").all()
