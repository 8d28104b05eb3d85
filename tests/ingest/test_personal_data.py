"""Raw comments stay in the wave files only: quarantine files, the preview, the sample of bad
rows, the mapping examples and error lines are masked; quarantine cells never run as formulas."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from cx import cli, ingest
from cx.ingest import mapping
from tests.ingest.files import csv
from tests.support.datadir import no_hook

MAIL = "ana.lopez@example.com"
PHONE = "+34 612 345 678"
EVIL = '=HYPERLINK("http://evil.example/x","click")'


@pytest.fixture
def result(root: Path, tmp_path: Path) -> ingest.ImportResult:
    src = csv(
        tmp_path / "a.csv",
        [
            f"R1,2026-10-01,C1,Europe,ES,Madrid,9,write to {MAIL}",
            f"R2,2026-10-01,C2,Europe,ES,Madrid,11,call {PHONE} please",
            f'R3,call {PHONE},C3,Europe,ES,Madrid,5,"{EVIL.replace(chr(34), chr(34) * 2)}"',
            "R4,2026-10-01,C4,Europe,ES,Madrid,-3,ok",
        ],
    )
    return ingest.import_file(src, "2026-Q4", root=root, after_import=no_hook)


def test_the_quarantine_file_is_masked_and_formula_safe(result: ingest.ImportResult) -> None:
    assert result.quarantined == 3 and result.quarantine_file is not None
    text = result.quarantine_file.read_text(encoding="utf-8")
    assert MAIL not in text and "612 345 678" not in text  # comment and the date field's text
    assert "call [phone] please" in text and "responded_at call [phone] is not" in text
    q = pl.read_csv(result.quarantine_file, infer_schema=False)
    assert q.filter(pl.col("response_id") == "R3")["comment"].item() == "'" + EVIL
    assert q.filter(pl.col("response_id") == "R4")["nps"].item() == "'-3"
    assert q["response_id"].to_list() == ["R2", "R3", "R4"]  # identifiers kept as written


def test_the_preview_and_the_bad_rows_are_masked_and_the_wave_keeps_the_raw_text(
    result: ingest.ImportResult,
) -> None:
    assert result.preview["comment"].to_list() == ["write to [email]"]
    assert not result.bad_rows["reason"].str.contains("612").any()
    stored = pl.read_parquet(result.written)
    assert stored["comment"].to_list() == [f"write to {MAIL}"]


def test_the_mapping_editor_examples_are_masked(tmp_path: Path) -> None:
    frame = pl.DataFrame({"why": [None, f"mail {MAIL}"], "id": ["R1", "R2"]})
    rows = mapping.editor_rows(frame, mapping.for_columns(frame.columns))
    assert rows["example"].to_list() == ["mail [email]", "R1"]


def test_cli_error_lines_are_masked(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = csv(tmp_path / "h.csv", ["1,2"], header=f"{MAIL},nps")
    assert cli.main(["import", str(src), "--wave", "2026-Q4", "--data", str(root)]) == 2
    err = capsys.readouterr().err
    assert MAIL not in err and "the file has [email], nps" in err and err.count("\n") == 1


def test_crm_quarantine_keeps_only_the_table_columns_and_neutralises_formulas(
    root: Path, tmp_path: Path
) -> None:
    src = csv(
        tmp_path / "crm.csv",
        [
            f"T1,C1,2026-01-05,{EVIL.replace(',', ';')},Ana López,{MAIL}",
            "T2,C2,2026-01-06,3,Bo,b@x.es",
        ],
        header="transaction_id,customer_id,date,amount,name,email",
    )
    r = ingest.import_crm(src, root=root)
    assert (r.accepted, r.quarantined) == (1, 1) and r.quarantine_file is not None
    q = pl.read_csv(r.quarantine_file, infer_schema=False)
    assert q.columns == [
        "source_row",
        "rule",
        "reason",
        "transaction_id",
        "customer_id",
        "date",
        "amount",
    ]
    assert q["amount"].item().startswith("'=HYPERLINK")
    assert "Ana" not in r.quarantine_file.read_text(encoding="utf-8")


def test_a_mapping_editor_example_is_masked_before_it_is_shortened() -> None:
    long_mail = "ana.lopez.fernandez@correo-example.com"
    frame = pl.DataFrame({"why": [f"Escribidme a {long_mail} cuando podáis"]})
    example = mapping.editor_rows(frame, mapping.for_columns(frame.columns))["example"][0]
    assert example.startswith("Escribidme a [email]") and "ana.lopez" not in example
    assert len(example) <= 40
