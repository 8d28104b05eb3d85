"""Import a survey export as a wave: map, validate, quarantine, flag, write atomically.

Pipeline: read by content (:mod:`cx.ingest.formats`), map columns (:mod:`cx.ingest.mapping`), convert
and validate every row against the data contract, split into accepted rows and quarantined
rows (each with its reason), flag data-quality issues (:mod:`cx.ingest.quality`), then write the
quarantine file and the wave's partition, each as a temporary file renamed with ``os.replace``.

Invariants: accepted + quarantined = input rows; re-importing the same file changes nothing
(the file's SHA-256 is kept in the wave's Parquet metadata); an existing wave is only replaced
or appended to when asked; an import writes only under ``waves/wave=<W>/``, ``quarantine/``,
``mappings/``, ``crm/`` and ``fieldwork.parquet``.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import polars as pl

from cx.core import data, org
from cx.core.data import CHANNELS, OPTIONAL, REQUIRED, DataError
from cx.ingest import mapping as mapping_mod
from cx.ingest import quality
from cx.ingest.formats import FormatError, Source, check_size, human, read, sniff
from cx.ingest.mapping import Mapping, MappingError

Mode = Literal["new", "replace", "append"]
MODES: tuple[str, ...] = ("new", "replace", "append")
Progress = Callable[[str, float], None]
PART = "part-0.parquet"
META_SOURCES = "cx_sources"
STRING_COLUMNS = [c for c, k in {**REQUIRED, **OPTIONAL}.items() if k == "string"]
SAMPLE_ROWS = 20


class IngestError(ValueError):
    """The import was refused as a whole; one line naming the file, wave, column or value."""


@dataclass
class ImportResult:
    """What an import did (or, for a dry run, would do)."""

    source: str
    wave: str
    mode: str
    kind: str = ""
    detail: str = ""
    status: str = "written"  # written | unchanged | dry-run | nothing accepted
    input_rows: int = 0
    accepted: int = 0
    quarantined: int = 0
    excluded: int = 0
    wave_rows: int = 0
    written: Path | None = None
    quarantine_file: Path | None = None
    reasons: dict[str, int] = field(default_factory=dict)
    flags: dict[str, int] = field(default_factory=dict)
    mapping: Mapping = field(default_factory=Mapping)
    ignored_columns: list[str] = field(default_factory=list)
    bad_rows: pl.DataFrame = field(default_factory=pl.DataFrame)
    preview: pl.DataFrame = field(default_factory=pl.DataFrame)
    after_import: str = ""

    def as_rows(self, root: Path | None = None) -> list[dict[str, Any]]:
        """One row per outcome: the wave written, each quarantine reason, each quality flag."""

        def rel(p: Path | None) -> str | None:
            if p is None:
                return None
            return (
                str(p.relative_to(root)) if root is not None and p.is_relative_to(root) else str(p)
            )

        if self.status == "unchanged":
            return [
                {
                    "outcome": "unchanged",
                    "file": rel(self.written),
                    "wave": self.wave,
                    "mode": self.mode,
                    "rows": 0,
                    "reason": f"this file was already imported into {self.wave}: nothing changed (wave has {self.wave_rows} rows)",
                }
            ]
        rows: list[dict[str, Any]] = [
            {
                "outcome": self.status,
                "file": rel(self.written),
                "wave": self.wave,
                "mode": self.mode,
                "rows": self.accepted,
                "reason": f"{self.input_rows} input rows, {self.accepted} accepted, "
                f"{self.quarantined} quarantined, {self.excluded} flagged excluded; wave now {self.wave_rows} rows",
            }
        ]
        rows += [
            {
                "outcome": "quarantined",
                "file": rel(self.quarantine_file),
                "wave": self.wave,
                "mode": self.mode,
                "rows": n,
                "reason": reason,
            }
            for reason, n in self.reasons.items()
        ]
        rows += [
            {
                "outcome": "flagged excluded",
                "file": rel(self.written),
                "wave": self.wave,
                "mode": self.mode,
                "rows": n,
                "reason": flag,
            }
            for flag, n in self.flags.items()
        ]
        if self.after_import:
            rows.append(
                {
                    "outcome": "after import",
                    "file": None,
                    "wave": self.wave,
                    "mode": self.mode,
                    "rows": 0,
                    "reason": self.after_import,
                }
            )
        return rows


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def wave_path(root: Path, wave: str) -> Path:
    return data.waves_dir(root) / f"wave={wave}" / PART


def wave_sources(root: Path, wave: str) -> list[str]:
    """The SHA-256 of every file imported into the wave (from the Parquet metadata)."""
    path = wave_path(root, wave)
    if not path.exists():
        return []
    meta = pl.read_parquet_metadata(path)
    return list(json.loads(meta.get(META_SOURCES, "[]")))


# ---------------------------------------------------------------- conversion


def _text(name: str, dtype: pl.DataType) -> pl.Expr:
    """Any source column as trimmed text, ``""`` as null; integral floats without ``.0``."""
    col = pl.col(name)
    if dtype.is_float():
        out = (
            pl.when(col.is_finite() & (col == col.round()))
            .then(col.cast(pl.Int64).cast(pl.String))
            .otherwise(col.cast(pl.String))
        )
    elif dtype == pl.String:
        out = col if name == "comment" else col.str.strip_chars()  # free text is kept as written
    else:
        out = col.cast(pl.String)
    return pl.when(out == "").then(None).otherwise(out).alias(name)


def _number(name: str) -> pl.Expr:
    """Text -> Float64 (decimal comma accepted); unparseable -> null (reported by the caller)."""
    return pl.col(name).str.replace(",", ".", literal=True).cast(pl.Float64, strict=False)


_DATE_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%.f%z",
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%d %H:%M:%S%.f%z",
    "%Y-%m-%d %H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
)


def _date_formats(values: pl.Series) -> tuple[str, ...]:
    """The formats that parse the file's date shapes (digits masked), so 1M rows parse once, not 13 times."""
    step = max(
        1, values.len() // 20_000
    )  # an even sample; rows it misses get a second chance below
    shapes = (
        values.gather_every(step)
        .str.strip_chars()
        .str.replace(r"(?i)(z| utc)$", "+00:00")
        .drop_nulls()
        .to_frame("v")
        .with_columns(shape=pl.col("v").str.replace_all(r"\d", "9"))
        .unique("shape", keep="first")
        .head(200)["v"]
    )
    chosen = tuple(
        f
        for f in _DATE_FORMATS
        if shapes.str.to_datetime(f, strict=False, time_unit="us", time_zone="UTC")
        .is_not_null()
        .any()
    )
    return chosen or _DATE_FORMATS[:1]


def _datetime(name: str, dtype: pl.DataType, formats: tuple[str, ...] | None = None) -> pl.Expr:
    """A responded_at column as UTC datetimes; naive times are read as UTC."""
    col = pl.col(name)
    if isinstance(dtype, pl.Datetime):
        col = col.dt.cast_time_unit("us")
        return (
            col.dt.convert_time_zone("UTC") if dtype.time_zone else col.dt.replace_time_zone("UTC")
        ).alias(name)
    if dtype == pl.Date:
        return col.cast(pl.Datetime("us")).dt.replace_time_zone("UTC").alias(name)
    text = col.cast(pl.String).str.strip_chars().str.replace(r"(?i)(z| utc)$", "+00:00")
    return pl.coalesce(
        [
            text.str.to_datetime(f, strict=False, time_unit="us", time_zone="UTC")
            for f in (formats or _DATE_FORMATS)
        ]
    ).alias(name)


def _bool(name: str) -> pl.Expr:
    t = pl.col(name).str.to_lowercase()
    return (
        pl.when(t.is_in(["1", "true", "yes", "y", "t"]))
        .then(True)
        .when(t.is_in(["0", "false", "no", "n", "f"]))
        .then(False)
        .otherwise(None)
    )


# ---------------------------------------------------------------- validation


@dataclass(frozen=True)
class Check:
    rule: str
    bad: pl.Expr
    message: pl.Expr


def _checks(columns: list[str], mapping: Mapping, wave: str, has_org: bool) -> list[Check]:
    """Every row-level rule of the data contract that the columns allow, in reporting order."""
    t = lambda c: pl.col(f"_t_{c}")  # noqa: E731 - the source text of a column, for messages
    checks: list[Check] = []
    # With org.yaml, region and country come from the agency; an unknown agency is its own reason.
    for c in ("response_id", "customer_id", "agency", *(() if has_org else ("region", "country"))):
        checks.append(Check(f"{c} missing", pl.col(c).is_null(), pl.lit(f"{c} is empty")))
    checks.append(
        Check(
            "wave mismatch",
            pl.col("_t_wave").is_not_null() & (pl.col("_t_wave") != wave),
            pl.format("wave {} differs from the imported wave " + wave, t("wave")),
        )
    )
    checks.append(
        Check(
            "responded_at invalid",
            pl.col("responded_at").is_null(),
            pl.format("responded_at {} is not a date/time", t("responded_at").fill_null("(empty)")),
        )
    )
    checks.append(
        Check(
            "country not ISO",
            pl.col("country").is_not_null() & ~pl.col("country").str.contains(r"^[A-Z]{2}$"),
            pl.format("country {} is not an ISO 3166-1 alpha-2 code", t("country")),
        )
    )
    checks.append(
        Check(
            "nps invalid",
            pl.col("nps").is_null()
            | (pl.col("nps") != pl.col("nps").round())
            | ~pl.col("nps").is_between(0, 10),
            pl.format("nps {} is not an integer 0..10", t("nps").fill_null("(empty)")),
        )
    )
    if "csat" in columns:
        checks.append(
            Check(
                "csat invalid",
                pl.col("csat").is_not_null()
                & ((pl.col("csat") != pl.col("csat").round()) | ~pl.col("csat").is_between(1, 5)),
                pl.format("csat {} is not an integer 1..5", t("csat")),
            )
        )
        checks.append(
            Check(
                "csat invalid",
                pl.col("csat").is_null() & pl.col("_t_csat").is_not_null(),
                pl.format("csat {} is not a number", t("csat")),
            )
        )
    for a in data.attributes(columns):
        lo, hi = mapping.scale_of(a)
        checks.append(
            Check(
                f"{a} invalid",
                (pl.col(a).is_null() & pl.col(f"_t_{a}").is_not_null())
                | (
                    pl.col(a).is_not_null()
                    & ((pl.col(a) != pl.col(a).round()) | ~pl.col(a).is_between(lo, hi))
                ),
                pl.format(f"{a} {{}} is not an integer {lo}..{hi}", t(a)),
            )
        )
    if "weight" in columns:
        checks.append(
            Check(
                "weight invalid",
                pl.col("_t_weight").is_not_null() & ~(pl.col("weight") > 0).fill_null(False),
                pl.format("weight {} is not a number > 0", t("weight")),
            )
        )
    if "channel" in columns:
        checks.append(
            Check(
                "channel unknown",
                pl.col("channel").is_not_null() & ~pl.col("channel").is_in(list(CHANNELS)),
                pl.format("channel {} is not one of " + ", ".join(CHANNELS), t("channel")),
            )
        )
    if has_org:
        checks.append(
            Check(
                "agency unknown",
                pl.col("agency").is_not_null() & pl.col("_org_country").is_null(),
                pl.format("unknown agency {} (not in org.yaml)", pl.col("agency")),
            )
        )
        checks.append(
            Check(
                "agency country mismatch",
                pl.col("_org_country").is_not_null()
                & (pl.col("country") != pl.col("_org_country")),
                pl.format(
                    "agency {} is in {} in org.yaml, not {}",
                    pl.col("agency"),
                    pl.col("_org_country"),
                    pl.col("country"),
                ),
            )
        )
    checks.append(
        Check(
            "duplicate response_id in file",
            pl.col("response_id").is_not_null() & ~pl.col("response_id").is_first_distinct(),
            pl.format("duplicate response_id {} within the file", pl.col("response_id")),
        )
    )
    checks.append(
        Check(
            "response_id in another wave",
            pl.col("_existing_wave").is_not_null(),
            pl.format(
                "response_id {} already in wave {}", pl.col("response_id"), pl.col("_existing_wave")
            ),
        )
    )
    return checks


def _other_wave_files(root: Path, wave: str, mode: str) -> list[Path]:
    """The stored files whose ids a new row must not repeat (the wave being replaced does not count)."""
    return [
        f
        for f in data.wave_files(root)
        if not (mode == "replace" and f.parent.name == f"wave={wave}")
    ]


def _existing_ids(root: Path, wave: str, mode: str) -> pl.LazyFrame:
    """response_id -> wave of responses already stored."""
    files = _other_wave_files(root, wave, mode)
    if not files:
        return pl.LazyFrame(schema={"response_id": pl.String, "_existing_wave": pl.String})
    return (
        pl.scan_parquet([str(f) for f in files], hive_partitioning=False)
        .select(
            pl.col("response_id").cast(pl.String),
            pl.col("wave").cast(pl.String).alias("_existing_wave"),
        )
        .unique("response_id", keep="any")
    )


def _org_frame(root: Path) -> pl.DataFrame | None:
    if not (root / "org.yaml").exists():
        return None
    return (
        org.load(root)
        .frame()
        .select(
            "agency", pl.col("region").alias("_org_region"), pl.col("country").alias("_org_country")
        )
        .unique("agency", keep="first")
    )


@dataclass
class Prepared:
    """A validated file, before anything is written."""

    result: ImportResult
    accepted: pl.DataFrame
    quarantined: pl.DataFrame
    sha: str


def _say(progress: Progress | None, message: str, fraction: float) -> None:
    if progress is not None:
        progress(message, fraction)


MODE_LABELS = {"new": "refuse (new wave only)", "replace": "replace it", "append": "append to it"}


def read_source(path: Path, *, delimiter: str | None = None) -> Source:
    """Read a file by content (the page's preview uses the same reader as the import)."""
    return read(Path(path), delimiter=delimiter)


def next_wave(root: Path) -> str:
    """A sensible default label for the next wave: the one after the latest, same granularity."""
    from datetime import timedelta

    waves = data.list_waves(root)
    if not waves:
        today = datetime.now(UTC).date()
        return f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    latest = waves[-1]
    nxt = data.wave_period(latest)[1] + timedelta(days=1)
    if "-Q" in latest:
        return f"{nxt.year}-Q{(nxt.month - 1) // 3 + 1}"
    if "-W" in latest:
        iso = nxt.isocalendar()
        return f"{iso.year}-W{iso.week:02d}"
    return f"{nxt.year}-{nxt.month:02d}"


def resolve_mapping(
    source: Source,
    root: Path,
    *,
    mapping: Mapping | None = None,
    survey: str | None = None,
    overrides: dict[str, str] | None = None,
    scales: dict[str, str] | None = None,
) -> Mapping:
    """The mapping for this file: the one given, else the survey's saved one merged with a guess."""
    if mapping is not None:
        return mapping.validate()
    saved = mapping_mod.load(root, survey) if survey else None
    return mapping_mod.for_columns(source.frame.columns, saved, overrides, scales, survey or "")


def prepare(
    path: Path,
    wave: str,
    *,
    root: Path,
    mapping: Mapping | None = None,
    mode: str = "new",
    survey: str | None = None,
    overrides: dict[str, str] | None = None,
    scales: dict[str, str] | None = None,
    delimiter: str | None = None,
    progress: Progress | None = None,
    source: Source | None = None,
) -> Prepared:
    """Read, map, convert and validate a file; nothing is written."""
    path = Path(path)
    try:
        data.wave_period(wave)
    except DataError as exc:
        raise IngestError(str(exc)) from None
    if mode not in MODES:
        raise IngestError(f"mode {mode!r} is not one of {', '.join(MODES)}")
    _say(progress, f"Reading {path.name}…", 0.05)
    src = source or read(path, delimiter=delimiter)
    sha = file_sha256(path)
    chosen = resolve_mapping(
        src, root, mapping=mapping, survey=survey, overrides=overrides, scales=scales
    )
    result = ImportResult(
        str(path.name),
        wave,
        mode,
        src.kind,
        src.detail,
        input_rows=src.frame.height,
        mapping=chosen,
    )
    result.ignored_columns = [c for c in src.frame.columns if c not in chosen.columns]
    mapped = chosen.apply(src.frame)
    org = _org_frame(root)
    missing = [c for c in REQUIRED if c not in mapped.columns and c != "wave"]
    if org is not None and "agency" in mapped.columns:
        missing = [c for c in missing if c not in ("region", "country")]
    if missing:
        hint = ""
        if len(src.frame.columns) == 1 and any(d in src.frame.columns[0] for d in ",;\t|"):
            hint = " (the header was read as one column: wrong delimiter?)"
        raise IngestError(
            f"{path.name}: missing required column(s) {', '.join(missing)}{hint}; "
            f"the file has {', '.join(src.frame.columns[:12])}{'…' if src.frame.width > 12 else ''}"
        )
    _say(progress, "Validating rows…", 0.25)
    accepted, quarantined = _validate(mapped, src, chosen, wave, mode, root, org)
    result.accepted, result.quarantined = accepted.height, quarantined.height
    if (
        result.accepted + result.quarantined != result.input_rows
    ):  # the invariant, never silently broken
        raise IngestError(
            f"{path.name}: {result.accepted} accepted + {result.quarantined} quarantined != {result.input_rows} input rows"
        )
    if quarantined.height:
        counts = (
            quarantined.group_by("_rule").len().sort(["len", "_rule"], descending=[True, False])
        )
        result.reasons = dict(zip(counts["_rule"].to_list(), counts["len"].to_list(), strict=True))
        result.bad_rows = (
            quarantined.select("_row", "_reason")
            .head(SAMPLE_ROWS)
            .rename({"_row": "row", "_reason": "reason"})
        )
    result.preview = accepted.head(SAMPLE_ROWS)
    return Prepared(result, accepted, quarantined, sha)


def _validate(
    mapped: pl.DataFrame,
    src: Source,
    mapping: Mapping,
    wave: str,
    mode: str,
    root: Path,
    org: pl.DataFrame | None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split the mapped rows into typed accepted rows and quarantined source rows with reasons."""
    types = dict(mapped.schema)
    columns = mapped.columns
    labels = {mapping.columns[s]: lab for s, lab in src.labels.items() if s in mapping.columns}
    texts = [_text(c, types[c]).alias(f"_t_{c}") for c in columns]
    lf = mapped.lazy().with_row_index("_row", offset=1).with_columns(texts)
    for c in ("wave", "region", "country", "csat", "weight"):
        if c not in columns:
            lf = lf.with_columns(pl.lit(None, pl.String).alias(f"_t_{c}"))
    typed: list[pl.Expr] = []
    for c in STRING_COLUMNS:
        if c != "wave" and (c in columns or c in ("region", "country")):
            expr = pl.col(f"_t_{c}")
            if c in labels:
                expr = expr.replace(labels[c])
            if c == "country":
                expr = expr.str.to_uppercase()
            if c in ("channel", "language"):
                expr = expr.str.to_lowercase()
            typed.append(expr.alias(c))
    numeric = [
        "nps",
        *[c for c in ("csat", "weight", "duration_seconds") if c in columns],
        *data.attributes(columns),
    ]
    typed += [_number(f"_t_{c}").alias(c) for c in numeric]
    native = types["responded_at"]
    formats = _date_formats(mapped["responded_at"]) if native == pl.String else _DATE_FORMATS
    typed.append(
        _datetime(
            "_t_responded_at" if native == pl.String else "responded_at", native, formats
        ).alias("responded_at")
    )
    if "excluded" in columns:
        typed.append(_bool("_t_excluded").alias("excluded"))
    lf = lf.with_columns(typed)
    if native == pl.String and formats != _DATE_FORMATS:
        # Date shapes the sample missed: re-parse only the rows that failed, with every format.
        first = lf.collect()
        missed = first["responded_at"].is_null() & first["_t_responded_at"].is_not_null()
        if missed.any():
            retry = first.select(
                _datetime("_t_responded_at", pl.String(), _DATE_FORMATS).alias("_retry")
            )["_retry"]
            first = first.with_columns(
                responded_at=pl.when(missed).then(retry).otherwise(pl.col("responded_at"))
            )
        lf = first.lazy()
    if org is not None:
        lf = lf.join(org.lazy(), on="agency", how="left", maintain_order="left").with_columns(
            region=pl.coalesce("region", "_org_region"),
            country=pl.coalesce("country", "_org_country"),
        )
    if _other_wave_files(root, wave, mode):
        lf = lf.join(
            _existing_ids(root, wave, mode), on="response_id", how="left", maintain_order="left"
        )
    else:
        lf = lf.with_columns(_existing_wave=pl.lit(None, pl.String))
    checks = _checks(list(columns), mapping, wave, org is not None)
    # Cheap booleans on every row; the reason texts only on the (few) bad rows.
    marks = [f"_bad{i}" for i in range(len(checks))]
    frame = (
        lf.with_columns(
            [c.bad.fill_null(False).alias(m) for c, m in zip(checks, marks, strict=True)]
        )
        .with_columns(_any=pl.any_horizontal(marks))
        .collect()
    )
    bad_mask = frame["_any"]
    accepted = _typed(
        frame, columns, mapping, wave
    )  # narrow first: the filter copies only typed columns
    if bad_mask.any():
        accepted = accepted.filter(~bad_mask)
    bad = frame.filter(bad_mask).with_columns(
        _reason=pl.concat_str(
            [pl.when(pl.col(m)).then(c.message) for c, m in zip(checks, marks, strict=True)],
            separator="; ",
            ignore_nulls=True,
        ),
        _rule=pl.coalesce(
            [pl.when(pl.col(m)).then(pl.lit(c.rule)) for c, m in zip(checks, marks, strict=True)]
        ),
    )
    quarantined = bad.select(
        "_row", "_rule", "_reason", *[pl.col(f"_t_{c}").alias(c) for c in columns]
    )
    return accepted, quarantined


def _typed(good: pl.DataFrame, columns: list[str], mapping: Mapping, wave: str) -> pl.DataFrame:
    """Accepted rows in contract order and types; attributes rescaled to 0..10."""
    out: list[pl.Expr] = [
        pl.col("response_id"),
        pl.lit(wave).alias("wave"),
        pl.col("responded_at"),
        pl.col("customer_id"),
        pl.col("region"),
        pl.col("country"),
        pl.col("agency"),
        pl.col("nps").cast(pl.Int8),
    ]
    for c, kind in OPTIONAL.items():
        if c not in columns or c == "excluded":
            continue
        if kind == "string":
            out.append(pl.col(c))
        elif c == "csat":
            out.append(pl.col(c).cast(pl.Int8))
        elif c == "weight":
            out.append(pl.col(c).fill_null(1.0))
    for a in data.attributes(columns):
        lo, hi = mapping.scale_of(a)
        out.append(
            pl.col(a).cast(pl.Int8) if (lo, hi) == (0, 10) else mapping_mod.rescale(a, lo, hi)
        )
    if "excluded" in columns:
        out.append(pl.col("excluded").fill_null(False))
    if "duration_seconds" in columns:
        out.append(pl.col("duration_seconds"))
    return good.select(out)


# ---------------------------------------------------------------- uploads


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
    import zipfile

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


# ---------------------------------------------------------------- writing


@contextmanager
def _wave_lock(directory: Path) -> Iterator[None]:
    """One import per wave at a time (an advisory lock file inside the wave's folder)."""
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".import.lock").open("w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IngestError(
                f"another import of {directory.name} is running; try again when it ends"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _fsync_dir(directory: Path) -> None:
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
        _fsync_dir(target.parent)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def atomic_write_csv(frame: pl.DataFrame, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        frame.write_csv(tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def _clean_stale(directory: Path) -> None:
    """Temporary files left by a killed import (never visible to readers: not ``*.parquet``)."""
    for p in directory.glob(".*.tmp"):
        p.unlink(missing_ok=True)


def import_file(
    path: Path | str,
    wave: str,
    *,
    root: Path,
    mapping: Mapping | None = None,
    mode: str = "new",
    progress: Progress | None = None,
    survey: str | None = None,
    overrides: dict[str, str] | None = None,
    scales: dict[str, str] | None = None,
    delimiter: str | None = None,
    dry_run: bool = False,
    save_mapping: bool = True,
    engine: Any = None,
    after_import: Callable[[Path, str, Any], str] | None = None,
    source: Source | None = None,
) -> ImportResult:
    """Import one file as wave ``wave`` (modes: ``new``, ``replace``, ``append``); see the module doc."""
    path, root = Path(path), Path(root)
    wave_dir = data.waves_dir(root) / f"wave={wave}"
    target = wave_dir / PART
    try:
        data.wave_period(wave)
    except DataError as exc:
        raise IngestError(str(exc)) from None
    if mode not in MODES:
        raise IngestError(f"mode {mode!r} is not one of {', '.join(MODES)}")
    if not path.is_file():
        raise IngestError(f"{path}: no such file")
    check_size(path)  # before hashing: an oversized file is refused without reading it
    sha = file_sha256(path)
    existing_files = sorted(wave_dir.glob("*.parquet")) if wave_dir.exists() else []
    sources = wave_sources(root, wave)
    if sha in sources and (mode != "replace" or sources == [sha]):
        _say(progress, "Already imported: nothing changed.", 1.0)
        rows = pl.scan_parquet(target).select(pl.len()).collect().item()
        return ImportResult(
            path.name, wave, mode, status="unchanged", wave_rows=rows, written=target
        )
    if mode == "new" and existing_files:
        rows = pl.scan_parquet([str(f) for f in existing_files]).select(pl.len()).collect().item()
        raise IngestError(
            f"wave {wave} already exists ({rows:,} responses); choose replace or append"
        )
    prepared = prepare(
        path,
        wave,
        root=root,
        mapping=mapping,
        mode=mode,
        survey=survey,
        overrides=overrides,
        scales=scales,
        delimiter=delimiter,
        progress=progress,
        source=source,
    )
    result = prepared.result
    _say(progress, "Flagging data quality…", 0.55)
    new = prepared.accepted
    if mode == "append" and existing_files:
        old = pl.concat([pl.read_parquet(f) for f in existing_files], how="diagonal_relaxed")
        combined = pl.concat([old, new], how="diagonal_relaxed")
        all_sources = [*sources, prepared.sha]
    else:
        combined, all_sources = new, [prepared.sha]
    flagged = quality.flag(combined)
    new_flagged = (
        flagged.join(new.select("response_id"), on="response_id", how="semi")
        if combined is not new
        else flagged
    )
    result.flags = quality.summary(new_flagged)
    result.excluded = int(new_flagged["excluded"].sum())
    final = flagged.drop(
        "duration_seconds", strict=False
    )  # flag() returns rows by (responded_at, response_id)
    result.wave_rows = final.height
    if dry_run:
        result.status = "dry-run"
        return result
    to_save = (
        result.mapping
        if result.mapping.survey or not survey
        else Mapping(survey, result.mapping.columns, result.mapping.scales)
    )
    if save_mapping and to_save.survey:
        mapping_mod.save(root, to_save)
    stem = mapping_mod.normalise(path.stem)[:40] or "file"
    if prepared.quarantined.height:
        _say(progress, "Writing the quarantine file…", 0.7)
        result.quarantine_file = atomic_write_csv(
            prepared.quarantined.rename(
                {"_row": "source_row", "_rule": "rule", "_reason": "reason"}
            ),
            root / "quarantine" / f"{wave}__{stem}__{prepared.sha[:8]}.csv",
        )
    if final.is_empty():
        result.status = "nothing accepted"
        _say(progress, "No row passed validation: the wave is unchanged.", 1.0)
        return result
    with _wave_lock(wave_dir):
        _clean_stale(wave_dir)
        _say(progress, "Writing the wave file…", 0.8)
        meta = {
            META_SOURCES: json.dumps(all_sources),
            "cx_imported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        atomic_write_parquet(
            final,
            target,
            meta,
            before_replace=lambda: _say(progress, "Replacing the wave atomically…", 0.95),
        )
        for f in existing_files:  # other part files were merged into part-0 (append) or replaced
            if f != target:
                f.unlink(missing_ok=True)
    result.written = target
    try:
        result.after_import = after_import(root, wave, engine) if after_import is not None else ""
    except Exception as exc:  # the wave is written; a failing follow-up is reported, never undone
        result.after_import = f"after-import step failed: {exc.__class__.__name__}: {exc}"
    _say(progress, "Done.", 1.0)
    return result


# ---------------------------------------------------------------- CRM and fieldwork


CRM_COLUMNS = {
    "transaction_id": "string",
    "customer_id": "string",
    "date": "date",
    "amount": "float",
}
FIELDWORK_KEYS = ("wave", "agency", "channel")
FIELDWORK_COUNTS = ("customers_served", "invitations", "delivered", "target_responses")
CRM_SYNONYMS = {
    "customer": "customer_id",
    "client_id": "customer_id",
    "transaction": "transaction_id",
    "id": "transaction_id",
    "order_id": "transaction_id",
    "purchase_date": "date",
    "value": "amount",
    "total": "amount",
}
FIELDWORK_SYNONYMS = {
    "sent": "invitations",
    "invited": "invitations",
    "served": "customers_served",
    "customers": "customers_served",
    "target": "target_responses",
    "store": "agency",
    "branch": "agency",
}


@dataclass
class TableResult:
    """Outcome of a CRM or fieldwork import."""

    source: str
    target: Path
    input_rows: int
    accepted: int
    quarantined: int
    total_rows: int
    reasons: dict[str, int]
    quarantine_file: Path | None = None

    def as_rows(self, root: Path) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = [
            {
                "outcome": "written",
                "file": str(self.target.relative_to(root)),
                "rows": self.accepted,
                "reason": f"{self.input_rows} input rows, {self.accepted} accepted, {self.quarantined} quarantined; file now {self.total_rows} rows",
            }
        ]
        q = str(self.quarantine_file.relative_to(root)) if self.quarantine_file else None
        rows += [
            {"outcome": "quarantined", "file": q, "rows": n, "reason": r}
            for r, n in self.reasons.items()
        ]
        return rows


def _table_frame(path: Path, synonyms: dict[str, str]) -> tuple[pl.DataFrame, Source]:
    src = read(path)
    names = {
        c: synonyms.get(mapping_mod.normalise(c), mapping_mod.normalise(c))
        for c in src.frame.columns
    }
    frame = src.frame.rename(names)
    frame = frame.select([_text(c, frame.schema[c]) for c in frame.columns])
    return frame.with_row_index("source_row", offset=1), src


def _split(frame: pl.DataFrame, rules: list[Check]) -> tuple[pl.DataFrame, pl.DataFrame]:
    marked = frame.with_columns(
        reason=pl.concat_str(
            [pl.when(c.bad.fill_null(False)).then(c.message) for c in rules],
            separator="; ",
            ignore_nulls=True,
        ),
        rule=pl.coalesce([pl.when(c.bad.fill_null(False)).then(pl.lit(c.rule)) for c in rules]),
    )
    return marked.filter(pl.col("rule").is_null()).drop("rule", "reason"), marked.filter(
        pl.col("rule").is_not_null()
    )


def _reasons(bad: pl.DataFrame) -> dict[str, int]:
    if bad.is_empty():
        return {}
    counts = bad.group_by("rule").len().sort(["len", "rule"], descending=[True, False])
    return dict(zip(counts["rule"].to_list(), counts["len"].to_list(), strict=True))


def import_crm(path: Path | str, *, root: Path, mode: str = "append") -> TableResult:
    """CRM transactions (customer_id, date, amount[, transaction_id]) into ``crm/transactions.parquet``.

    ``append`` adds new transactions (an existing ``transaction_id`` is replaced by the new one);
    ``replace`` swaps the whole file. Rows without a transaction_id get a stable id from their content.
    """
    path, root = Path(path), Path(root)
    if mode not in ("append", "replace"):
        raise IngestError(f"mode {mode!r}: CRM imports are append or replace")
    frame, _ = _table_frame(path, CRM_SYNONYMS)
    missing = [c for c in ("customer_id", "date", "amount") if c not in frame.columns]
    if missing:
        raise IngestError(
            f"{path.name}: missing CRM column(s) {', '.join(missing)}; the file has {', '.join(frame.columns[1:13])}"
        )
    if "transaction_id" not in frame.columns:
        frame = frame.with_columns(
            transaction_id=pl.lit("H")
            + pl.concat_str(["customer_id", "date", "amount"], separator="|", ignore_nulls=True)
            .hash(seed=6)
            .cast(pl.String)
        )
    typed = frame.with_columns(
        _date=pl.coalesce(
            [
                pl.col("date").str.to_date(f, strict=False)
                for f in ("%Y-%m-%d", "%d/%m/%Y", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d")
            ]
        ),
        _amount=_number("amount"),
    )
    rules = [
        Check(
            "customer_id missing", pl.col("customer_id").is_null(), pl.lit("customer_id is empty")
        ),
        Check(
            "date invalid",
            pl.col("_date").is_null(),
            pl.format("date {} is not a date", pl.col("date").fill_null("(empty)")),
        ),
        Check(
            "amount invalid",
            pl.col("_amount").is_null() | ~pl.col("_amount").is_finite(),
            pl.format("amount {} is not a number", pl.col("amount").fill_null("(empty)")),
        ),
        Check(
            "duplicate transaction_id in file",
            ~pl.col("transaction_id").is_first_distinct(),
            pl.format("duplicate transaction_id {} within the file", pl.col("transaction_id")),
        ),
    ]
    good, bad = _split(typed, rules)
    new = good.select(
        "transaction_id",
        "customer_id",
        pl.col("_date").alias("date"),
        pl.col("_amount").alias("amount"),
    )
    target = root / "crm" / "transactions.parquet"
    if mode == "append" and target.exists():
        old = pl.read_parquet(target).join(
            new.select("transaction_id"), on="transaction_id", how="anti"
        )
        new = pl.concat([old, new], how="diagonal_relaxed")
    return _write_table(
        "crm", path, root, frame, good, bad, new.sort("date", "transaction_id"), target
    )


def import_fieldwork(path: Path | str, *, root: Path) -> TableResult:
    """Fieldwork counts per wave x agency x channel into ``fieldwork.parquet`` (upsert on those keys).

    Region and country come from ``org.yaml`` when the file lacks them; unknown agencies are quarantined.
    """
    path, root = Path(path), Path(root)
    frame, _ = _table_frame(path, FIELDWORK_SYNONYMS)
    missing = [c for c in (*FIELDWORK_KEYS, "invitations") if c not in frame.columns]
    if missing:
        raise IngestError(
            f"{path.name}: missing fieldwork column(s) {', '.join(missing)}; the file has {', '.join(frame.columns[1:13])}"
        )
    org = _org_frame(root)
    for c in ("region", "country", *FIELDWORK_COUNTS):
        if c not in frame.columns:
            frame = frame.with_columns(pl.lit(None, pl.String).alias(c))
    typed = frame.with_columns([_number(c).alias(f"_{c}") for c in FIELDWORK_COUNTS]).with_columns(
        pl.col("channel").str.to_lowercase()
    )
    if org is not None:
        typed = typed.join(org, on="agency", how="left", maintain_order="left").with_columns(
            region=pl.coalesce("region", "_org_region"),
            country=pl.coalesce("country", "_org_country"),
        )
    wave_ok = pl.col("wave").str.contains(
        r"^\d{4}-(Q[1-4]|0[1-9]|1[0-2]|W(0[1-9]|[1-4]\d|5[0-3]))$"
    )
    rules = [
        Check(
            "wave invalid",
            ~wave_ok.fill_null(False),
            pl.format(
                "wave {} is not 2026-Q1, 2026-03 or 2026-W09", pl.col("wave").fill_null("(empty)")
            ),
        ),
        Check("agency missing", pl.col("agency").is_null(), pl.lit("agency is empty")),
        Check(
            "channel unknown",
            ~pl.col("channel").is_in(list(CHANNELS)).fill_null(False),
            pl.format(
                "channel {} is not one of " + ", ".join(CHANNELS),
                pl.col("channel").fill_null("(empty)"),
            ),
        ),
    ]
    if org is None:
        rules.append(
            Check(
                "region/country missing",
                pl.col("region").is_null() | pl.col("country").is_null(),
                pl.lit("region or country is empty"),
            )
        )
    else:
        rules.append(
            Check(
                "agency unknown",
                pl.col("agency").is_not_null() & pl.col("_org_country").is_null(),
                pl.format("unknown agency {} (not in org.yaml)", pl.col("agency")),
            )
        )
    for c in FIELDWORK_COUNTS:
        rules.append(
            Check(
                f"{c} invalid",
                pl.col(c).is_not_null()
                & ~(
                    (pl.col(f"_{c}") >= 0) & (pl.col(f"_{c}") == pl.col(f"_{c}").round())
                ).fill_null(False),
                pl.format(f"{c} {{}} is not a count >= 0", pl.col(c)),
            )
        )
    rules.append(
        Check(
            "delivered over invitations",
            (pl.col("_delivered") > pl.col("_invitations")).fill_null(False),
            pl.format(
                "delivered {} exceeds invitations {}", pl.col("delivered"), pl.col("invitations")
            ),
        )
    )
    rules.append(
        Check(
            "duplicate key in file",
            ~pl.struct(FIELDWORK_KEYS).is_first_distinct(),
            pl.format(
                "duplicate wave x agency x channel {} {} {}",
                pl.col("wave"),
                pl.col("agency"),
                pl.col("channel"),
            ),
        )
    )
    good, bad = _split(typed, rules)
    new = good.select(
        "wave",
        "region",
        "country",
        "agency",
        "channel",
        *[pl.col(f"_{c}").cast(pl.Int64).alias(c) for c in FIELDWORK_COUNTS],
    )
    target = root / "fieldwork.parquet"
    if target.exists():
        old = pl.read_parquet(target).join(
            new.select(FIELDWORK_KEYS), on=list(FIELDWORK_KEYS), how="anti"
        )
        new = pl.concat([old, new], how="diagonal_relaxed")
    return _write_table(
        "fieldwork", path, root, frame, good, bad, new.sort("wave", "agency", "channel"), target
    )


def _write_table(
    kind: str,
    path: Path,
    root: Path,
    frame: pl.DataFrame,
    good: pl.DataFrame,
    bad: pl.DataFrame,
    final: pl.DataFrame,
    target: Path,
) -> TableResult:
    """Quarantine the bad rows (reason per row) and atomically write the table when any row is good."""
    q = None
    if bad.height:
        q = atomic_write_csv(
            bad.select(
                "source_row", "rule", "reason", *[c for c in frame.columns if c != "source_row"]
            ),
            root
            / "quarantine"
            / f"{kind}__{mapping_mod.normalise(path.stem)[:40]}__{file_sha256(path)[:8]}.csv",
        )
    if good.height:
        atomic_write_parquet(final, target)
    return TableResult(
        path.name,
        target,
        frame.height,
        good.height,
        bad.height,
        final.height if good.height else 0,
        _reasons(bad),
        q,
    )


__all__ = [
    "FormatError",
    "ImportResult",
    "IngestError",
    "MappingError",
    "import_crm",
    "import_fieldwork",
    "import_file",
    "prepare",
]
