"""Themes and sentiment stored per wave, so that no screen tags a comment twice.

Each wave's comments are tagged once (:func:`cx.voice.themes.tag`) into
``precomputed/themes/<engine>/<wave>-<files>.parquet`` of the data folder: ``wave``,
``response_id``, ``themes``, ``sentiment``, ``theme_sentiment``, from the comment as the explorer shows it (personal data masked). ``<engine>`` fingerprints what
the tags depend on (the taxonomy, lexicons, stop words, abbreviations and the learned model);
``<files>`` the wave's own files (names, sizes, modification times). A new wave or a survey
batch folded into one changes only that wave's name, so only it is tagged again; a new
expression or model tags every wave again. A table is written whole then renamed into place
(a reader never sees half of one); older tables of the same wave are removed after. A folder
that cannot be written is served from memory. A table is tagged on first need
(:func:`wave_tags`) or by ``cx precompute`` (:func:`plan`, then :func:`tag_wave` per missing
wave, in this process or on a Dask cluster, then :func:`store_wave`).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from cx.core import data
from cx.core.atomic import atomic_write_parquet
from cx.core.privacy import mask_pii
from cx.voice import lemmas, model, sentiment, taxonomy, themes

TAGS_DIR = "themes"
TAG_COLUMNS = ("themes", "sentiment", "theme_sentiment")
MARKER = "__cx_tagged"
"""A column present (true) on frames whose tag columns come from the stored tables."""
_SCHEMA: dict[str, pl.DataType] = {
    "wave": pl.String(),
    "response_id": pl.String(),
    "themes": pl.List(pl.String),
    "sentiment": pl.Float64(),
    "theme_sentiment": pl.List(pl.Float64),
}


def _engine_files() -> list[Path]:
    weights, meta = model.model_paths()
    return [
        taxonomy.TAXONOMY_FILE,
        sentiment.SENTIMENT_FILE,
        sentiment.STOPWORDS_FILE,
        lemmas.ABBREVIATIONS_FILE,
        weights,
        meta,
    ]


@functools.lru_cache(maxsize=8)
def _digest(stamps: tuple[tuple[str, int, int], ...]) -> str:
    h = hashlib.sha256()
    for name, _, _ in stamps:
        path = Path(name)
        h.update(name.encode())
        h.update(path.read_bytes() if path.exists() else b"-")
    return h.hexdigest()[:16]


def engine_version() -> str:
    """A fingerprint of the contents of every file the tags depend on (read again only when one
    of them changes)."""
    stamps = []
    for p in _engine_files():
        st = p.stat() if p.exists() else None
        stamps.append((str(p), st.st_size if st else -1, st.st_mtime_ns if st else -1))
    return _digest(tuple(stamps))


def _files_version(files: Iterable[Path]) -> str:
    h = hashlib.sha256()
    for f in sorted(files):
        st = f.stat()
        h.update(f"{f.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def _by_wave(root: Path) -> dict[str, list[Path]]:
    out: dict[str, list[Path]] = {}
    for f in data.wave_files(root):
        out.setdefault(f.parent.name.removeprefix("wave="), []).append(f)
    return out


def _tag_wave(wave: str, files: list[Path]) -> pl.DataFrame:
    frame = data.scan_files(files)
    columns = frame.collect_schema().names()
    if "comment" not in columns:
        return pl.DataFrame(schema=_SCHEMA)
    keep = ["response_id", "comment", *(["language"] if "language" in columns else [])]
    rows = (
        frame.select(keep)
        .filter(pl.col("comment").str.strip_chars().str.len_chars() > 0)
        .with_columns(mask_pii(pl.col("comment")))  # as the explorer shows it: PII never counts
    )
    tagged = themes.tag(rows, language="language" if "language" in columns else None)
    return tagged.select(
        pl.lit(wave).alias("wave"), pl.col("response_id").cast(pl.String), *TAG_COLUMNS
    ).collect()


def _tidy(root: Path, engine: str, wave: str, current: Path) -> None:
    """Remove the wave's tables of other file versions and the folders of other engines."""
    base = root / data.PRECOMPUTED_DIR / TAGS_DIR
    for old in (base / engine).glob(f"{wave}-*.parquet"):
        if old != current:
            with contextlib.suppress(OSError):
                old.unlink()
    for folder in base.iterdir():
        if folder.is_dir() and folder.name != engine:
            for f in folder.glob("*.parquet"):
                with contextlib.suppress(OSError):
                    f.unlink()
            with contextlib.suppress(OSError):
                folder.rmdir()


def tags_path(root: Path, engine: str, wave: str, files: Iterable[Path]) -> Path:
    """Where the tags of one wave's ``files`` by the ``engine`` are stored."""
    name = f"{wave}-{_files_version(files)}.parquet"
    return root / data.PRECOMPUTED_DIR / TAGS_DIR / engine / name


def wave_tags(root: Path, wave: str, files: list[Path]) -> pl.LazyFrame:
    """The stored tags of one wave, tagged and stored first when missing or out of date."""
    engine = engine_version()
    path = tags_path(root, engine, wave, files)
    if path.exists():
        return pl.scan_parquet(path)
    table = _tag_wave(wave, files)
    try:
        atomic_write_parquet(table, path)
        _tidy(root, engine, wave, path)
    except OSError:
        return table.lazy()  # a folder we cannot write: served from memory this time
    return pl.scan_parquet(path)


@dataclass(frozen=True)
class Planned:
    """What :func:`plan` fixed for a wave still to tag: the engine, the wave's files, and
    where their tags go."""

    engine: str
    files: tuple[Path, ...]
    path: Path


def plan(root: Path) -> tuple[dict[str, int], dict[str, Planned]]:
    """The rows of each wave's tags already stored for the current engine and the wave's
    files, and what to tag for each missing one, in wave order. A wave whose files have no
    ``comment`` column has nothing to tag and no table here (:func:`wave_tags` answers it with
    an empty one)."""
    engine = engine_version()
    by_wave = _by_wave(root)
    done: dict[str, int] = {}
    todo: dict[str, Planned] = {}
    for wave in data.sort_waves(list(by_wave)):
        files = by_wave[wave]
        if "comment" not in data.wave_schema(files):
            continue
        path = tags_path(root, engine, wave, files)
        try:
            done[wave] = pq.read_metadata(path).num_rows
        except Exception:  # absent or unreadable (whatever pyarrow raised): tagged again
            todo[wave] = Planned(engine, tuple(files), path)
    return done, todo


def tag_wave(root: Path, wave: str, planned: Planned) -> pl.DataFrame:
    """One wave's tags: the per-wave job of ``cx precompute`` (reads only; the same function
    in this process or on a cluster worker)."""
    return _tag_wave(wave, list(planned.files))


def store_wave(root: Path, wave: str, frame: pl.DataFrame, planned: Planned) -> None:
    """Store one wave's tags where :func:`plan` said, then remove its older tables; OSError
    when the folder cannot be written."""
    atomic_write_parquet(frame, planned.path)
    _tidy(root, planned.engine, wave, planned.path)


def build(root: Path) -> dict[str, int]:
    """Tag every wave not yet stored for the current engine (comments per wave)."""
    out = {}
    for wave, files in _by_wave(root).items():
        out[wave] = int(wave_tags(root, wave, files).select(pl.len()).collect().item())
    return out


def with_tags(frame: pl.LazyFrame, root: Path) -> pl.LazyFrame:
    """``frame`` (the responses of ``root``) with the stored ``themes``, ``sentiment`` and
    ``theme_sentiment`` of each response (null without a comment) and :data:`MARKER`."""
    tables = [wave_tags(root, w, files) for w, files in _by_wave(root).items()]
    tags = pl.concat(tables, how="vertical") if tables else pl.LazyFrame(schema=_SCHEMA)
    return (
        frame.drop([c for c in (*TAG_COLUMNS, MARKER) if c in frame.collect_schema().names()])
        .with_columns(pl.col("response_id").cast(pl.String).alias("__cx_rid"))
        .join(
            tags.rename({"response_id": "__cx_rid"}),
            on=["wave", "__cx_rid"],
            how="left",
            maintain_order="left",
        )
        .drop("__cx_rid")
        .with_columns(pl.lit(True).alias(MARKER))
    )


def tagged(rows: pl.LazyFrame, language: str | None) -> pl.LazyFrame:
    """``rows`` with their tags: the stored ones when the frame carries them
    (:func:`with_tags`), else tagged now."""
    if MARKER in rows.collect_schema().names():
        return rows.with_columns(
            pl.col("themes").fill_null(pl.lit([], pl.List(pl.String))),
            pl.col("theme_sentiment").fill_null(pl.lit([], pl.List(pl.Float64))),
        )
    return themes.tag(rows, language=language)
