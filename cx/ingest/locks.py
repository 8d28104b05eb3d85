"""Inter-process locks on the data folder: one import (or undo, or backup) of a table at a time.

An import holds its table's lock from the moment it reads what is stored until the new version is
published, so two overlapping imports run one after the other and neither loses the other's rows.
The locks are ``flock`` locks on ``<data>/.locks/<name>.lock`` (``waves`` for every wave, since
response ids are unique across waves; ``crm``; ``fieldwork``). The kernel releases a lock when its
process dies, even by ``kill -9``, so a crashed import never blocks the next one. A waiting import
polls until ``timeout`` and then refuses with one line; the holder's pid is written in the file so
the waiting message can name it. The file is removed on release (the inode is re-checked after
locking, so a waiter never holds a lock on a file that was just unlinked).
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from cx.ingest.checks import IngestError

LOCK_TIMEOUT = 600.0
"""Seconds an import waits for another one of the same table before refusing."""
POLL_SECONDS = 0.05
NAMES = ("waves", "crm", "fieldwork")


def lock_path(root: Path, name: str) -> Path:
    """The lock file of one table of the data folder."""
    if name not in NAMES:
        raise ValueError(f"unknown lock {name!r}; locks are {', '.join(NAMES)}")
    return root / ".locks" / f"{name}.lock"


def _holder(path: Path) -> str:
    try:
        pid = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        pid = ""
    return f"pid {pid}" if pid.isdigit() else "another process"


@contextmanager
def exclusive(
    root: Path,
    name: str,
    *,
    timeout: float = LOCK_TIMEOUT,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Hold the exclusive lock of table ``name`` (``waves``, ``crm``, ``fieldwork``) of ``root``.

    ``on_wait`` is told once, in one line, when another process holds the lock; after ``timeout``
    seconds of waiting an :class:`IngestError` names the table and the holder.
    """
    path = lock_path(Path(root), name)
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    told = False
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holder = _holder(path)
            if time.monotonic() >= deadline:
                raise IngestError(
                    f"another import of {name} ({holder}) still holds {path.name} after "
                    f"{timeout:.0f} s; try again when it ends"
                ) from None
            if not told and on_wait is not None:
                on_wait(f"waiting for another import of {name} ({holder}) to finish…")
                told = True
            time.sleep(POLL_SECONDS)
            continue
        try:
            current = os.stat(path).st_ino
        except FileNotFoundError:
            current = -1
        if current == os.fstat(fd).st_ino:
            break
        os.close(fd)  # the holder removed the file as we locked it: lock the new one
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        yield
    finally:
        path.unlink(missing_ok=True)  # still locked: nobody can lock this inode in between
        os.close(fd)
