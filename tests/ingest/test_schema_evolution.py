"""Schema evolution: waves written at different times differ in their optional columns and types,
and every reader (the importer's id check, the dashboards' scan) reads them together."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from cx import ingest
from cx.core import data
from tests.ingest.files import csv, demo_like_waves, rows
from tests.support.datadir import no_hook


def test_the_next_import_works_after_an_imported_wave_gained_exclusion_reason(
    root: Path, tmp_path: Path
) -> None:
    demo_like_waves(root)
    first = ingest.import_file(
        csv(tmp_path / "q4.csv", rows("A", 3)), "2026-Q4", root=root, after_import=no_hook
    )
    assert "exclusion_reason" in pl.read_parquet_schema(first.written)
    # Before: SchemaError "extra column in file outside of expected schema: exclusion_reason".
    second = ingest.import_file(
        csv(tmp_path / "q1.csv", rows("B", 2, day="2027-01-05")),
        "2027-Q1",
        root=root,
        after_import=no_hook,
    )
    assert (second.status, second.accepted) == ("written", 2)
    again = ingest.import_file(  # an id of the evolved wave is still found across waves
        csv(tmp_path / "dup.csv", [rows("A", 1, day="2027-02-01")[0]]),
        "2027-Q1",
        root=root,
        mode="append",
        after_import=no_hook,
    )
    assert again.reasons == {"response_id in another wave": 1}


def test_old_waves_read_as_null_in_columns_added_later_and_integers_widen(
    root: Path, tmp_path: Path
) -> None:
    demo_like_waves(root)
    src = csv(
        tmp_path / "q4.csv",
        [
            "A1,2026-10-01 10:00:00,AC1,Europe,ES,Madrid,9,5,x",
            "A2,2026-10-02 10:00:00,AC2,Europe,ES,Madrid,2,2,y",
        ],
        header="response_id,responded_at,customer_id,region,country,agency,nps,attr_cleanliness,comment",
    )
    ingest.import_file(src, "2026-Q4", root=root, scales={"*": "1-5"}, after_import=no_hook)
    frame = data.scan_responses(root).collect().sort("response_id")
    assert frame.schema["attr_cleanliness"] == pl.Float64  # Int8 in old waves, 1-5 rescaled now
    assert frame["attr_cleanliness"].to_list() == [10.0, 2.5, 8.0, 2.0, 9.0, 6.0]
    assert frame.filter(pl.col("wave") != "2026-Q4")["exclusion_reason"].null_count() == 4


def test_a_column_whose_types_cannot_be_unified_names_both_files(root: Path) -> None:
    demo_like_waves(root)
    for wave, value in (("2026-Q2", pl.lit(1)), ("2026-Q3", pl.lit("one"))):
        part = root / "waves" / f"wave={wave}" / "part-0.parquet"
        pl.read_parquet(part).with_columns(panel_code=value).write_parquet(part)
    with pytest.raises(
        data.DataError,
        match=r"column 'panel_code' is Int32 in .*wave=2026-Q2.* but String in .*wave=2026-Q3",
    ):
        data.scan_responses(root)
