"""``cx bench`` case for the importer: throughput of a full CSV import (read, validate, flag, write).

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


def bench_cases() -> list[BenchCase]:
    return [BenchCase("ingest.import_csv [all rows]", _import, _duckdb, items=_rows, unit="rows")]
