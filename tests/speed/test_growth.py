"""Growth runs: big folders grown wave file by wave file with unique ids, and one row per case
and size with the child's peak memory (structure only: no durations are asserted)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from cx.core import data
from cx.demo.dataset import write_demo
from cx.speed import growth


def test_a_grown_folder_holds_factor_copies_with_their_own_response_ids(tmp_path: Path) -> None:
    base = tmp_path / "base"
    write_demo(base, rows=4_000)
    grown = growth.grow(base, tmp_path / "x3", 3)
    rows = data.scan_responses(grown).select("response_id").collect()
    assert rows.height == 3 * data.scan_responses(base).select(pl.len()).collect().item()
    assert rows["response_id"].n_unique() == rows.height
    assert data.list_waves(grown) == data.list_waves(base)
    for name in ("org.yaml", "crm", "fieldwork.parquet"):
        assert (grown / name).exists()
    marker = (grown / ".grown").stat().st_mtime_ns
    assert growth.grow(base, grown, 3) == grown  # complete: kept as it is
    assert (grown / ".grown").stat().st_mtime_ns == marker


def test_a_growth_run_gives_each_case_at_each_size_with_its_peak_memory(tmp_path: Path) -> None:
    rows = growth.run((3_000, 6_000), tmp_path, repeat=1, base_rows=3_000)
    sizes = sorted({r["rows"] for r in rows})
    assert sizes == [3_000, 6_000]
    names = {r["query"] for r in rows}
    assert "overview.rollup_build (once per data version)" in names
    assert any("from counts" in n for n in names)
    per_size = {s: sorted(r["query"] for r in rows if r["rows"] == s) for s in sizes}
    assert per_size[3_000] == per_size[6_000]
    assert all(r["peak_mb"] > 50 and r["seconds"] > 0 for r in rows)
