"""Atomic Parquet writes: a reader sees the old file or the whole new one, never half of one.

Each write goes to a hidden temporary file next to the target (``.<name>.<random>.tmp``, never
matched by ``*.parquet``), is fsynced, then renamed over the target with ``os.replace``; a killed
writer leaves only a temporary file, which the next import of that wave removes (:func:`clean_stale`).
CSV files (quarantine) are written by the app's one CSV writer, :func:`cx.core.export.write_file`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import polars as pl


def fsync_dir(directory: Path) -> None:
    """Make a rename durable: the directory entry reaches the disk too."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_parquet(
    frame: pl.DataFrame,
    target: Path,
    metadata: dict[str, str] | None = None,
    before_replace: Callable[[], None] | None = None,
) -> Path:
    """Write to a hidden temporary file next to ``target``, fsync, then ``os.replace``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        frame.write_parquet(tmp, metadata=metadata, statistics=True)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        if before_replace is not None:
            before_replace()
        os.replace(tmp, target)
        fsync_dir(target.parent)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def clean_stale(directory: Path) -> None:
    """Temporary files left by a killed import (never visible to readers: not ``*.parquet``)."""
    for p in directory.glob(".*.tmp"):
        p.unlink(missing_ok=True)
