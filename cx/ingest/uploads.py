"""Uploads staging: keep an uploaded file in a private temporary folder, named by its content.

The stored name comes from the content's SHA-256, never from the uploaded name, so an upload cannot
choose where it lands; a .zip of a Triple-S pair is extracted under fixed names.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zipfile
from pathlib import Path

from cx.ingest.formats import FormatError, human, sniff

MAX_UPLOAD_BYTES = 200 * 1024 * 1024


def stage_upload(
    name: str, content: bytes, *, max_bytes: int = MAX_UPLOAD_BYTES
) -> tuple[Path, str]:
    """Keep an uploaded file in a private temporary folder; return its path and kind (by content).

    The stored name is derived from the content's hash, never from the uploaded name, so the
    upload cannot choose where it lands.
    """
    if not content:
        raise FormatError(f"{name}: the file is empty")
    if len(content) > max_bytes:
        raise FormatError(
            f"{name}: the file is {human(len(content))}, over the {human(max_bytes)} upload limit"
        )
    digest = hashlib.sha256(content).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / f"cx-upload-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    suffix = "".join(ch for ch in Path(name).suffix.lower() if ch.isalnum() or ch == ".")[:8]
    path = folder / f"{digest}{suffix}"
    if not path.exists():
        fd, tmp = tempfile.mkstemp(dir=folder)
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
        os.replace(tmp, path)
    if content.startswith(b"PK\x03\x04"):
        pair = _triple_s_zip(path, folder / digest, max_bytes)
        if pair is not None:
            return pair, "triple-s"
    return path, sniff(path)


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
            if meta[0].file_size + body[0].file_size > max_bytes:
                raise FormatError(
                    f"{path.name}: expands to {human(meta[0].file_size + body[0].file_size)}, over the {human(max_bytes)} limit"
                )
            folder.mkdir(mode=0o700, exist_ok=True)
            suffix = Path(body[0].filename).suffix.lower()
            (folder / "survey.sss").write_bytes(z.read(meta[0]))
            for old in folder.glob("survey.*"):
                if old.suffix not in (".sss", suffix):
                    old.unlink()
            (folder / f"survey{suffix}").write_bytes(z.read(body[0]))
            return folder / "survey.sss"
    except zipfile.BadZipFile:
        raise FormatError(f"{path.name}: a damaged or truncated zip archive") from None
