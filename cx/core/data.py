"""Data access: locate the data directory, order waves, scan responses lazily, check the contract.

The file layout and column names come from ``shared/spec/data-contract.md``.
"""

from __future__ import annotations

import hashlib
import os
import re
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

REQUIRED: dict[str, str] = {
    "response_id": "string",
    "wave": "string",
    "responded_at": "datetime",
    "customer_id": "string",
    "region": "string",
    "country": "string",
    "agency": "string",
    "nps": "int",
}
OPTIONAL: dict[str, str] = {
    "city": "string",
    "channel": "string",
    "touchpoint": "string",
    "csat": "int",
    "comment": "string",
    "language": "string",
    "segment": "string",
    "advisor_id": "string",
    "weight": "float",
    "excluded": "bool",
}
ATTR_PREFIX = "attr_"
CHANNELS = ("email", "sms", "web", "qr", "ivr", "phone", "in_person", "chat")
GEO_LEVELS = ("region", "country", "agency")


class DataError(ValueError):
    """The data directory does not follow the data contract; the message names file and column."""


def data_dir(path: str | Path | None = None) -> Path:
    """The data directory: the argument, else ``CX_DATA_DIR``, else ``data/``."""
    return Path(path or os.environ.get("CX_DATA_DIR") or "data")


def waves_dir(root: Path) -> Path:
    return root / "waves"


_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_WEEK = re.compile(r"^(\d{4})-W(0[1-9]|[1-4]\d|5[0-3])$")


def wave_period(label: str) -> tuple[date, date]:
    """First and last day of a wave label (``2026-Q1``, ``2026-03`` or ``2026-W09``).

    >>> wave_period("2026-Q1")
    (datetime.date(2026, 1, 1), datetime.date(2026, 3, 31))
    >>> wave_period("2026-W09")
    (datetime.date(2026, 2, 23), datetime.date(2026, 3, 1))
    """
    if m := _QUARTER.match(label):
        year, q = int(m[1]), int(m[2])
        start = date(year, 3 * q - 2, 1)
        end = date(year + (q == 4), (3 * q) % 12 + 1, 1) - timedelta(days=1)
        return start, end
    if m := _MONTH.match(label):
        year, month = int(m[1]), int(m[2])
        start = date(year, month, 1)
        end = date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)
        return start, end
    if m := _WEEK.match(label):
        start = date.fromisocalendar(int(m[1]), int(m[2]), 1)
        return start, start + timedelta(days=6)
    raise DataError(
        f"wave {label!r} is not a quarter (2026-Q1), a month (2026-03) or a week (2026-W09)"
    )


def sort_waves(labels: list[str] | set[str]) -> list[str]:
    """Waves in chronological order of their period start (never alphabetical by accident).

    >>> sort_waves(["2026-W09", "2026-03", "2026-Q1"])
    ['2026-Q1', '2026-W09', '2026-03']
    """
    return sorted(set(labels), key=lambda w: (wave_period(w)[0], w))


def previous_wave(waves: list[str], wave: str) -> str | None:
    """The wave before ``wave`` in chronological order, or None."""
    ordered = sort_waves(waves)
    i = ordered.index(wave) if wave in ordered else -1
    return ordered[i - 1] if i > 0 else None


def same_wave_last_year(waves: list[str], wave: str) -> str | None:
    """The wave whose period starts one year before ``wave``'s, if present."""
    start, _ = wave_period(wave)
    target = start.replace(year=start.year - 1)
    for w in waves:
        if wave_period(w)[0] == target:
            return w
    return None


CAPTURE_PART = "capture.parquet"
"""The file of each wave that holds the answers of the survey pages (written only by their fold;
an import's replace, append or undo leaves it alone)."""


def imported_parts(wave_dir: Path) -> list[Path]:
    """The Parquet files of one wave folder that imports wrote (every one but the captured
    answers' file), sorted."""
    if not wave_dir.exists():
        return []
    return sorted(f for f in wave_dir.glob("*.parquet") if f.name != CAPTURE_PART)


def wave_files(root: Path) -> list[Path]:
    """Every Parquet file of every wave partition, sorted."""
    return sorted(waves_dir(root).glob("wave=*/*.parquet"))


def list_waves(root: Path) -> list[str]:
    """Wave labels present under ``waves/``, chronologically."""
    return sort_waves(
        [
            p.name.split("=", 1)[1]
            for p in waves_dir(root).glob("wave=*")
            if p.is_dir() and any(p.glob("*.parquet"))
        ]
    )


def has_waves(root: Path) -> bool:
    return bool(wave_files(root))


PRECOMPUTED_DIR = "precomputed"
"""The folder of the data folder that holds tables derived from the data (e.g. the RFM tables
of :mod:`cx.analytics.precompute`), never data itself."""


def data_version(root: Path) -> str:
    """A short fingerprint of every data file (path, size, mtime); part of every cache key.

    The derived tables under ``precomputed/`` are left out: storing one is not new data.
    """
    h = hashlib.sha256()
    files = [p for p in root.rglob("*.parquet") if p.relative_to(root).parts[0] != PRECOMPUTED_DIR]
    for p in sorted(files) + sorted(root.glob("*.yaml")):
        st = p.stat()
        h.update(f"{p.relative_to(root)}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def _kind(dtype: pa.DataType) -> str:
    """The contract's kind of an Arrow type (dictionaries read as strings); others by name."""
    if (
        pa.types.is_string(dtype)
        or pa.types.is_large_string(dtype)
        or pa.types.is_dictionary(dtype)
        or pa.types.is_string_view(dtype)
    ):
        return "string"
    if pa.types.is_integer(dtype):
        return "int"
    if pa.types.is_floating(dtype):
        return "float"
    if pa.types.is_boolean(dtype):
        return "bool"
    if pa.types.is_timestamp(dtype) or pa.types.is_date(dtype):
        return "datetime"
    if pa.types.is_null(dtype):
        return "null"
    return str(dtype)


_COMPATIBLE = {
    "int": {"int"},
    "float": {"float", "int"},
    "string": {"string"},
    "datetime": {"datetime"},
    "bool": {"bool"},
}


def check_file_schema(path: Path) -> list[str]:
    """Check one wave file against the contract; return its column names or raise DataError."""
    try:
        schema = pq.read_schema(path)
    except Exception as exc:  # pyarrow raises several types for unreadable files
        raise DataError(f"{path}: not a readable Parquet file ({exc.__class__.__name__})") from None
    kinds = {name: _kind(schema.field(name).type) for name in schema.names}
    for column, kind in REQUIRED.items():
        if column not in kinds:
            raise DataError(f"{path}: required column {column!r} is missing")
        if kinds[column] not in _COMPATIBLE[kind] and kinds[column] != "null":
            raise DataError(
                f"{path}: column {column!r} is {kinds[column]}, the contract wants {kind}"
            )
    for column, kind in OPTIONAL.items():
        if column in kinds and kinds[column] not in _COMPATIBLE[kind] and kinds[column] != "null":
            raise DataError(
                f"{path}: column {column!r} is {kinds[column]}, the contract wants {kind}"
            )
    for column, kind in kinds.items():
        if column.startswith(ATTR_PREFIX) and kind not in ("int", "float", "null"):
            raise DataError(
                f"{path}: attribute column {column!r} is {kind}, the contract wants int 0..10"
            )
    return list(schema.names)


def check_schema(root: Path) -> list[str]:
    """Check every wave file; return the union of column names. Raises DataError naming the file."""
    files = wave_files(root)
    if not files:
        raise DataError(f"{waves_dir(root)}: no wave files (expected waves/wave=<WAVE>/*.parquet)")
    columns: dict[str, None] = {}
    for f in files:
        for c in check_file_schema(f):
            columns[c] = None
    return list(columns)


def _unified(name: str, found: dict[pl.DataType, Path]) -> pl.DataType:
    """One type for a column stored with several: wider integers, floats over integers, UTC
    microseconds for datetimes, text for categoricals; anything else is a DataError naming files."""
    kinds = [d for d in found if d != pl.Null]
    if not kinds:
        return pl.Null()
    if len(set(kinds)) == 1:
        return kinds[0]
    if all(d.is_integer() for d in kinds):
        return pl.Int64()
    if all(d.is_numeric() and not d.is_decimal() for d in kinds):
        return pl.Float64()
    if all(isinstance(d, pl.Datetime) for d in kinds):
        zones = {d.time_zone for d in kinds if isinstance(d, pl.Datetime)}
        return pl.Datetime("us", zones.pop() if len(zones) == 1 else "UTC")
    if all(d == pl.String or d == pl.Categorical or isinstance(d, pl.Enum) for d in kinds):
        return pl.String()
    (a, fa), (b, fb) = [(d, found[d]) for d in kinds][:2]
    raise DataError(
        f"column {name!r} is {a} in {fa} but {b} in {fb}: the waves cannot be read together"
    )


SCAN_CASTS = pl.ScanCastOptions(
    integer_cast=["upcast", "allow-float"],
    float_cast="upcast",
    datetime_cast=["nanosecond-downcast", "millisecond-upcast", "convert-timezone"],
    categorical_to_string="allow",
)
"""What may differ between wave files and still be read together (schema evolution)."""


def wave_schema(files: list[Path]) -> dict[str, pl.DataType]:
    """The union of the files' columns with one type each: a column added in a later wave (an
    attribute, ``exclusion_reason``) reads as null in the earlier ones."""
    found: dict[str, dict[pl.DataType, Path]] = {}
    for f in files:
        try:
            schema = pl.read_parquet_schema(f)
        except Exception as exc:  # polars raises several types for unreadable files
            raise DataError(
                f"{f}: not a readable Parquet file ({exc.__class__.__name__})"
            ) from None
        for name, dtype in schema.items():
            found.setdefault(name, {}).setdefault(dtype, f)
    return {name: _unified(name, kinds) for name, kinds in found.items()}


def scan_files(files: list[Path]) -> pl.LazyFrame:
    """Lazily scan wave files that may differ in their optional columns and integer widths."""
    return pl.scan_parquet(
        [str(f) for f in files],
        hive_partitioning=False,
        schema=wave_schema(files),
        missing_columns="insert",
        extra_columns="ignore",
        cast_options=SCAN_CASTS,
    )


def scan_responses(root: Path) -> pl.LazyFrame:
    """Lazily scan every wave; adds ``weight`` = 1.0 and ``excluded`` = False when absent.

    Files may differ in their optional columns (an attribute added in a later wave);
    missing columns read as null (:func:`scan_files`).
    """
    columns = check_schema(root)
    lf = scan_files(wave_files(root))
    if "weight" not in columns:
        lf = lf.with_columns(pl.lit(1.0).alias("weight"))
    else:
        lf = lf.with_columns(pl.col("weight").cast(pl.Float64).fill_null(1.0))
    if "excluded" not in columns:
        lf = lf.with_columns(pl.lit(False).alias("excluded"))
    return lf


def attributes(columns: list[str] | set[str]) -> list[str]:
    """The ``attr_<id>`` columns, in a stable order."""
    return sorted(c for c in columns if c.startswith(ATTR_PREFIX))


def attribute_label(column: str) -> str:
    """``attr_waiting_time`` -> ``Waiting time``."""
    return column.removeprefix(ATTR_PREFIX).replace("_", " ").capitalize()
