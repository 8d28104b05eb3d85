"""``replace`` and ``append`` keep the wave's previous file; ``cx import --undo WAVE`` restores it."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from cx import cli, ingest
from cx.core import data
from tests.ingest.files import csv, rows
from tests.support.datadir import no_hook

WAVE = "2026-Q4"


def stored_ids(root: Path) -> list[str]:
    return sorted(
        pl.read_parquet(root / "waves" / f"wave={WAVE}" / "part-0.parquet")["response_id"]
    )


def test_replace_then_undo_restores_the_previous_wave_exactly(root: Path, tmp_path: Path) -> None:
    ingest.import_file(csv(tmp_path / "a.csv", rows("A", 4)), WAVE, root=root, after_import=no_hook)
    part = root / "waves" / f"wave={WAVE}" / "part-0.parquet"
    before = pl.read_parquet(part)
    done = ingest.import_file(
        csv(tmp_path / "b.csv", rows("B", 2)), WAVE, root=root, mode="replace", after_import=no_hook
    )
    assert done.kept_version is not None and done.kept_version.parent.name == f"wave={WAVE}"
    kept = [r for r in done.as_rows(root) if r["outcome"] == "previous version kept"]
    assert kept[0]["rows"] == 4 and kept[0]["reason"] == f"restore it with: cx import --undo {WAVE}"
    assert stored_ids(root) == ["B0", "B1"]
    restored = ingest.undo(root, WAVE)
    assert (restored.rows, restored.replaced_rows, restored.left) == (4, 2, 0)
    assert pl.read_parquet(part).equals(before)
    assert data.scan_responses(root).collect().height == 4
    # The file's hash came back with the old version: importing B again is not "unchanged".
    again = ingest.import_file(
        csv(tmp_path / "b.csv", rows("B", 2)), WAVE, root=root, mode="replace", after_import=no_hook
    )
    assert again.status == "written"


def test_appends_are_undone_one_by_one_and_only_the_last_three_are_kept(
    root: Path, tmp_path: Path
) -> None:
    ingest.import_file(csv(tmp_path / "a.csv", rows("A", 1)), WAVE, root=root, after_import=no_hook)
    for p in ("B", "C", "D", "E"):
        ingest.import_file(
            csv(tmp_path / f"{p}.csv", rows(p, 1)),
            WAVE,
            root=root,
            mode="append",
            after_import=no_hook,
        )
    assert stored_ids(root) == ["A0", "B0", "C0", "D0", "E0"]
    assert ingest.undoable(root) == {WAVE: ingest.VERSIONS_KEPT}
    expected = [["A0", "B0", "C0", "D0"], ["A0", "B0", "C0"], ["A0", "B0"]]
    for ids in expected:
        ingest.undo(root, WAVE)
        assert stored_ids(root) == ids
    with pytest.raises(ingest.IngestError, match=f"wave {WAVE}: nothing to undo"):
        ingest.undo(root, WAVE)


def test_cli_undo_prints_one_json_line_and_a_clear_error_when_nothing_is_kept(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ingest.import_file(csv(tmp_path / "a.csv", rows("A", 3)), WAVE, root=root, after_import=no_hook)
    assert cli.main(["import", "--undo", WAVE, "--data", str(root)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"cx import: wave {WAVE}: nothing to undo")
    ingest.import_file(
        csv(tmp_path / "b.csv", rows("B", 1)), WAVE, root=root, mode="replace", after_import=no_hook
    )
    assert cli.main(["import", "--undo", WAVE, "--data", str(root), "--format", "json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    (row,) = json.loads(out)
    assert (row["outcome"], row["wave"], row["rows"]) == ("restored", WAVE, 3)
    assert stored_ids(root) == ["A0", "A1", "A2"]
    assert cli.main(["import", "x.csv", "--undo", WAVE, "--data", str(root)]) == 2
    assert "--undo WAVE takes no file" in capsys.readouterr().err


def test_versions_are_outside_the_waves_folder_and_a_new_wave_keeps_none(
    root: Path, tmp_path: Path
) -> None:
    ingest.import_file(csv(tmp_path / "a.csv", rows("A", 2)), WAVE, root=root, after_import=no_hook)
    assert ingest.undoable(root) == {}
    ingest.import_file(
        csv(tmp_path / "b.csv", rows("B", 2)), WAVE, root=root, mode="replace", after_import=no_hook
    )
    assert data.wave_files(root) == [root / "waves" / f"wave={WAVE}" / "part-0.parquet"]
    assert data.scan_responses(root).collect()["response_id"].sort().to_list() == ["B0", "B1"]


def test_crm_and_fieldwork_imports_keep_the_file_they_replace_and_undo_puts_it_back(
    root: Path, tmp_path: Path
) -> None:
    first = tmp_path / "crm1.csv"
    first.write_text("customer_id,date,amount\nC1,2026-01-05,10\nC2,2026-01-06,20\n")
    second = tmp_path / "crm2.csv"
    second.write_text("customer_id,date,amount\nC9,2026-02-01,99\n")
    ingest.import_crm(first, root=root)
    ingest.import_crm(second, root=root, mode="replace")
    crm = root / "crm" / "transactions.parquet"
    assert pl.read_parquet(crm)["customer_id"].to_list() == ["C9"]
    assert cli.main(["import-crm", "--undo", "--data", str(root), "--format", "json"]) == 0
    assert sorted(pl.read_parquet(crm)["customer_id"]) == ["C1", "C2"]
    with pytest.raises(ingest.IngestError, match="crm: nothing to undo"):
        ingest.undo_table("crm", root=root)  # the first import replaced no file
    header = "wave,region,country,agency,channel,invitations\n"
    fw = tmp_path / "fw.csv"
    fw.write_text(header + "2026-Q4,Europe,ES,Madrid,email,100\n")
    ingest.import_fieldwork(fw, root=root)
    fw.write_text(header + "2026-Q4,Europe,ES,Madrid,email,250\n")
    ingest.import_fieldwork(fw, root=root)  # an upsert changes the stored count
    restored = ingest.undo_table("fieldwork", root=root)
    assert (restored.rows, restored.replaced_rows, restored.left) == (1, 1, 0)
    assert pl.read_parquet(root / "fieldwork.parquet")["invitations"].to_list() == [100]
