"""Size caps checked while streaming: an archive is inflated member by member with a running count
(a lying header is caught at once), a Parquet file's uncompressed size is read from its footer."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import polars as pl
import pytest

from cx import cli
from cx.ingest import formats, uploads


def workbook(path: Path, rows: int = 20) -> Path:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["response_id", "responded_at", "customer_id", "agency", "nps"])
    for i in range(1, rows + 1):
        sheet.write_row(i, 0, [f"R{i}", "2026-10-01", f"C{i}", "Madrid", i % 11])
    book.close()
    return path


def lying_bomb(path: Path, real: int = 64 << 20, claimed: int = 1000) -> Path:
    """A workbook-looking zip whose member claims ``claimed`` bytes but inflates to ``real``."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * real)
    raw = bytearray(path.read_bytes())
    for sig, at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # uncompressed-size fields
        pos = raw.find(sig, raw.find(b"xl/worksheets") - 60 if sig == b"PK\x03\x04" else 0)
        while pos >= 0:
            name_len = struct.unpack_from("<H", raw, pos + (26 if sig == b"PK\x03\x04" else 28))[0]
            start = pos + (30 if sig == b"PK\x03\x04" else 46)
            if raw[start : start + name_len] == b"xl/worksheets/sheet1.xml":
                struct.pack_into("<I", raw, pos + at, claimed)
                break
            pos = raw.find(sig, pos + 4)
    path.write_bytes(bytes(raw))
    return path


def test_a_zip_bomb_that_lies_about_its_size_is_refused_after_the_declared_bytes(
    tmp_path: Path,
) -> None:
    path = lying_bomb(tmp_path / "bomb.xlsx")
    assert sum(i.file_size for i in zipfile.ZipFile(path).infolist()) < 2000  # looks tiny
    with pytest.raises(formats.FormatError) as refused:
        formats.read(path)
    message = str(refused.value)
    assert message.startswith(
        "bomb.xlsx: member xl/worksheets/sheet1.xml expands past its declared"
    )
    assert "uncompressed limit" in message and "\n" not in message


def test_a_workbook_over_the_uncompressed_cap_is_refused_naming_the_cap(tmp_path: Path) -> None:
    path = workbook(tmp_path / "big.xlsx", rows=400)
    declared = sum(i.file_size for i in zipfile.ZipFile(path).infolist())
    with pytest.raises(
        formats.FormatError, match=r"^big.xlsx: declares .* over the 1.0 KB uncompressed limit$"
    ):
        formats.read_xlsx(path, max_uncompressed=1024)
    assert formats.read_xlsx(path, max_uncompressed=declared).frame.height == 400


def test_the_count_is_of_real_bytes_a_corrupt_member_is_refused(tmp_path: Path) -> None:
    path = workbook(tmp_path / "ok.xlsx")
    assert formats.check_zip(path) == sum(i.file_size for i in zipfile.ZipFile(path).infolist())
    raw = bytearray(path.read_bytes())
    info = next(
        i for i in zipfile.ZipFile(path).infolist() if i.filename == "xl/worksheets/sheet1.xml"
    )
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    raw[start + 10] ^= 0xFF
    (tmp_path / "bad.xlsx").write_bytes(bytes(raw))
    with pytest.raises(formats.FormatError, match=r"^bad.xlsx: a damaged"):
        formats.read(tmp_path / "bad.xlsx")


def test_a_triple_s_zip_upload_is_checked_the_same_way(tmp_path: Path) -> None:
    path = tmp_path / "pair.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("survey.sss", "<sss/>")
        z.writestr("survey.asc", b" " * (8 << 20))
    raw = bytearray(path.read_bytes())
    for info in zipfile.ZipFile(path).infolist():  # claim 10 bytes in both headers
        if info.filename == "survey.asc":
            struct.pack_into("<I", raw, info.header_offset + 22, 10)
    cd = raw.rfind(b"PK\x01\x02survey.asc"[:4], 0)
    while cd >= 0:
        if raw[cd + 46 : cd + 56] == b"survey.asc":
            struct.pack_into("<I", raw, cd + 24, 10)
        cd = raw.rfind(b"PK\x01\x02", 0, cd)
    with (
        pytest.raises(
            formats.FormatError, match="member survey.asc expands past its declared 10 B"
        ),
        uploads.staged_upload("pair.zip", bytes(raw)),
    ):
        pass


def test_parquet_over_the_uncompressed_cap_is_refused_from_its_footer(
    tmp_path: Path, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "wide.parquet"
    pl.DataFrame({"response_id": [f"R{i:06d}" + "x" * 200 for i in range(5000)]}).write_parquet(
        path, use_pyarrow=True, pyarrow_options={"use_dictionary": False}, compression="zstd"
    )
    assert path.stat().st_size < 100_000  # compresses well; the footer knows the real size
    with pytest.raises(formats.FormatError) as refused:
        formats.read_parquet(path, max_uncompressed=100_000)
    assert str(refused.value).startswith("wide.parquet: holds 1.0 MB uncompressed")
    assert str(refused.value).endswith("over the 97.7 KB uncompressed limit")
    assert formats.read_parquet(path).frame.height == 5000


def test_parquet_cells_are_capped_before_run_length_encoding_expands(tmp_path: Path) -> None:
    path = tmp_path / "rle.parquet"
    pl.DataFrame({f"c{i}": [0] * 20_000 for i in range(50)}).write_parquet(path)
    assert path.stat().st_size < 50_000
    with pytest.raises(
        formats.FormatError,
        match=r"^rle.parquet: 20,000 rows x 50 columns, over the 999,999 cell limit$",
    ):
        formats.read_parquet(path, max_cells=999_999)


def test_a_damaged_parquet_footer_is_one_cli_line(
    tmp_path: Path, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cut.parquet"
    pl.DataFrame({"response_id": ["R1", "R2"]}).write_parquet(path)
    path.write_bytes(path.read_bytes()[:-20])
    assert cli.main(["import", str(path), "--wave", "2026-Q4", "--data", str(root)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cut.parquet: not a readable Parquet file" in err
