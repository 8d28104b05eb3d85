"""Earlier versions of a wave (and of the CRM and fieldwork tables), kept so an import can be undone.

Before an import publishes a new version of a wave that already exists, the stored file is kept
as ``<data>/versions/wave=<W>/<UTC time>-<n>.parquet`` (a hard link, so no copy and no extra disk
until the wave file is replaced; a copy where links are not supported). The last ``KEEP`` versions
of each wave are kept. :func:`undo` puts the newest one back with one ``os.replace`` (readers see
the old file or the restored one, never half of one) and drops it from the folder. Versions sit
outside ``waves/``, so no reader of the waves ever sees them. Callers hold the ``waves`` lock.

The CRM transactions and the fieldwork counts work the same way, one file each, under
``<data>/versions/<table>/`` (:func:`keep_table`, :func:`undo_table`; callers hold that table's
lock): every import that changes an existing file keeps the file it replaces.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from cx.core import data
from cx.core.atomic import atomic_write_parquet, clean_stale, fsync_dir
from cx.ingest.checks import IngestError

KEEP = 3
"""Earlier versions kept per wave."""


def folder(root: Path, wave: str) -> Path:
    return root / "versions" / f"wave={wave}"


def listed(root: Path, wave: str) -> list[Path]:
    """The kept versions of a wave, oldest first (the names sort by time)."""
    d = folder(root, wave)
    return sorted(d.glob("*.parquet")) if d.exists() else []


def restorable(root: Path, wave: str, part: str) -> list[Path]:
    """The kept versions that differ from the wave's file, oldest first (a kill between keeping
    and publishing leaves a version that is the current file itself, by the same inode)."""
    target = data.waves_dir(root) / f"wave={wave}" / part
    return [v for v in listed(root, wave) if not (target.exists() and os.path.samefile(v, target))]


def undoable(root: Path, part: str) -> dict[str, int]:
    """Waves with a version to restore, and how many, in wave order."""
    base = root / "versions"
    waves = [d.name.split("=", 1)[1] for d in (base.glob("wave=*") if base.exists() else [])]
    counts = {w: len(restorable(root, w, part)) for w in waves}
    return {w: counts[w] for w in data.sort_waves([w for w, n in counts.items() if n])}


def rows_in(path: Path) -> int:
    """Rows of a Parquet file, from its footer."""
    return int(pq.ParquetFile(path).metadata.num_rows)


def _name(d: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    n = 0
    while (d / f"{stamp}-{n}.parquet").exists():
        n += 1
    return d / f"{stamp}-{n}.parquet"


def keep(root: Path, wave: str, files: list[Path]) -> Path | None:
    """Keep the wave's stored files as one version before they are overwritten; prune to ``KEEP``."""
    if not files:
        return None
    d = folder(root, wave)
    d.mkdir(parents=True, exist_ok=True)
    clean_stale(d)
    target = _name(d)
    if len(files) == 1:
        _place(files[0], target)
    else:
        merged = pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed")
        atomic_write_parquet(merged, target, pl.read_parquet_metadata(files[0]))
    for old in listed(root, wave)[:-KEEP]:
        old.unlink(missing_ok=True)
    return target


def _place(source: Path, target: Path) -> None:
    """``source`` at ``target`` in one rename (a hard link, or a copy where links are not
    supported), the folder synced."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    os.unlink(tmp)
    try:
        os.link(source, tmp)
    except OSError:  # a file system without hard links: copy instead
        shutil.copyfile(source, tmp)
    os.replace(tmp, target)
    fsync_dir(target.parent)


@dataclass
class Restored:
    """What an undo did: what was put back (a wave, or the CRM or fieldwork table), its file, the
    version's time, its rows, the rows it replaced and the versions left."""

    what: str
    file: str
    version: str
    rows: int
    replaced_rows: int
    left: int
    wave: str | None = None

    def as_rows(self) -> list[dict[str, object]]:
        row: dict[str, object] = {"outcome": "restored", "file": self.file}
        if self.wave is not None:
            row["wave"] = self.wave
        return [
            {
                **row,
                "rows": self.rows,
                "reason": f"{self.what} is back to its version of {self.version} "
                f"({self.rows} rows, was {self.replaced_rows}); {self.left} earlier version(s) left",
            }
        ]


def undo(root: Path, wave: str, part: str) -> Restored:
    """Put the newest kept version of ``wave`` back as its wave file, atomically."""
    data.wave_period(wave)  # a bad label is refused before anything is read
    target = data.waves_dir(root) / f"wave={wave}" / part
    current = data.imported_parts(target.parent)
    kept = restorable(root, wave, part)
    for v in listed(root, wave):
        if v not in kept:  # a kill between keeping and publishing left a copy of the current file
            v.unlink(missing_ok=True)
    if not kept:
        raise IngestError(
            f"wave {wave}: nothing to undo (no earlier version is kept; only replace and append keep one)"
        )
    newest = kept[-1]
    replaced = sum(rows_in(f) for f in current)
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(target.parent)
    _place(newest, target)
    for f in current:
        if f != target:
            f.unlink(missing_ok=True)
    fsync_dir(target.parent)
    newest.unlink()
    return Restored(
        f"wave {wave}",
        f"waves/wave={wave}/{part}",
        _when(newest),
        rows_in(target),
        replaced,
        len(kept) - 1,
        wave=wave,
    )


def _when(version: Path) -> str:
    stamp = version.stem.split("-")[0]
    when = datetime.strptime(stamp, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC)
    return when.isoformat(timespec="seconds")


# ---------------------------------------------------------------- the CRM and fieldwork tables

TABLES = {"crm": Path("crm") / "transactions.parquet", "fieldwork": Path("fieldwork.parquet")}
"""The side tables whose imports keep versions, and their file under the data folder."""


def keep_table(root: Path, table: str) -> Path | None:
    """Keep the table's current file as a version before an import rewrites it; prune to
    ``KEEP``. None when there is no file yet."""
    current = root / TABLES[table]
    if not current.exists():
        return None
    d = root / "versions" / table
    d.mkdir(parents=True, exist_ok=True)
    clean_stale(d)
    target = _name(d)
    _place(current, target)
    for old in sorted(d.glob("*.parquet"))[:-KEEP]:
        old.unlink(missing_ok=True)
    return target


def undo_table(root: Path, table: str) -> Restored:
    """Put the newest kept version of a side table back, atomically."""
    target = root / TABLES[table]
    d = root / "versions" / table
    kept = [
        v
        for v in (sorted(d.glob("*.parquet")) if d.exists() else [])
        if not (target.exists() and os.path.samefile(v, target))
    ]
    if not kept:
        raise IngestError(f"{table}: nothing to undo (no earlier version is kept)")
    newest = kept[-1]
    replaced = rows_in(target) if target.exists() else 0
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(target.parent)
    _place(newest, target)
    newest.unlink()
    return Restored(
        table, str(TABLES[table]), _when(newest), rows_in(target), replaced, len(kept) - 1
    )
