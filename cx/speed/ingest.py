"""``cx bench`` cases for the importer: throughput of a full CSV import (read, validate, flag,
write), and how fast hostile files are refused (a 1 GB file over the size cap, an XML bomb).

The CSV is generated once from the bench's synthetic responses (every wave, so ``rows`` lines).
Each timed run imports it as a new wave into a fresh data folder (with the demo's ``org.yaml``,
so geography is checked). The reference is DuckDB's ``read_csv`` + ``COPY … TO parquet`` of the
same file: parsing and writing only, without our validation, quarantine and quality flags.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import polars as pl

from cx import ingest
from cx.speed.harness import BenchCase, BenchContext

WAVE = "2030-Q1"


def _folder(ctx: BenchContext) -> Path:
    return ctx.root / ".bench-ingest"


def source_csv(ctx: BenchContext) -> Path:
    """The bench CSV (written on first use): every synthetic response, without wave and flags."""
    path = _folder(ctx) / "responses.csv"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        ctx.responses.drop("wave", "excluded").with_columns(
            pl.col("responded_at").dt.strftime("%Y-%m-%d %H:%M:%S")
        ).sink_csv(path)
    return path


def _import(ctx: BenchContext) -> Any:
    src = source_csv(ctx)
    target = _folder(ctx) / "root"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    if (ctx.root / "org.yaml").exists():
        shutil.copy(ctx.root / "org.yaml", target / "org.yaml")
    result = ingest.import_file(src, WAVE, root=target, after_import=lambda *a: "")
    if result.accepted + result.quarantined != result.input_rows:
        raise RuntimeError("bench import broke the accepted + quarantined = input invariant")
    return result


def _duckdb(con: Any, ctx: BenchContext) -> Any:
    src = source_csv(ctx)
    out = _folder(ctx) / "duckdb.parquet"
    con.execute(f"COPY (SELECT * FROM read_csv('{src}', header=true)) TO '{out}' (FORMAT parquet)")
    return out


def _rows(ctx: BenchContext) -> int:
    return ctx.rows


_BOMB_ENTITIES = "\n".join(
    f' <!ENTITY lol{i} "{(f"&lol{i - 1};" if i > 1 else "&lol;") * 10}">' for i in range(1, 10)
)
BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n' + _BOMB_ENTITIES + "\n]>\n"
    '<sss version="2.0"><survey><record ident="A"><variable ident="1" type="character">'
    '<name>&lol9;</name>\n<position start="1" finish="2"/></variable></record></survey></sss>\n'
)


def hostile_files(ctx: BenchContext) -> dict[str, Path]:
    """A sparse 1 GB CSV (no disk used) and a billion-laughs Triple-S pair, written on first use."""
    folder = _folder(ctx) / "hostile"
    huge, bomb = folder / "huge.csv", folder / "lol.sss"
    if not bomb.exists():
        folder.mkdir(parents=True, exist_ok=True)
        with huge.open("wb") as fh:
            fh.write(b"response_id,wave,responded_at,customer_id,region,country,agency,nps\n")
            fh.truncate((1 << 30) + 1)
        bomb.write_text(BILLION_LAUGHS)
        (folder / "lol.asc").write_text("ab\n")
    return {"huge": huge, "bomb": bomb}


def _refused(ctx: BenchContext, which: str) -> str:
    """Import a hostile file; it must be refused with a one-line reason, never parsed."""
    target = _folder(ctx) / "hostile-root"
    target.mkdir(parents=True, exist_ok=True)
    try:
        ingest.import_file(hostile_files(ctx)[which], WAVE, root=target)
    except (ingest.IngestError, ingest.FormatError, ingest.MappingError) as exc:
        return str(exc)
    raise RuntimeError(f"the bench's hostile file {which!r} was not refused")


def bench_cases() -> list[BenchCase]:
    return [
        BenchCase("ingest.import_csv [all rows]", _import, _duckdb, items=_rows, unit="rows"),
        BenchCase(
            "ingest.refuse_oversize [1 GB file, size cap]", lambda ctx: _refused(ctx, "huge")
        ),
        BenchCase("ingest.refuse_entity_xml [billion laughs]", lambda ctx: _refused(ctx, "bomb")),
    ]
