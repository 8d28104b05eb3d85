"""Validate a survey file against the data contract: the request, the file, then every row.

A request names a valid wave label and mode; a file has the required columns. Each row is converted
to the contract's types (text trimmed, decimal commas, many date shapes read as UTC) and checked by
every row-level rule; a row that breaks any rule is quarantined with all its reasons, never dropped.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl

from cx.core import data, org
from cx.core.data import CHANNELS, OPTIONAL, REQUIRED, DataError
from cx.ingest import geography
from cx.ingest import mapping as mapping_mod
from cx.ingest.checks import Check, IngestError
from cx.ingest.formats import Source
from cx.ingest.mapping import Mapping

__all__ = ["MODES", "Check", "IngestError", "validate_rows"]

MODES: tuple[str, ...] = ("new", "replace", "append")
STRING_COLUMNS = [c for c, k in {**REQUIRED, **OPTIONAL}.items() if k == "string"]


def file_sha256(path: Path) -> str:
    """The file's identity: a wave remembers the hashes of its files, so a re-import changes nothing."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check_request(wave: str, mode: str) -> None:
    """Refuse an invalid wave label or an unknown mode before anything is read."""
    try:
        data.wave_period(wave)
    except DataError as exc:
        raise IngestError(str(exc)) from None
    if mode not in MODES:
        raise IngestError(f"mode {mode!r} is not one of {', '.join(MODES)}")


def check_required(name: str, src: Source, mapped: pl.DataFrame, has_org: bool) -> None:
    """Refuse a file whose mapped columns lack a required one (region and country may come from org.yaml)."""
    missing = [c for c in REQUIRED if c not in mapped.columns and c != "wave"]
    if has_org and "agency" in mapped.columns:
        missing = [c for c in missing if c not in ("region", "country")]
    if missing:
        hint = ""
        if len(src.frame.columns) == 1 and any(d in src.frame.columns[0] for d in ",;\t|"):
            hint = " (the header was read as one column: wrong delimiter?)"
        raise IngestError(
            f"{name}: missing required column(s) {', '.join(missing)}{hint}; "
            f"the file has {', '.join(src.frame.columns[:12])}{'…' if src.frame.width > 12 else ''}"
        )


# ---------------------------------------------------------------- conversion


def as_text(name: str, dtype: pl.DataType) -> pl.Expr:
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


def as_number(name: str) -> pl.Expr:
    """Text -> Float64 (decimal comma accepted); unparseable -> null (reported by the caller)."""
    return pl.col(name).str.replace(",", ".", literal=True).cast(pl.Float64, strict=False)


DATE_FORMATS = (
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


def date_formats(values: pl.Series) -> tuple[str, ...]:
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
        for f in DATE_FORMATS
        if shapes.str.to_datetime(f, strict=False, time_unit="us", time_zone="UTC")
        .is_not_null()
        .any()
    )
    return chosen or DATE_FORMATS[:1]


def as_datetime(name: str, dtype: pl.DataType, formats: tuple[str, ...] | None = None) -> pl.Expr:
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
            for f in (formats or DATE_FORMATS)
        ]
    ).alias(name)


def as_bool(name: str) -> pl.Expr:
    """Yes/no text (1/0, true/false, y/n…) as a boolean; anything else as null."""
    t = pl.col(name).str.to_lowercase()
    return (
        pl.when(t.is_in(["1", "true", "yes", "y", "t"]))
        .then(True)
        .when(t.is_in(["0", "false", "no", "n", "f"]))
        .then(False)
        .otherwise(None)
    )


# ---------------------------------------------------------------- rows


def row_checks(
    columns: list[str],
    mapping: Mapping,
    wave: str,
    has_org: bool,
    accept_geography: bool = False,
) -> list[Check]:
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
                "agency region mismatch",
                pl.col("_org_region").is_not_null() & (pl.col("region") != pl.col("_org_region")),
                pl.format(
                    "agency {} is in region {} in org.yaml, not {}",
                    pl.col("agency"),
                    pl.col("_org_region"),
                    pl.col("region"),
                ),
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
    if not has_org:
        checks += geography.checks(accept_geography)
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
        if not (
            mode == "replace"
            and f.parent.name == f"wave={wave}"
            and f.name != data.CAPTURE_PART  # the survey pages' answers stay through a replace
        )
    ]


def _existing_ids(root: Path, wave: str, mode: str) -> pl.LazyFrame:
    """response_id -> wave of responses already stored."""
    files = _other_wave_files(root, wave, mode)
    if not files:
        return pl.LazyFrame(schema={"response_id": pl.String, "_existing_wave": pl.String})
    return (
        data.scan_files(files)  # waves may differ in their optional columns
        .select(
            pl.col("response_id").cast(pl.String),
            pl.col("wave").cast(pl.String).alias("_existing_wave"),
        )
        .unique("response_id", keep="any")
    )


def org_frame(root: Path) -> pl.DataFrame | None:
    """agency -> _org_region, _org_country from ``org.yaml``; None when the data has no org.yaml."""
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


def validate_rows(
    mapped: pl.DataFrame,
    src: Source,
    mapping: Mapping,
    wave: str,
    mode: str,
    root: Path,
    org: pl.DataFrame | None,
    accept_geography: bool = False,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Split the mapped rows into typed accepted rows and quarantined source rows with reasons;
    without ``org.yaml``, also the places (agency, region, country) the analyst has to accept."""
    types = dict(mapped.schema)
    columns = mapped.columns
    labels = {mapping.columns[s]: lab for s, lab in src.labels.items() if s in mapping.columns}
    texts = [as_text(c, types[c]).alias(f"_t_{c}") for c in columns]
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
    typed += [as_number(f"_t_{c}").alias(c) for c in numeric]
    native = types["responded_at"]
    formats = date_formats(mapped["responded_at"]) if native == pl.String else DATE_FORMATS
    typed.append(
        as_datetime(
            "_t_responded_at" if native == pl.String else "responded_at", native, formats
        ).alias("responded_at")
    )
    if "excluded" in columns:
        typed.append(as_bool("_t_excluded").alias("excluded"))
    lf = lf.with_columns(typed)
    if native == pl.String and formats != DATE_FORMATS:
        # Date shapes the sample missed: re-parse only the rows that failed, with every format.
        first = lf.collect()
        missed = first["responded_at"].is_null() & first["_t_responded_at"].is_not_null()
        if missed.any():
            retry = first.select(
                as_datetime("_t_responded_at", pl.String(), DATE_FORMATS).alias("_retry")
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
    else:
        lf = geography.annotate(lf, root)
    if _other_wave_files(root, wave, mode):
        lf = lf.join(
            _existing_ids(root, wave, mode), on="response_id", how="left", maintain_order="left"
        )
    else:
        lf = lf.with_columns(_existing_wave=pl.lit(None, pl.String))
    checks = row_checks(list(columns), mapping, wave, org is not None, accept_geography)
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
    places = (
        geography.pending(frame)
        if org is None
        else pl.DataFrame(
            schema={
                "agency": pl.String,
                "region": pl.String,
                "country": pl.String,
                "was": pl.String,
                "rows": pl.UInt32,
            }
        )
    )
    return accepted, quarantined, places


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
        pl.col("nps").cast(pl.Int8, strict=False),  # bad rows (NaN, inf) are dropped below
    ]
    for c, kind in OPTIONAL.items():
        if c not in columns or c == "excluded":
            continue
        if kind == "string":
            out.append(pl.col(c))
        elif c == "csat":
            out.append(pl.col(c).cast(pl.Int8, strict=False))
        elif c == "weight":
            out.append(pl.col(c).fill_null(1.0))
    for a in data.attributes(columns):
        lo, hi = mapping.scale_of(a)
        out.append(
            pl.col(a).cast(pl.Int8, strict=False)
            if (lo, hi) == (0, 10)
            else mapping_mod.rescale(a, lo, hi)
        )
    if "excluded" in columns:
        out.append(pl.col("excluded").fill_null(False))
    if "duration_seconds" in columns:
        out.append(pl.col("duration_seconds"))
    return good.select(out)
