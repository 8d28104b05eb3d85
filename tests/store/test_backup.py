"""Backups and restores of the data folder and the store together, on SQLite and PostgreSQL: round
trips, imports running meanwhile, refused archives, and kill -9 at each step of a restore."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from cx import store
from cx.ingest import locks
from cx.ops import backup
from cx.store import AuditLog
from tests.support.datadir import files_under, write_org


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _folder(tmp_path: Path, engine: Engine) -> tuple[Path, str]:
    """A data folder (org, one wave, a users file) and the store URL; for SQLite the store lives
    in the folder, as the app keeps it."""
    root = write_org(tmp_path / "data")
    wave = root / "waves" / "wave=2026-Q1"
    wave.mkdir(parents=True)
    pl.DataFrame({"response_id": ["r1", "r2"], "nps": [9, 3]}).write_parquet(
        wave / "part-0.parquet"
    )
    (root / "users.yaml").write_text("credentials: {usernames: {}}\n", encoding="utf-8")
    if engine.dialect.name == "sqlite":
        moved = store.init(store.make_engine(f"sqlite:///{root / 'cx.db'}"))
        return root, _url(moved)
    return root, _url(engine)


def _audit(url: str, *keys: str) -> None:
    engine = store.make_engine(url)
    with store.session(engine) as s:
        for k in keys:
            store.audit(s, actor="test", action="x", entity="t", entity_id=k)
    engine.dispose()


def _audited(url: str) -> list[str]:
    engine = store.make_engine(url)
    with store.session(engine) as s:
        got = sorted(a.entity_id for a in s.exec(select(AuditLog)))
    engine.dispose()
    return got


def _data(root: Path) -> dict[str, bytes]:
    """The data folder's files and contents, store and locks left out."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file()
        and not p.name.startswith(("cx.db", ".cx-restore"))
        and ".locks" not in p.parts
    }


def test_a_restore_brings_back_the_data_folder_and_the_store_as_they_were(
    engine: Engine, tmp_path: Path
) -> None:
    root, url = _folder(tmp_path, engine)
    _audit(url, "before")
    out = tmp_path / "cx-backup.tar"
    made = backup.backup(root, out, url=url)
    assert (made["file"], made["store"], made["files"]) == (str(out), engine.dialect.name, 3)
    assert made["rows"] >= 1 and made["tables"] >= 10
    saved = _data(root)
    # Life goes on: a wave replaced, org.yaml deleted, a file added, the store changed.
    pl.DataFrame({"response_id": ["x"], "nps": [0]}).write_parquet(
        root / "waves" / "wave=2026-Q1" / "part-0.parquet"
    )
    (root / "org.yaml").unlink()
    (root / "stray.csv").write_text("a\n1\n", encoding="utf-8")
    _audit(url, "after")
    done = backup.restore(out, root, url=url)
    assert (done["file"], done["store"], done["files"]) == (str(out), engine.dialect.name, 3)
    assert _data(root) == saved
    assert _audited(url) == ["before"]
    leftovers = [
        p.name for p in root.parent.iterdir() if ".restore-" in p.name or p.suffix == ".json"
    ]
    assert leftovers == []


def test_a_backup_waits_for_an_import_under_way_and_holds_all_of_it(
    engine: Engine, tmp_path: Path
) -> None:
    root, url = _folder(tmp_path, engine)
    wave = root / "waves" / "wave=2026-Q2"
    started, waited = threading.Event(), []

    def importer() -> None:
        with locks.exclusive(root, "waves"):
            wave.mkdir(parents=True)
            (wave / "part-0.parquet").write_bytes(b"first half")
            started.set()
            time.sleep(0.5)
            (wave / "part-1.parquet").write_bytes(b"second half")

    t = threading.Thread(target=importer)
    t.start()
    started.wait(10)
    backup.backup(root, tmp_path / "b.tar", url=url, on_wait=waited.append)
    t.join(10)
    assert waited and "waiting for another import of waves" in waited[0]
    with tarfile.open(tmp_path / "b.tar") as tar:
        names = tar.getnames()
    assert {
        "data/waves/wave=2026-Q2/part-0.parquet",
        "data/waves/wave=2026-Q2/part-1.parquet",
    } <= set(names)


@contextmanager
def _app_writing(url: str) -> Iterator[list[int]]:
    """An app thread writing audit rows 0, 1, 2… one transaction each, until the block ends;
    yields the numbers written so far (at least five when the block starts)."""
    stop = threading.Event()
    written: list[int] = []

    def app() -> None:
        engine = store.make_engine(url)
        i = 0
        while not stop.is_set():
            with store.session(engine) as s:
                store.audit(s, actor="app", action="x", entity="t", entity_id=str(i))
            written.append(i)
            i += 1
        engine.dispose()

    t = threading.Thread(target=app)
    t.start()
    try:
        deadline = time.monotonic() + 30
        while len(written) < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        yield written
    finally:
        stop.set()
        t.join(10)


def test_the_sqlite_snapshot_is_whole_while_the_app_writes(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    root, url = _folder(tmp_path, sqlite_engine)
    with _app_writing(url) as written:
        made = backup.backup(root, tmp_path / "b.tar", url=url)
    with tarfile.open(tmp_path / "b.tar") as tar:
        snap = tmp_path / "snap.db"
        snap.write_bytes(tar.extractfile("store/cx.db").read())  # type: ignore[union-attr]
    import sqlite3

    con = sqlite3.connect(snap)
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    ids = sorted(int(r[0]) for r in con.execute("SELECT entity_id FROM auditlog"))
    con.close()
    assert ids == list(range(len(ids))) and 0 < len(ids) <= len(written)  # a prefix: no torn write
    assert made["rows"] == len(ids)


def test_the_postgresql_dump_is_whole_while_the_app_writes(
    pg_engine: Engine, tmp_path: Path
) -> None:
    """pg_dump takes one snapshot: restored, the audit rows written meanwhile are a prefix."""
    root, url = _folder(tmp_path, pg_engine)
    with _app_writing(url) as written:
        made = backup.backup(root, tmp_path / "b.tar", url=url)
    backup.restore(tmp_path / "b.tar", root, url=url)
    check = store.make_engine(url)
    try:
        with store.session(check) as s:
            found = s.exec(select(AuditLog.entity_id).where(AuditLog.action == "x")).all()
    finally:
        check.dispose()
    ids = sorted(int(i) for i in found)
    assert ids == list(range(len(ids))) and 0 < len(ids) <= len(written)  # a prefix: no torn write
    assert made["rows"] >= len(ids)


def _tar(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _rewrite(src: Path, dst: Path, change: dict[str, bytes]) -> Path:
    """A copy of an archive with some members' contents replaced (manifest kept)."""
    with tarfile.open(src) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar}  # type: ignore[union-attr]
    return _tar(dst, {**members, **change})


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p, good: (p.write_bytes(os.urandom(4096)), p)[1], "not a tar archive"),
        (lambda p, good: (p.write_bytes(b""), p)[1], "not a tar archive"),
        (lambda p, good: _tar(p, {"notes.txt": b"hello"}), "no manifest.json"),
        (
            lambda p, good: _tar(p, {"manifest.json": json.dumps({"format": "other"}).encode()}),
            "foreign manifest",
        ),
        (
            lambda p, good: _rewrite(good, p, {"data/org.yaml": b"regions: []\n"}),
            "does not match its checksum",
        ),
        (
            lambda p, good: (p.write_bytes(good.read_bytes()[: good.stat().st_size // 2]), p)[1],
            "corrupt or truncated",
        ),
        (lambda p, good: _rewrite(good, p, {"../escape.txt": b"x"}), "unsafe path"),
        (lambda p, good: _rewrite(good, p, {"data/extra.txt": b"x"}), "not in its manifest"),
    ],
)
def test_a_foreign_or_damaged_archive_is_refused_in_one_line_and_nothing_changes(
    sqlite_engine: Engine, tmp_path: Path, make: object, reason: str
) -> None:
    root, url = _folder(tmp_path, sqlite_engine)
    good = tmp_path / "good.tar"
    backup.backup(root, good, url=url)
    before = files_under(root)
    bad = make(tmp_path / "bad.tar", good)  # type: ignore[operator]
    with pytest.raises(backup.BackupError) as refused:
        backup.restore(bad, root, url=url)
    assert reason in str(refused.value) and "\n" not in str(refused.value)
    assert files_under(root) == before
    assert not [p for p in tmp_path.iterdir() if ".restore-" in p.name]


def test_an_archive_of_the_other_kind_of_store_is_refused(
    sqlite_engine: Engine, pg_engine: Engine, tmp_path: Path
) -> None:
    root, url = _folder(tmp_path, sqlite_engine)
    backup.backup(root, tmp_path / "sqlite.tar", url=url)
    with pytest.raises(
        backup.BackupError, match="holds a sqlite store but the store here is postgresql"
    ):
        backup.restore(tmp_path / "sqlite.tar", root, url=_url(pg_engine))


# ---------------------------------------------------------------- kill -9 during a restore

KILL_AFTER = """
import os, signal, sys
from pathlib import Path
from cx.ops import backup
point = sys.argv[1]
real = getattr(backup, point)
def then_die(*args, **kwargs):
    real(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)
setattr(backup, point, then_die)
backup.restore(Path(sys.argv[2]), Path(sys.argv[3]), url=sys.argv[4])
"""


@pytest.mark.parametrize(
    ("backend", "point"),
    [
        ("sqlite", "_restore_store"),  # the folders not swapped yet: the old state, store included
        ("pg", "_restore_store"),  # PostgreSQL restored, the folders not swapped: recovery ends it
        ("sqlite", "_swap"),  # swapped, not cleaned up: the new state, tidied on recovery
        ("pg", "_swap"),
    ],
)
def test_a_restore_killed_at_any_step_leaves_the_old_or_the_new_state(
    request: pytest.FixtureRequest, tmp_path: Path, backend: str, point: str
) -> None:
    engine: Engine = request.getfixturevalue(f"{backend}_engine")
    root, url = _folder(tmp_path, engine)
    _audit(url, "archived")
    archive = tmp_path / "b.tar"
    backup.backup(root, archive, url=url)
    new = _data(root)
    (root / "org.yaml").write_text("regions: []\n", encoding="utf-8")
    _audit(url, "later")
    old = _data(root)
    killed = subprocess.run(
        [sys.executable, "-c", KILL_AFTER, point, str(archive), str(root), url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    if point == "_swap":  # already the new state before any recovery (PostgreSQL's staged dump
        # is still beside it, for the recovery to clear)
        shown = {k: v for k, v in _data(root).items() if not k.startswith(".cx-restore-store/")}
        assert shown == new
    else:
        assert _data(root) == old  # the data folder untouched
        # SQLite travels with the folder; PostgreSQL was restored in its own transaction
        assert _audited(url) == (["archived"] if backend == "pg" else ["archived", "later"])
    assert backup.recover(root, url=url) == "finished an interrupted restore"
    assert _data(root) == new and _audited(url) == ["archived"]
    assert backup.recover(root, url=url) is None  # nothing left over
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".data.")) == [
        ".data.restore.lock"
    ]


def test_what_a_restore_killed_while_staging_left_is_cleared_and_nothing_else_changes(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    """Killed before its journal, a restore has touched nothing but its own staging folder."""
    root, url = _folder(tmp_path, sqlite_engine)
    staged = tmp_path / ".data.restore-0123456789ab"
    (staged / "waves").mkdir(parents=True)
    (staged / "org.yaml").write_text("half written", encoding="utf-8")
    before = files_under(root)
    assert backup.recover(root, url=url) == "removed an interrupted restore's staging folder"
    assert not staged.exists() and files_under(root) == before
    assert backup.recover(root, url=url) is None
