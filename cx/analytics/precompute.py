"""Precomputed tables: what a query would otherwise recompute from raw files on every question.

One table today: every CRM customer's RFM scores and tier as of the last day of a wave, exactly
:func:`cx.analytics.rfm.rfm_scores`, one file per wave under
``<data>/precomputed/rfm/<version>/<wave>.parquet`` (columns :data:`RFM_TABLE_COLUMNS`).
``<version>`` fingerprints what the table depends on, in the style of
:func:`cx.core.data.data_version`: the transactions file (size, mtime, inode), the tier mapping
and :data:`LAYOUT`. A CRM import or an edited mapping gives a new folder, so a stale table is
never read; the older folders are removed once the new one holds every wave of the data folder.

A wave's file is written on first need (:func:`rfm_tables`) or by ``cx precompute``
(:func:`rfm_plan`, then :func:`rfm_wave` per missing wave, in this process or on a Dask
cluster, then :func:`store_rfm_wave`); a new wave computes only its own file. Each write goes
to a hidden temporary file in the same folder, then ``os.replace``: a reader sees a whole file
or none, and two builders racing both end with the same, whole files. A data folder that
cannot be written is answered from memory on every question.
"""

from __future__ import annotations

import errno
import hashlib
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq

from cx.analytics import rfm
from cx.core import data
from cx.core.atomic import atomic_write_parquet

RFM_TABLE = "rfm"
RFM_TABLE_COLUMNS = ("wave", "customer_id", *rfm.RFM_COLUMNS)
LAYOUT = 1
"""Part of every version: bump it when the stored content changes (a new scoring rule, a new
column), so every data folder computes its tables again."""
STALE_SECONDS = 3600.0
"""A temporary file this old was left by a killed builder (a live one writes in seconds)."""


def rfm_version(root: Path, tiers: rfm.TierMap) -> str:
    """The fingerprint of what the RFM tables depend on: the transactions file and the mapping."""
    st = rfm.transactions_path(root).stat()
    h = hashlib.sha256()
    h.update(f"layout:{LAYOUT}:window:{rfm.WINDOW_DAYS}\n".encode())
    h.update(f"{rfm.CRM_FILE}:{st.st_size}:{st.st_mtime_ns}:{st.st_ino}\n".encode())
    h.update(repr(tiers).encode())  # frozen dataclasses of tuples: a stable text of the mapping
    return h.hexdigest()[:16]


def rfm_dir(root: Path, version: str) -> Path:
    """The folder of one version of the RFM tables."""
    return root / data.PRECOMPUTED_DIR / RFM_TABLE / version


def rfm_path(root: Path, version: str, wave: str) -> Path:
    """One wave's stored table (the label is checked first, so it is a safe file name)."""
    data.wave_period(wave)
    return rfm_dir(root, version) / f"{wave}.parquet"


def _query(tx: pl.LazyFrame, wave: str, tiers: rfm.TierMap) -> pl.LazyFrame:
    """One wave's RFM table as a query on the transactions (with the wave label)."""
    return rfm.rfm_scores(tx, data.wave_period(wave)[1], tiers).select(
        pl.lit(wave, pl.String).alias("wave"), pl.all()
    )


def _scores(root: Path, waves: Sequence[str], tiers: rfm.TierMap) -> list[pl.DataFrame]:
    """The RFM table of each wave, computed from the raw transactions."""
    tx = rfm.scan_transactions(root)
    return pl.collect_all([_query(tx, w, tiers) for w in waves])


def rfm_wave(root: Path, wave: str, planned: Planned) -> pl.DataFrame:
    """One wave's RFM table from the raw transactions: the per-wave job of ``cx precompute``
    (reads only; the same function in this process or on a cluster worker)."""
    return _query(rfm.scan_transactions(root), wave, planned.tiers).collect()


def _write(frame: pl.DataFrame, target: Path) -> None:
    """Write ``target`` atomically (:func:`cx.core.atomic.atomic_write_parquet`).

    An OSError names ``target`` and why it could not be written.
    """
    try:
        atomic_write_parquet(frame, target)
    except OSError as exc:
        why = f"cannot store a precomputed table ({exc.strerror or exc})"
        raise OSError(exc.errno, why, str(target)) from None
    except pl.exceptions.PolarsError as exc:  # the writer reports a full disk as its own error
        raise OSError(errno.EIO, f"cannot store a precomputed table ({exc})", str(target)) from None


def _prune(root: Path, version: str, tiers: rfm.TierMap) -> None:
    """Remove the other versions once this one holds every wave and is still the current one."""
    have = {p.stem for p in rfm_dir(root, version).glob("*.parquet")}
    if not set(data.list_waves(root)) <= have or rfm_version(root, tiers) != version:
        return
    for other in rfm_dir(root, version).parent.iterdir():
        if other.is_dir() and other.name != version:
            shutil.rmtree(other, ignore_errors=True)  # another process may be removing it too


def _stored(path: Path, columns: Sequence[str]) -> pl.DataFrame | None:
    """A stored table, or None when it is absent or unreadable (then it is computed again)."""
    try:
        return pl.read_parquet(path, columns=list(columns))
    except (OSError, pl.exceptions.PolarsError):
        return None


def rfm_tables(
    root: Path,
    waves: Sequence[str],
    columns: Sequence[str] = rfm.RFM_COLUMNS,
    tiers: rfm.TierMap | None = None,
) -> pl.DataFrame:
    """``wave``, ``customer_id`` and ``columns`` of every CRM customer for each of ``waves``.

    Read from the stored tables; a missing one is computed and stored (kept in memory only when
    the data folder cannot be written, or when the transactions changed while it was computed).
    """
    tiers = tiers or rfm.load_tiers()
    version = rfm_version(root, tiers)
    wanted = ["wave", "customer_id", *columns]
    waves = list(dict.fromkeys(waves))
    found: dict[str, pl.DataFrame] = {}
    for w in waves:
        if (df := _stored(rfm_path(root, version, w), wanted)) is not None:
            found[w] = df
    missing = [w for w in waves if w not in found]
    if missing:
        computed = dict(zip(missing, _scores(root, missing, tiers), strict=True))
        if rfm_version(root, tiers) == version:
            try:
                for w, df in computed.items():
                    _write(df, rfm_path(root, version, w))
                _prune(root, version, tiers)
            except OSError:
                pass  # a read-only data folder: the answer is the same, only not kept
        found |= {w: df.select(wanted) for w, df in computed.items()}
    return pl.concat([found[w] for w in waves])


def _clean_stale(folder: Path) -> None:
    """Temporary files left by a killed builder (never read: not ``*.parquet``)."""
    for p in folder.glob(".*.tmp"):
        try:
            if time.time() - p.stat().st_mtime > STALE_SECONDS:
                p.unlink()
        except FileNotFoundError:
            pass


def rfm_table(root: Path, wave: str, tiers: rfm.TierMap | None = None) -> pl.DataFrame:
    """One wave's whole RFM table (:data:`RFM_TABLE_COLUMNS`), stored or computed and stored."""
    return rfm_tables(root, [wave], rfm.RFM_COLUMNS, tiers)


@dataclass(frozen=True)
class Planned:
    """What :func:`rfm_plan` fixed for a wave still to compute: the version its table belongs
    to and the mapping it is scored with."""

    version: str
    tiers: rfm.TierMap


def rfm_plan(
    root: Path, tiers: rfm.TierMap | None = None
) -> tuple[dict[str, int], dict[str, Planned]]:
    """The rows of each wave's table already stored for the data version, and what to compute
    for each missing (or unreadable) one, in wave order.

    Raises DataError for a missing or malformed CRM file or no waves (before anything is
    written).
    """
    rfm.scan_transactions(root)  # DataError naming the file and the column
    waves = data.list_waves(root)
    if not waves:
        raise data.DataError(
            f"{data.waves_dir(root)}: no wave files (expected waves/wave=<WAVE>/*.parquet)"
        )
    tiers = tiers or rfm.load_tiers()
    version = rfm_version(root, tiers)
    folder = rfm_dir(root, version)
    if folder.is_dir():
        _clean_stale(folder)
    done: dict[str, int] = {}
    todo: dict[str, Planned] = {}
    for w in waves:
        try:
            done[w] = pq.read_metadata(rfm_path(root, version, w)).num_rows
        except Exception:  # absent or unreadable (whatever pyarrow raised): computed again
            todo[w] = Planned(version, tiers)
    return done, todo


def store_rfm_wave(root: Path, wave: str, frame: pl.DataFrame, planned: Planned) -> None:
    """Store one wave's computed table (replacing the stored one); DataError when the
    transactions changed since it was planned, OSError when it cannot be written."""
    if rfm_version(root, planned.tiers) != planned.version:
        raise data.DataError(
            f"{rfm.transactions_path(root)}: changed while the RFM tables were built; run again"
        )
    _write(frame, rfm_path(root, planned.version, wave))


def prune_rfm(root: Path, tiers: rfm.TierMap | None = None) -> None:
    """Remove the older versions once the current one holds every wave."""
    tiers = tiers or rfm.load_tiers()
    _prune(root, rfm_version(root, tiers), tiers)


def store_rfm(root: Path, wave: str, tiers: rfm.TierMap | None = None) -> pl.DataFrame:
    """Compute one wave's RFM table from the raw transactions and store it (replacing the stored
    one); DataError when the transactions changed meanwhile, OSError when it cannot be written."""
    tiers = tiers or rfm.load_tiers()
    planned = Planned(rfm_version(root, tiers), tiers)
    df = rfm_wave(root, wave, planned)
    store_rfm_wave(root, wave, df, planned)
    return df


def build(root: Path, tiers: rfm.TierMap | None = None) -> list[dict[str, Any]]:
    """Bring every RFM table of the data folder up to date for its data version, in this process
    (``cx precompute`` runs the same steps for every precomputed table: :mod:`cx.ops.batch`).

    Only the missing tables are computed (a new wave: its own file). One row per table:
    ``table`` (``rfm/<wave>``), ``rows``, ``seconds`` (what this run spent on it: 0 for a table
    already current, which is only checked). Raises DataError for a missing or malformed CRM
    file or no waves, OSError naming the file it could not write.
    """
    tiers = tiers or rfm.load_tiers()
    done, todo = rfm_plan(root, tiers)
    out: list[dict[str, Any]] = []
    for w in data.sort_waves([*done, *todo]):
        t0 = time.perf_counter()
        if w in todo:
            df = rfm_wave(root, w, todo[w])
            store_rfm_wave(root, w, df, todo[w])
            rows = df.height
        else:
            rows = done[w]
        out.append({"table": f"{RFM_TABLE}/{w}", "rows": rows, "seconds": time.perf_counter() - t0})
    prune_rfm(root, tiers)
    return out
