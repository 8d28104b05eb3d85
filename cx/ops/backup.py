"""One archive holding the data folder and the operational store, and its restore.

A backup (:func:`backup`) is a tar file: ``data/…`` (every file of the data folder: waves, CRM,
fieldwork, ``org.yaml``, ``users.yaml``, versions, quarantine…), ``store/cx.db`` (a SQLite
snapshot taken with SQLite's online backup API) or ``store/cx.dump`` (``pg_dump`` custom format,
one consistent snapshot, when ``DATABASE_URL`` is PostgreSQL), then ``manifest.json`` naming the
format, the store and every member with its size and SHA-256. It is consistent while the app
runs: the importer's locks (waves, CRM, fieldwork) and the users file's lock are held while the
files are copied and the store is snapshotted, so an import waits for the backup (or the backup
for the import) and never half of one is archived. The archive is written to a hidden
``.<name>.<random>.partial`` file next to ``FILE``, fsynced and renamed: a backup killed at any
point leaves no half-written ``FILE`` (an older ``FILE`` stays as it was).

A restore (:func:`restore`) first checks the whole archive (format, member names, checksums) and
refuses a foreign, truncated or altered one with one line, touching nothing. It then builds the new
data folder beside the current one (``.<data>.restore-<id>``, with the SQLite store inside when the
store lives there), writes a small journal (``.<data>.restore.json``), restores a PostgreSQL store
in one transaction (``pg_restore --single-transaction``) and swaps the two folders in one atomic
``renameat2(RENAME_EXCHANGE)`` (two renames where the system lacks it). A restore killed at any
point leaves either the old state or, once :func:`recover` has run (the next backup or restore
runs it first), the new one: never a mix.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import hashlib
import io
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any

from sqlalchemy import func, inspect, select, table, text
from sqlalchemy.engine import URL, make_url

from cx import store
from cx.core import users
from cx.core.atomic import fsync_dir
from cx.ingest import locks

FORMAT = "cx-review-backup"
VERSION = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "store/cx.db"
PG_MEMBER = "store/cx.dump"
MARKER = ".cx-restore-id"
"""A file the staged folder carries: its presence in the data folder says the swap happened."""
STAGED_STORE = ".cx-restore-store"
"""Where a staged folder keeps the archived store until it is in place."""
_SKIP_SUFFIXES = (".lock", ".tmp", ".partial")


class BackupError(ValueError):
    """A backup or restore that cannot be done (bad archive, missing tool, wrong store): one line."""


def _why(exc: BaseException) -> str:
    """The last line of an exception's message (some library messages span several lines)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else exc.__class__.__name__


# ---------------------------------------------------------------- where things are


def _url(root: Path, url: str | None) -> URL:
    return make_url(url or store.database_url(root))


def _sqlite_file(url: URL) -> Path | None:
    """The SQLite database file of ``url``; None for another database."""
    if url.get_backend_name() != "sqlite":
        return None
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite store cannot be backed up")
    return Path(url.database).resolve()


def _journal(root: Path) -> Path:
    return root.parent / f".{root.name}.restore.json"


def _skipped(rel: PurePosixPath, db_file: Path | None, root: Path) -> bool:
    """Files of the data folder that are not data: the live store (archived by its own snapshot),
    locks, temporary files, and what an interrupted restore left."""
    name = rel.name
    if rel.parts[0] in (".locks", STAGED_STORE) or name == MARKER or name.endswith(_SKIP_SUFFIXES):
        return True
    if db_file is not None and db_file.parent == root.resolve():
        base = db_file.name
        if name in (base, f"{base}-wal", f"{base}-shm", f"{base}-journal") and len(rel.parts) == 1:
            return True
    return False


def _data_files(
    root: Path, db_file: Path | None, out: Path
) -> Iterator[tuple[Path, PurePosixPath]]:
    """Every regular file of the data folder worth archiving, in a stable order."""
    resolved_out = out.resolve()
    for path in sorted(root.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        rel = PurePosixPath(path.relative_to(root).as_posix())
        if _skipped(rel, db_file, root) or path.resolve() == resolved_out:
            continue
        yield path, rel


# ---------------------------------------------------------------- locks


@contextlib.contextmanager
def _flock(path: Path) -> Iterator[None]:
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


@contextlib.contextmanager
def _quiet(root: Path, on_wait: Callable[[str], None] | None) -> Iterator[None]:
    """Hold every lock that guards the data folder: the importer's tables (their
    :func:`cx.ingest.locks.exclusive` locks, ``<data>/.locks/*.lock``) and the users file's
    (``users.yaml.lock``, as :mod:`cx.core.users` takes it)."""
    with contextlib.ExitStack() as stack:
        for name in locks.NAMES:
            stack.enter_context(locks.exclusive(root, name, on_wait=on_wait))
        users_file = Path(os.environ.get("CX_USERS_FILE") or root / users.USERS_FILE)
        if users_file.parent.is_dir():
            stack.enter_context(_flock(users_file.with_name(users_file.name + ".lock")))
        yield


@contextlib.contextmanager
def _restoring(root: Path) -> Iterator[None]:
    """One restore (or recovery) of a data folder at a time."""
    with _flock(root.parent / f".{root.name}.restore.lock"):
        yield


# ---------------------------------------------------------------- store snapshots


def _pg_env(url: URL) -> dict[str, str]:
    """Connection settings for pg_dump / pg_restore, the password in the environment (not argv)."""
    env = dict(os.environ)
    for key, value in (
        ("PGHOST", url.host),
        ("PGPORT", str(url.port) if url.port else None),
        ("PGUSER", url.username),
        ("PGPASSWORD", url.password),
        ("PGDATABASE", url.database),
    ):
        if value:
            env[key] = str(value)
    return env


def _pg_tool(name: str) -> str:
    """``pg_dump`` / ``pg_restore``: ``CX_PG_BIN``, the newest Debian install, or the PATH."""
    candidates = [Path(os.environ["CX_PG_BIN"]) / name] if os.environ.get("CX_PG_BIN") else []
    candidates += [
        p / name for p in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    ]
    for c in candidates:
        if c.exists():
            return str(c)
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} not found: install the PostgreSQL client or set CX_PG_BIN")
    return found


def _run(cmd: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise BackupError(f"{Path(cmd[0]).name} failed: {last}")


def _counts(conn: Any) -> dict[str, int]:
    """Rows per table, read on ``conn`` (inside the snapshot's transaction)."""
    names = sorted(inspect(conn).get_table_names())
    return {
        n: int(conn.execute(select(func.count()).select_from(table(n))).scalar_one()) for n in names
    }


def _snapshot(url: URL, target: Path) -> tuple[str, dict[str, int]]:
    """Write a consistent copy of the store to ``target``; returns the archive member name and
    the rows per table of that very copy (SQLite: counted in the copy; PostgreSQL: in the
    transaction whose snapshot ``pg_dump --snapshot`` dumps)."""
    db_file = _sqlite_file(url)
    if db_file is not None:
        if not db_file.exists():
            store.init(store.make_engine(url.render_as_string(hide_password=False))).dispose()
        src = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True, timeout=30)
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)  # online: pages copied under SQLite's own locking
        finally:
            dst.close()
            src.close()
        engine = store.make_engine(f"sqlite:///{target}")
        try:
            with engine.connect() as conn:
                return SQLITE_MEMBER, _counts(conn)
        finally:
            engine.dispose()
    if url.get_backend_name() != "postgresql":
        raise BackupError(
            f"cannot back up a {url.get_backend_name()} store: SQLite or PostgreSQL only"
        )
    engine = store.make_engine(url.render_as_string(hide_password=False))
    try:
        repeatable = engine.connect().execution_options(isolation_level="REPEATABLE READ")
        with repeatable as conn, conn.begin():
            snapshot = str(conn.execute(text("SELECT pg_export_snapshot()")).scalar_one())
            counts = _counts(conn)
            _run(
                [
                    _pg_tool("pg_dump"),
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    f"--snapshot={snapshot}",
                    f"--file={target}",
                ],
                _pg_env(url),
            )
    finally:
        engine.dispose()
    return PG_MEMBER, counts


# ---------------------------------------------------------------- writing the archive


class _Hashing(io.RawIOBase):
    """A file read through once by tarfile, hashed on the way."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh, self.sha = fh, hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        chunk = self.fh.read(size)
        self.sha.update(chunk)
        return chunk


def _add(tar: tarfile.TarFile, path: Path, name: str) -> dict[str, Any]:
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = size, int(os.fstat(fh.fileno()).st_mtime), 0o600
        hashing = _Hashing(fh)
        tar.addfile(info, hashing)  # type: ignore[arg-type]
    return {"size": size, "sha256": hashing.sha.hexdigest()}


def backup(
    root: Path,
    out: Path,
    *,
    url: str | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Archive the data folder ``root`` and the store (``url``, default the app's) into ``out``.

    Returns ``file``, ``bytes``, ``files`` (data files), ``store`` (sqlite / postgresql),
    ``tables``, ``rows`` and ``seconds``.
    """
    started = time.monotonic()
    root, out = Path(root).absolute(), Path(out)
    if not root.is_dir():
        raise BackupError(f"{root}: no such data folder")
    if out.is_dir():
        raise BackupError(f"{out} is a folder: give the archive's file name")
    if not out.parent.is_dir():
        raise BackupError(f"{out.parent}: output folder does not exist")
    recover(root)
    db_url = _url(root, url)
    db_file = _sqlite_file(db_url)
    mode = "w:gz" if out.name.endswith((".gz", ".tgz")) else "w"
    fd, partial = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent)
    os.close(fd)
    work = Path(tempfile.mkdtemp(prefix="cx-backup-"))  # private (0700): the store snapshot
    members: dict[str, Any] = {}
    try:
        with _quiet(root, on_wait):
            store_member, tables = _snapshot(db_url, work / "store")
            with tarfile.open(partial, mode) as tar:  # type: ignore[call-overload]
                for path, rel in _data_files(root, db_file, out):
                    members[f"data/{rel}"] = _add(tar, path, f"data/{rel}")
                members[store_member] = _add(tar, work / "store", store_member)
                manifest = {
                    "format": FORMAT,
                    "version": VERSION,
                    "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "store": {"dialect": db_url.get_backend_name(), "member": store_member},
                    "tables": tables,
                    "members": members,
                }
                data = json.dumps(manifest, indent=1, sort_keys=True).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mtime, info.mode = len(data), int(time.time()), 0o600
                tar.addfile(info, io.BytesIO(data))
        with open(partial, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(partial, out)
        fsync_dir(out.parent)
    finally:
        Path(partial).unlink(missing_ok=True)
        shutil.rmtree(work, ignore_errors=True)
    return {
        "file": str(out),
        "bytes": out.stat().st_size,
        "files": sum(1 for m in members if m.startswith("data/")),
        "store": db_url.get_backend_name(),
        "tables": len(tables),
        "rows": sum(tables.values()),
        "seconds": round(time.monotonic() - started, 3),
    }


# ---------------------------------------------------------------- reading and checking an archive


def _member_name(name: str) -> str:
    """The member's name when it is one an archive of ours may hold; raises otherwise."""
    p = PurePosixPath(name)
    if p.is_absolute() or ".." in p.parts or "\\" in name or not p.parts:
        raise BackupError(f"unsafe path {name!r} in the archive")
    if name in (MANIFEST, SQLITE_MEMBER, PG_MEMBER) or (p.parts[0] == "data" and len(p.parts) > 1):
        return name
    raise BackupError(f"unexpected member {name!r} in the archive")


def _open(archive: Path) -> tarfile.TarFile:
    if not archive.is_file():
        raise BackupError(f"{archive}: no such file")
    try:
        return tarfile.open(archive, "r:*")
    except (tarfile.TarError, OSError, EOFError):
        raise BackupError(f"{archive} is not a CX Review backup (not a tar archive)") from None


def read_manifest(archive: Path) -> dict[str, Any]:
    """The archive's manifest when it is one of ours (format and version checked)."""
    with _open(archive) as tar:
        try:
            member = tar.getmember(MANIFEST)
            raw = tar.extractfile(member)
            manifest = json.loads(raw.read() if raw else b"")
        except KeyError:
            raise BackupError(f"{archive} is not a CX Review backup (no {MANIFEST})") from None
        except (tarfile.TarError, OSError, EOFError, ValueError) as exc:
            raise BackupError(f"{archive} is corrupt or truncated ({_why(exc)})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{archive} is not a CX Review backup (foreign manifest)")
    if manifest.get("version") != VERSION:
        raise BackupError(
            f"{archive} is a backup of format version {manifest.get('version')!r}; "
            f"this release reads version {VERSION}"
        )
    members = manifest.get("members")
    dialect = (manifest.get("store") or {}).get("dialect")
    if not isinstance(members, dict) or dialect not in ("sqlite", "postgresql"):
        raise BackupError(f"{archive} has an incomplete manifest")
    return manifest


def _place(target: Path, name: str) -> Path:
    """Where a member goes in a staged folder: data files at its top, the store aside."""
    if name.startswith("data/"):
        return target / name.removeprefix("data/")
    return target / STAGED_STORE / PurePosixPath(name).name


def _extract(archive: Path, manifest: dict[str, Any], target: Path) -> list[str]:
    """Write every member but the manifest into the staged folder ``target``, checking names,
    types, sizes and checksums against the manifest; returns the names written. Raises (and the
    caller drops ``target``) before anything is used."""
    expected: dict[str, Any] = manifest["members"]
    seen: list[str] = []
    try:
        with _open(archive) as tar:
            for member in tar:
                name = _member_name(member.name)
                if name == MANIFEST:
                    continue
                if not member.isreg():
                    raise BackupError(f"{archive}: member {name!r} is not a regular file")
                if name not in expected or name in seen:
                    raise BackupError(f"{archive}: member {name!r} is not in its manifest")
                dest = _place(target, name)
                dest.parent.mkdir(parents=True, exist_ok=True)
                src = tar.extractfile(member)
                assert src is not None
                sha = hashlib.sha256()
                with open(dest, "wb") as fh:
                    while chunk := src.read(1 << 20):
                        sha.update(chunk)
                        fh.write(chunk)
                    fh.flush()
                    os.fsync(fh.fileno())
                if member.size != expected[name].get("size") or sha.hexdigest() != expected[
                    name
                ].get("sha256"):
                    raise BackupError(f"{archive} is corrupt: {name} does not match its checksum")
                seen.append(name)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BackupError(f"{archive} is corrupt or truncated ({_why(exc)})") from None
    missing = sorted(set(expected) - set(seen))
    if missing:
        raise BackupError(f"{archive} is incomplete: {missing[0]} is missing")
    return seen


# ---------------------------------------------------------------- restoring


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux ``renameat2``); False where it is not available."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(a))


def _write_journal(root: Path, entry: dict[str, Any]) -> None:
    path = _journal(root)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(entry), encoding="utf-8")
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def _restore_store(staged: Path, dialect: str, url: URL, root: Path) -> None:
    """Put the archived store in place (PostgreSQL: one transaction; SQLite outside the data
    folder: SQLite's backup API, atomic on the destination). A SQLite store inside the data
    folder travels with the folder swap instead."""
    if dialect == "postgresql":
        _run(
            [
                _pg_tool("pg_restore"),
                "--single-transaction",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                f"--dbname={url.database}",
                str(_place(staged, PG_MEMBER)),
            ],
            _pg_env(url),
        )
        return
    db_file = _sqlite_file(url)
    assert db_file is not None
    if db_file.parent == root.resolve():
        return
    src = sqlite3.connect(_place(staged, SQLITE_MEMBER))
    dst = sqlite3.connect(db_file, timeout=30)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _swap(staged: Path, root: Path, entry: dict[str, Any]) -> None:
    """Make ``staged`` the data folder in one step; the old folder ends at ``entry["old"]``."""
    old = Path(entry["old"])
    if not root.exists():
        os.rename(staged, root)
    elif _exchange(staged, root):
        os.rename(staged, old)  # staged now holds the old data
    else:
        os.rename(root, old)
        os.rename(staged, root)
    fsync_dir(root.parent)


def _finish(root: Path, entry: dict[str, Any]) -> None:
    shutil.rmtree(root / STAGED_STORE, ignore_errors=True)
    (root / MARKER).unlink(missing_ok=True)
    for leftover in (Path(entry["staged"]), Path(entry["old"])):
        shutil.rmtree(leftover, ignore_errors=True)
    _journal(root).unlink(missing_ok=True)


def recover(root: Path, *, url: str | None = None) -> str | None:
    """Finish a restore that was interrupted (by a crash or ``kill -9``), or clear what an
    interrupted staging left; returns what was done, or None when there was nothing to do."""
    root = Path(root).absolute()
    with _restoring(root):
        return _recover(root, url)


def _marker(folder: Path) -> str | None:
    try:
        return (folder / MARKER).read_text(encoding="utf-8").strip()
    except OSError:
        return None


def _recover(root: Path, url: str | None) -> str | None:
    path = _journal(root)
    if not path.exists():
        leftovers = list(root.parent.glob(f".{root.name}.restore-*"))
        for p in leftovers:
            shutil.rmtree(p, ignore_errors=True)
        return "removed an interrupted restore's staging folder" if leftovers else None
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
        staged = Path(entry["staged"])
    except (ValueError, KeyError, TypeError):
        raise BackupError(f"{path} is unreadable: remove it after checking {root}") from None
    if _marker(root) == entry["id"]:
        _finish(root, entry)  # the swap happened: only the clean-up was left
        return "finished an interrupted restore"
    if not staged.is_dir() or _marker(staged) != entry["id"]:
        path.unlink(missing_ok=True)
        return "dropped the journal of a restore that never reached its swap"
    if entry.get("phase") == "store":
        _restore_store(staged, entry["store"], _url(root, url), root)
    _swap(staged, root, entry)
    _finish(root, entry)
    return "finished an interrupted restore"


def restore(
    archive: Path,
    root: Path,
    *,
    url: str | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Replace the data folder ``root`` and the store by the archive's (see the module docstring).

    Returns ``file``, ``created_at`` (of the archive), ``files`` (data files), ``store``,
    ``tables``, ``rows`` and ``seconds``. Stop the app and cron jobs first: a running app keeps
    the files it had open.
    """
    started = time.monotonic()
    archive, root = Path(archive), Path(root).absolute()
    manifest = read_manifest(archive)
    db_url = _url(root, url)
    dialect = manifest["store"]["dialect"]
    if dialect != db_url.get_backend_name():
        raise BackupError(
            f"{archive} holds a {dialect} store but the store here is "
            f"{db_url.get_backend_name()} (DATABASE_URL): restore it where it was made"
        )
    root.mkdir(parents=True, exist_ok=True)
    with _restoring(root):
        _recover(root, url)
        rid = secrets.token_hex(6)
        staged = root.parent / f".{root.name}.restore-{rid}"
        staged.mkdir(mode=0o700)
        try:
            written = _extract(archive, manifest, staged)
            db_file = _sqlite_file(db_url)
            if dialect == "sqlite" and db_file is not None and db_file.parent == root.resolve():
                os.rename(_place(staged, SQLITE_MEMBER), staged / db_file.name)
            (staged / MARKER).write_text(rid, encoding="utf-8")
        except BaseException:
            shutil.rmtree(staged, ignore_errors=True)
            raise
        entry = {
            "id": rid,
            "staged": str(staged),
            "old": str(root.parent / f".{root.name}.restore-old-{rid}"),
            "store": dialect,
            "phase": "store",
        }
        with _quiet(root, on_wait):
            _write_journal(root, entry)
            _restore_store(staged, dialect, db_url, root)
            _write_journal(root, {**entry, "phase": "swap"})
            _swap(staged, root, entry)
        _finish(root, entry)
    store.init(store.make_engine(db_url.render_as_string(hide_password=False))).dispose()
    tables = manifest.get("tables") or {}
    return {
        "file": str(archive),
        "created_at": manifest.get("created_at"),
        "files": sum(1 for m in written if m.startswith("data/")),
        "store": dialect,
        "tables": len(tables),
        "rows": sum(int(v) for v in tables.values()),
        "seconds": round(time.monotonic() - started, 3),
    }
