"""Uploads staging: an uploaded file kept in a private folder only while it is being imported.

:func:`staged_upload` creates a fresh folder with :func:`tempfile.mkdtemp` (mode 0700, an
unpredictable name, checked to belong to this user and to be closed to others), writes the upload
there under a name derived from its content (never the uploaded name, so an upload cannot choose
where it lands), and removes the folder when the block ends, whatever happens. A .zip of a
Triple-S pair is extracted under fixed names after its archive is checked like a workbook's.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cx.ingest.formats import FormatError, check_zip, human, sniff

MAX_UPLOAD_BYTES = 200 * 1024 * 1024


def private_folder(prefix: str = "cx-upload-") -> Path:
    """A new folder only this user can enter (refused if the system gives anything else)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    info = folder.lstat()
    if (
        not stat.S_ISDIR(info.st_mode)
        or info.st_uid != os.getuid()
        or stat.S_IMODE(info.st_mode) & 0o077
    ):
        shutil.rmtree(folder, ignore_errors=True)
        raise FormatError(f"{folder}: the staging folder is not private to this user; not used")
    return folder


def _write_private(path: Path, content: bytes) -> None:
    """Create ``path`` (mode 0600, never following or reusing an existing name) and write it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(content)


@contextmanager
def staged_upload(
    name: str, content: bytes, *, max_bytes: int = MAX_UPLOAD_BYTES
) -> Iterator[tuple[Path, str]]:
    """Stage an upload in a private folder for the block; yield its path and kind (by content)."""
    if not content:
        raise FormatError(f"{name}: the file is empty")
    if len(content) > max_bytes:
        raise FormatError(
            f"{name}: the file is {human(len(content))}, over the {human(max_bytes)} upload limit"
        )
    folder = private_folder()
    try:
        digest = hashlib.sha256(content).hexdigest()[:16]
        suffix = "".join(ch for ch in Path(name).suffix.lower() if ch.isalnum() or ch == ".")[:8]
        path = folder / f"{digest}{suffix}"
        _write_private(path, content)
        pair = (
            _triple_s_zip(path, folder / "pair", max_bytes)
            if content[:4] == b"PK\x03\x04"
            else None
        )
        yield (pair, "triple-s") if pair is not None else (path, sniff(path))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _triple_s_zip(path: Path, folder: Path, max_bytes: int) -> Path | None:
    """A .zip holding one Triple-S metadata file and its data file, extracted under fixed names."""
    try:
        with zipfile.ZipFile(path) as z:
            infos = [i for i in z.infolist() if not i.is_dir()]
            meta = [
                i
                for i in infos
                if i.filename.lower().endswith((".sss", ".xml"))
                and not i.filename.startswith("xl/")
            ]
            body = [
                i for i in infos if i.filename.lower().endswith((".asc", ".dat", ".csv", ".txt"))
            ]
            if any(i.filename.startswith("xl/") for i in infos) or len(meta) != 1 or len(body) != 1:
                return None
            check_zip(path, max_bytes)  # real sizes, inflated with a running total
            folder.mkdir(mode=0o700)
            suffix = Path(body[0].filename).suffix.lower()
            _write_private(folder / "survey.sss", z.read(meta[0]))
            _write_private(folder / f"survey{suffix}", z.read(body[0]))
            return folder / "survey.sss"
    except zipfile.BadZipFile:
        raise FormatError(f"{path.name}: a damaged or truncated zip archive") from None
