"""The wave import: a survey export mapped, validated, flagged and written as one wave.

Pipeline: read by content (:mod:`cx.ingest.formats`), map columns (:mod:`cx.ingest.mapping`), convert
and validate every row against the data contract (:mod:`cx.ingest.validate`, with the geography
checks of :mod:`cx.ingest.geography` when there is no ``org.yaml``), split into accepted rows and
quarantined rows (each with its reason), flag data-quality issues (:mod:`cx.ingest.quality`), then
write the quarantine file (masked, :mod:`cx.ingest.quarantine`) and the wave's partition atomically
(:mod:`cx.core.atomic`).

Invariants: accepted + quarantined = input rows; re-importing the same file changes nothing
(the file's SHA-256 is kept in the wave's Parquet metadata); an existing wave is only replaced
or appended to when asked, and its previous file is kept as a version that :func:`undo` restores
(:mod:`cx.ingest.versions`); imports run one at a time, from reading what is stored to publishing
the new file (:mod:`cx.ingest.locks`); an import writes only under ``waves/wave=<W>/``,
``versions/wave=<W>/``, ``quarantine/``, ``mappings/`` and ``.locks/`` (removed on release).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from cx.core import data
from cx.core.atomic import atomic_write_parquet, clean_stale
from cx.ingest import geography, locks, quality, quarantine, validate, versions
from cx.ingest import mapping as mapping_mod
from cx.ingest.checks import IngestError
from cx.ingest.formats import Source, check_size, read
from cx.ingest.mapping import Mapping

Progress = Callable[[str, float], None]
PART = "part-0.parquet"
META_SOURCES = "cx_sources"
SAMPLE_ROWS = 20


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
    geography: pl.DataFrame = field(default_factory=pl.DataFrame)
    geography_accepted: bool = False
    kept_version: Path | None = None
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
                "outcome": "geography accepted",
                "file": None,
                "wave": self.wave,
                "mode": self.mode,
                "rows": place["rows"],
                "reason": f"agency {place['agency']} in {place['region']}/{place['country']} "
                f"({'was ' + place['was'] if place['was'] else 'new'}); recorded in the audit trail",
            }
            for place in (self.geography.iter_rows(named=True) if self.geography_accepted else [])
        ]
        if self.kept_version is not None and self.written is not None:
            rows.append(
                {
                    "outcome": "previous version kept",
                    "file": rel(self.kept_version),
                    "wave": self.wave,
                    "mode": self.mode,
                    "rows": versions.rows_in(self.kept_version),
                    "reason": f"restore it with: cx import --undo {self.wave}",
                }
            )
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


def wave_path(root: Path, wave: str) -> Path:
    """The one Parquet file of a wave (an append rewrites it whole, old rows and new)."""
    return data.waves_dir(root) / f"wave={wave}" / PART


def wave_sources(root: Path, wave: str) -> list[str]:
    """The SHA-256 of every file imported into the wave (from the Parquet metadata)."""
    path = wave_path(root, wave)
    if not path.exists():
        return []
    meta = pl.read_parquet_metadata(path)
    return list(json.loads(meta.get(META_SOURCES, "[]")))


@dataclass
class Prepared:
    """A validated file, before anything is written."""

    result: ImportResult
    accepted: pl.DataFrame
    quarantined: pl.DataFrame
    sha: str


def _say(progress: Progress | None, message: str, fraction: float) -> None:
    """Report a step to the caller's progress bar, if any."""
    if progress is not None:
        progress(message, fraction)


MODE_LABELS = {"new": "refuse (new wave only)", "replace": "replace it", "append": "append to it"}


def read_source(path: Path, *, delimiter: str | None = None) -> Source:
    """Read a file by content (the page's preview uses the same reader as the import)."""
    return read(Path(path), delimiter=delimiter)


def next_wave(root: Path) -> str:
    """A sensible default label for the next wave: the one after the latest, same granularity."""
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
    accept_geography: bool = False,
) -> Prepared:
    """Read, map, convert and validate a file; nothing is written."""
    path = Path(path)
    validate.check_request(wave, mode)
    _say(progress, f"Reading {path.name}…", 0.05)
    src = source or read(path, delimiter=delimiter)
    sha = validate.file_sha256(path)
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
    org = validate.org_frame(root)
    validate.check_required(path.name, src, mapped, org is not None)
    _say(progress, "Validating rows…", 0.25)
    accepted, quarantined, places = validate.validate_rows(
        mapped, src, chosen, wave, mode, root, org, accept_geography
    )
    result.accepted, result.quarantined = accepted.height, quarantined.height
    result.geography, result.geography_accepted = places, accept_geography and places.height > 0
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
        result.bad_rows = quarantine.masked(
            quarantined.select("_row", "_reason")
            .head(SAMPLE_ROWS)
            .rename({"_row": "row", "_reason": "reason"})
        )
    result.preview = quarantine.masked(accepted.head(SAMPLE_ROWS))
    return Prepared(result, accepted, quarantined, sha)


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
    accept_geography: bool = False,
    actor: str = "",
    lock_timeout: float = locks.LOCK_TIMEOUT,
    on_wait: Callable[[str], None] | None = None,
) -> ImportResult:
    """Import one file as wave ``wave`` (modes: ``new``, ``replace``, ``append``); see the module doc.

    Everything from reading what is stored to publishing the new wave file happens under the
    ``waves`` lock (a dry run writes nothing and takes no lock). ``accept_geography`` accepts the
    new agencies and moved ones of a folder without ``org.yaml``, audited under ``actor``.
    """
    path, root = Path(path), Path(root)
    validate.check_request(wave, mode)
    if not path.is_file():
        raise IngestError(f"{path}: no such file")
    check_size(path)  # before hashing: an oversized file is refused without reading it
    if accept_geography and not dry_run and not actor:
        raise IngestError("accepting new geography needs the name of who accepts it (actor)")
    options = {
        "mapping": mapping,
        "mode": mode,
        "survey": survey,
        "overrides": overrides,
        "scales": scales,
        "delimiter": delimiter,
        "progress": progress,
        "source": source,
        "accept_geography": accept_geography,
    }
    if dry_run:
        return _import(path, wave, root, options, dry_run=True, save_mapping=False)
    with locks.exclusive(root, "waves", timeout=lock_timeout, on_wait=on_wait):
        result = _import(
            path, wave, root, options, save_mapping=save_mapping, engine=engine, actor=actor
        )
    if result.status == "written":
        try:
            result.after_import = (
                after_import(root, wave, engine) if after_import is not None else ""
            )
        except Exception as exc:  # the wave is written: a failed follow-up is reported, not undone
            result.after_import = f"after-import step failed: {exc.__class__.__name__}: {exc}"
        _say(progress, "Done.", 1.0)
    return result


def _import(
    path: Path,
    wave: str,
    root: Path,
    options: dict[str, Any],
    *,
    dry_run: bool = False,
    save_mapping: bool = True,
    engine: Any = None,
    actor: str = "",
) -> ImportResult:
    """Read what is stored, validate the file against it and (unless a dry run) publish the wave."""
    mode, survey, progress = options["mode"], options["survey"], options["progress"]
    wave_dir = data.waves_dir(root) / f"wave={wave}"
    target = wave_dir / PART
    if not dry_run and wave_dir.exists():
        clean_stale(wave_dir)
    sha = validate.file_sha256(path)
    existing_files = data.imported_parts(wave_dir)  # the captured answers are not the import's
    sources = wave_sources(root, wave)
    if sha in sources and (mode != "replace" or sources == [sha]):
        _say(progress, "Already imported: nothing changed.", 1.0)
        return ImportResult(
            path.name,
            wave,
            mode,
            status="unchanged",
            wave_rows=sum(versions.rows_in(f) for f in existing_files),
            written=target,
        )
    if mode == "new" and existing_files:
        rows = sum(versions.rows_in(f) for f in existing_files)
        raise IngestError(
            f"wave {wave} already exists ({rows:,} responses); choose replace or append"
        )
    prepared = prepare(path, wave, root=root, **options)
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
    if prepared.quarantined.height:
        _say(progress, "Writing the quarantine file…", 0.7)
        result.quarantine_file = quarantine.write(
            prepared.quarantined.rename(
                {"_row": "source_row", "_rule": "rule", "_reason": "reason"}
            ),
            root,
            wave,
            path,
            prepared.sha,
        )
    if final.is_empty():
        result.status = "nothing accepted"
        _say(progress, "No row passed validation: the wave is unchanged.", 1.0)
        return result
    if result.geography_accepted:
        _say(progress, "Recording the accepted geography in the audit trail…", 0.75)
        geography.record(engine, root, result.geography, actor=actor, wave=wave, source=path.name)
    if existing_files:
        _say(progress, "Keeping the previous version…", 0.78)
        result.kept_version = versions.keep(root, wave, existing_files)
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
    return result


def undoable(root: Path) -> dict[str, int]:
    """Waves whose last replace or append can be undone, with the number of versions kept."""
    return versions.undoable(Path(root), PART)


def undo(
    root: Path,
    wave: str,
    *,
    lock_timeout: float = locks.LOCK_TIMEOUT,
    on_wait: Callable[[str], None] | None = None,
) -> versions.Restored:
    """Put wave ``wave`` back to the version before its last replace or append (under the lock)."""
    validate.check_request(wave, "new")
    with locks.exclusive(Path(root), "waves", timeout=lock_timeout, on_wait=on_wait):
        return versions.undo(Path(root), wave, PART)
