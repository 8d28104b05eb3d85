"""A corpus of bad files: each is rejected (one line, exit 2, nothing written) or quarantined with its reason."""

from __future__ import annotations

import io
import os
from pathlib import Path

import polars as pl
import pytest

from cx import cli
from cx.ingest import formats
from tests.support.datadir import files_under

HEADER = "response_id,responded_at,customer_id,region,country,agency,nps"
GOOD = [
    "R1,2026-10-01 10:00:00,C1,Europe,ES,Madrid,9",
    "R2,2026-10-02 10:00:00,C2,Europe,ES,Madrid,3",
]


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def assert_rejected(
    path: Path, root: Path, capsys: pytest.CaptureFixture[str], reason: str, *extra: str
) -> None:
    """Exit 2, one stderr line naming the reason, no traceback, nothing written under the data dir."""
    before = files_under(root)
    code, out, err = run_cli(
        ["import", str(path), "--wave", "2026-Q4", "--data", str(root), *extra], capsys
    )
    assert code == 2, (out, err)
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert reason in err, err
    assert out == ""
    assert files_under(root) == before


def _csv(path: Path, lines: list[str], header: str = HEADER) -> Path:
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


def test_empty_file(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    assert_rejected(path, root, capsys, "empty.csv: the file is empty")


def test_header_only_file_writes_nothing(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "header.csv"
    path.write_text(HEADER + "\n")
    before = files_under(root)
    code, out, _ = run_cli(
        ["import", str(path), "--wave", "2026-Q4", "--data", str(root), "--format", "json"], capsys
    )
    assert code == 0 and '"outcome": "nothing accepted"' in out
    assert files_under(root) == before


def test_binary_garbage(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(bytes(range(256)) * 64)
    assert_rejected(path, root, capsys, "binary content (NUL bytes)")


def test_truncated_csv(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cut.csv"
    path.write_text(HEADER + "\n" + GOOD[0] + "\nR2,2026-10-02 10:00:00,C2,Eur")
    assert_rejected(
        path,
        root,
        capsys,
        "line 3 stops after 4 of 7 fields with no end of line: the file is truncated",
    )


def test_truncated_excel(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import xlsxwriter

    full = tmp_path / "full.xlsx"
    book = xlsxwriter.Workbook(str(full))
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, HEADER.split(","))
    for i in range(1, 200):
        sheet.write_row(i, 0, [f"R{i}", "2026-10-01", f"C{i}", "Europe", "ES", "Madrid", i % 11])
    book.close()
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    assert_rejected(cut, root, capsys, "cut.xlsx: a damaged or truncated")


def test_truncated_parquet(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    buf = io.BytesIO()
    pl.DataFrame(
        {"response_id": [f"R{i}" for i in range(1000)], "nps": list(range(1000))}
    ).write_parquet(buf)
    path = tmp_path / "cut.parquet"
    path.write_bytes(buf.getvalue()[:300])
    assert_rejected(path, root, capsys, "cut.parquet: not a readable Parquet file")


def test_truncated_spss(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import pandas as pd
    import pyreadstat

    full = tmp_path / "full.sav"
    pyreadstat.write_sav(
        pd.DataFrame(
            {"respid": [f"R{i}" for i in range(500)], "nps": [float(i % 11) for i in range(500)]}
        ),
        str(full),
    )
    cut = tmp_path / "cut.sav"
    cut.write_bytes(full.read_bytes()[:200])
    assert_rejected(cut, root, capsys, "cut.sav: not a readable SPSS .sav file")


def test_utf16_text_is_refused_with_what_to_do(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "u16.csv"
    path.write_bytes(("\n".join([HEADER, *GOOD]) + "\n").encode("utf-16"))
    assert_rejected(path, root, capsys, "UTF-16 text; save it as UTF-8 (or cp1252) CSV")


def test_bom_with_invalid_utf8_is_refused(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "mixed.csv"
    path.write_bytes(
        b"\xef\xbb\xbf"
        + ("\n".join([HEADER, *GOOD]) + "\n").encode()
        + "R3,2026-10-01,C3,Europe,ES,Madrid,5 é\n".encode("latin-1")
    )
    assert_rejected(path, root, capsys, "starts with a UTF-8 BOM but byte")


def test_wrong_delimiter_given_explains_the_single_column_header(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "semi.csv"
    path.write_text(
        "\n".join([HEADER.replace(",", ";"), *[g.replace(",", ";") for g in GOOD]]) + "\n"
    )
    assert_rejected(
        path,
        root,
        capsys,
        "(the header was read as one column: wrong delimiter?)",
        "--delimiter",
        ",",
    )


def test_rows_with_more_fields_than_the_header_are_refused(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _csv(tmp_path / "ragged.csv", [GOOD[0], GOOD[1] + ",extra,fields"])
    assert_rejected(path, root, capsys, "ragged.csv: not a consistent comma-delimited file")


def test_missing_required_columns(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _csv(tmp_path / "few.csv", ["R1,C1,Madrid"], header="response_id,customer_id,agency")
    assert_rejected(path, root, capsys, "few.csv: missing required column(s) responded_at, nps")


def test_nps_of_11_and_duplicate_ids_are_quarantined_with_their_reason(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _csv(
        tmp_path / "rows.csv",
        [*GOOD, "R3,2026-10-03,C3,Europe,ES,Madrid,11", "R1,2026-10-04,C4,Europe,ES,Madrid,7"],
    )
    code, out, err = run_cli(
        ["import", str(path), "--wave", "2026-Q4", "--data", str(root), "--format", "csv"], capsys
    )
    assert code == 0, err
    q = pl.read_csv(next((root / "quarantine").glob("*.csv")), infer_schema=False)
    assert q.select("source_row", "reason").rows() == [
        ("3", "nps 11 is not an integer 0..10"),
        ("4", "duplicate response_id R1 within the file"),
    ]
    assert pl.read_parquet(root / "waves" / "wave=2026-Q4" / "part-0.parquet").height == 2


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<sss version="2.0"><survey><record ident="A"><variable ident="1" type="character"><name>&lol9;</name>
<position start="1" finish="2"/></variable></record></survey></sss>
"""


def test_billion_laughs_xml_is_refused_at_its_entity_declarations(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "lol.sss"
    path.write_text(BILLION_LAUGHS)
    (tmp_path / "lol.asc").write_text("ab\n")
    assert_rejected(
        path,
        root,
        capsys,
        "lol.sss: XML with a DTD or entity declarations is refused (EntitiesForbidden)",
    )


def test_external_entity_xml_is_refused(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "xxe.xml"
    path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE sss [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<sss><survey/></sss>\n'
    )
    assert_rejected(path, root, capsys, "entity declarations is refused")


def test_a_1_gb_line_is_rejected_by_the_byte_cap_before_any_parse(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "huge.csv"
    chunk = b"a" * (8 << 20)
    try:
        with path.open("wb") as fh:  # streamed: never held in memory
            fh.write((HEADER + "\n").encode())
            for _ in range(128):
                fh.write(chunk)
            fh.write(b"\n")
        assert path.stat().st_size > 1 << 30
        assert_rejected(
            path, root, capsys, "huge.csv: the file is 1.0 GB, over the 512.0 MB import limit"
        )
    finally:
        path.unlink(missing_ok=True)


def test_a_long_line_under_the_byte_cap_is_rejected_by_the_line_cap(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    path.write_bytes((HEADER + "\n" + GOOD[0] + "\n").encode() + b"x" * (2 << 20) + b"\n")
    with pytest.raises(
        formats.FormatError, match="long.csv: line 3 is 2.0 MB long, over the 1.0 MB line limit"
    ):
        formats.read(path)


def test_a_zip_that_is_not_a_workbook(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import zipfile

    path = tmp_path / "data.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "hello")
    assert_rejected(path, root, capsys, "a zip archive that is not an Excel .xlsx workbook")


def test_the_row_cap_is_enforced(tmp_path: Path) -> None:
    path = _csv(tmp_path / "rows.csv", GOOD * 3)
    with pytest.raises(formats.FormatError, match="more than 5 rows, over the import limit"):
        formats.read_csv(path, max_rows=5)


def test_no_file_gives_one_line(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(
        ["import", str(tmp_path / "nope.csv"), "--wave", "2026-Q4", "--data", str(root)], capsys
    )
    assert code == 2 and err.count("\n") == 1 and "no such file" in err
    assert not os.path.exists(root / "waves")
