"""Readers for untrusted survey exports: CSV, Excel .xlsx, SPSS .sav, Triple-S and Parquet.

Every reader returns a :class:`Source` (the raw table plus SPSS/Triple-S value labels) or raises
:class:`FormatError` with a one-line reason. The file type is decided by content (magic bytes),
never by the name.

Untrusted-file limits (chosen: hard caps, checked before parsing, no subprocess):
the file size is capped (``MAX_BYTES``) before a byte is read, the longest CSV line is capped
(``MAX_LINE_BYTES``), the row count is capped (``MAX_ROWS``), an archive's uncompressed size is
capped while it is inflated, member by member with a running total (:func:`check_zip`: zip bombs,
whatever the headers declare), a Parquet file's uncompressed size and row count are checked from
its footer before a page is read, and XML is parsed by defusedxml with entities and DTDs forbidden
(billion laughs, external entities). Parse time is therefore bounded by the byte cap.
"""

from __future__ import annotations

import csv
import io
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import polars as pl

MAX_BYTES = 512 * 1024 * 1024
MAX_LINE_BYTES = 1024 * 1024
MAX_ROWS = 5_000_000
MAX_XLSX_UNCOMPRESSED = 1024 * 1024 * 1024
MAX_PARQUET_UNCOMPRESSED = 2 * 1024 * 1024 * 1024
MAX_ZIP_MEMBERS = 10_000
MAX_CELLS = 100_000_000
DELIMITERS = (",", ";", "\t", "|")
KINDS = ("csv", "xlsx", "sav", "triple-s", "parquet")


class FormatError(ValueError):
    """The file cannot be read safely; the message is one line naming the file and the reason."""


@dataclass
class Source:
    """A parsed file: its columns as read, value labels per column, and how it was read."""

    frame: pl.DataFrame
    kind: str
    labels: dict[str, dict[str, str]] = field(default_factory=dict)
    detail: str = ""


def human(n: int) -> str:
    """Bytes as a short text: ``human(1536) == '1.5 KB'``."""
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def check_size(path: Path, max_bytes: int = MAX_BYTES) -> int:
    """Refuse empty or oversized files before reading them."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise FormatError(f"{path.name}: cannot be read ({exc.strerror})") from None
    if size == 0:
        raise FormatError(f"{path.name}: the file is empty")
    if size > max_bytes:
        raise FormatError(
            f"{path.name}: the file is {human(size)}, over the {human(max_bytes)} import limit"
        )
    return size


def sniff(path: Path) -> str:
    """The file's kind from its first bytes: parquet, xlsx, sav, triple-s or csv."""
    with path.open("rb") as fh:
        head = fh.read(4096)
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"$FL2") or head.startswith(b"$FL3"):
        return "sav"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as z:
                if any(n.startswith("xl/") for n in z.namelist()):
                    return "xlsx"
        except zipfile.BadZipFile:
            raise FormatError(
                f"{path.name}: a damaged or truncated zip archive, not a readable .xlsx"
            ) from None
        raise FormatError(f"{path.name}: a zip archive that is not an Excel .xlsx workbook")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise FormatError(f"{path.name}: an old binary Excel .xls file; save it as .xlsx or CSV")
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"<?xml") or text.startswith(b"<sss") or text.startswith(b"<!DOCTYPE"):
        return "triple-s"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FormatError(f"{path.name}: UTF-16 text; save it as UTF-8 (or cp1252) CSV")
    if b"\x00" in head:
        raise FormatError(
            f"{path.name}: binary content (NUL bytes), not a CSV, Excel, SPSS, Triple-S or Parquet file"
        )
    return "csv"


# ---------------------------------------------------------------- CSV


def decode(raw: bytes, name: str) -> tuple[bytes, str]:
    """UTF-8 bytes and the detected encoding: UTF-8 (with or without BOM), else cp1252, else Latin-1."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
        encoding = "utf-8-sig"
    else:
        encoding = "utf-8"
    try:
        raw.decode("utf-8")
        return raw, encoding
    except UnicodeDecodeError as exc:
        if encoding == "utf-8-sig":
            raise FormatError(
                f"{name}: starts with a UTF-8 BOM but byte {exc.start} is not UTF-8"
            ) from None
    for fallback in ("cp1252", "latin-1"):
        try:
            return raw.decode(fallback).encode("utf-8"), fallback
        except UnicodeDecodeError:
            continue
    raise FormatError(
        f"{name}: text in an unknown encoding"
    )  # latin-1 decodes anything; unreachable


def detect_delimiter(header: str) -> str:
    """The candidate delimiter that splits the header line into the most fields."""
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _longest_line(raw: bytes) -> tuple[int, int]:
    """(length, 1-based line number) of the longest line, vectorised over the bytes."""
    buf = np.frombuffer(raw, dtype=np.uint8)
    ends = np.flatnonzero(buf == 10)
    bounds = np.concatenate(([-1], ends, [len(buf)]))
    lengths = np.diff(bounds) - 1
    i = int(lengths.argmax())
    return int(lengths[i]), i + 1


def read_csv(
    path: Path,
    *,
    delimiter: str | None = None,
    max_bytes: int = MAX_BYTES,
    max_line: int = MAX_LINE_BYTES,
    max_rows: int = MAX_ROWS,
) -> Source:
    """Read a delimited text file as all-string columns (encoding and delimiter detected)."""
    check_size(path, max_bytes)
    raw = path.read_bytes()
    longest, line = _longest_line(raw)
    if longest > max_line:
        raise FormatError(
            f"{path.name}: line {line} is {human(longest)} long, over the {human(max_line)} line limit"
        )
    data, encoding = decode(raw, path.name)
    del raw
    first = data.split(b"\n", 1)[0].decode("utf-8").rstrip("\r")
    if not first.strip():
        raise FormatError(f"{path.name}: the first line (the header) is empty")
    sep = delimiter or detect_delimiter(first)
    _check_last_line(data, first, sep, path.name)
    try:
        frame = pl.read_csv(
            io.BytesIO(data),
            separator=sep,
            infer_schema=False,
            quote_char='"',
            n_rows=max_rows + 1,
            raise_if_empty=True,
        )
    except pl.exceptions.NoDataError:
        raise FormatError(f"{path.name}: no header and no rows") from None
    except (pl.exceptions.ComputeError, pl.exceptions.ShapeError) as exc:
        reason = str(exc).strip().splitlines()[0][:160]
        raise FormatError(
            f"{path.name}: not a consistent {_sep_name(sep)}-delimited file ({reason})"
        ) from None
    if frame.height > max_rows:
        raise FormatError(f"{path.name}: more than {max_rows:,} rows, over the import limit")
    frame = frame.rename({c: c.strip() for c in frame.columns})
    return Source(frame, "csv", detail=f"CSV, {encoding}, delimiter {_sep_name(sep)}")


def _check_last_line(data: bytes, header: str, sep: str, name: str) -> None:
    """A file cut short (no final newline, last record with fewer fields than the header) is refused."""
    if data.endswith(b"\n") or b"\n" not in data.rstrip(b"\r"):
        return
    last = data.rsplit(b"\n", 1)[1].decode("utf-8", "replace").rstrip("\r")
    want = len(next(csv.reader([header], delimiter=sep)))
    try:
        got = len(next(csv.reader([last], delimiter=sep)))
    except (csv.Error, StopIteration):
        got = 0
    if got < want:
        line = data.count(b"\n") + 1
        raise FormatError(
            f"{name}: line {line} stops after {got} of {want} fields with no end of line: the file is truncated"
        )


def _sep_name(sep: str) -> str:
    return {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}.get(sep, repr(sep))


# ---------------------------------------------------------------- Excel


def _member_size(name: str, fh: BinaryIO, info: zipfile.ZipInfo, budget: int) -> int:
    """Inflate one archive member from its raw bytes, counting the output; stop past ``budget``.

    Counts what the data really expands to, whatever the headers declare (a reader trusting the
    declared size can be fed a bomb); the CRC is checked too, so a corrupt member is refused.
    """
    fh.seek(info.header_offset)
    header = fh.read(30)
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"bad local header for {info.filename}")
    fh.seek(
        info.header_offset
        + 30
        + int.from_bytes(header[26:28], "little")
        + int.from_bytes(header[28:30], "little")
    )
    if info.flag_bits & 0x1:
        raise FormatError(f"{name}: archive member {info.filename} is encrypted")
    if info.compress_type == zipfile.ZIP_STORED:
        inflate = None
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        inflate = zlib.decompressobj(-15)
    else:
        raise FormatError(f"{name}: archive member {info.filename} uses an unusual compression")
    left, size, crc = info.compress_size, 0, 0
    while left > 0:
        chunk = fh.read(min(left, 1 << 16))
        if not chunk:
            raise zipfile.BadZipFile(f"{info.filename} is truncated")
        left -= len(chunk)
        piece = chunk if inflate is None else inflate.decompress(chunk, 1 << 20)
        while True:
            size += len(piece)
            crc = zlib.crc32(piece, crc)
            if size > budget:
                return size
            if inflate is None or not inflate.unconsumed_tail:
                break
            piece = inflate.decompress(inflate.unconsumed_tail, 1 << 20)
    if inflate is not None:
        tail = inflate.flush()
        size += len(tail)
        crc = zlib.crc32(tail, crc)
    if size != info.file_size or crc != info.CRC:
        raise zipfile.BadZipFile(f"{info.filename} does not match its header")
    return size


def check_zip(path: Path, max_uncompressed: int = MAX_XLSX_UNCOMPRESSED) -> int:
    """Refuse an archive that expands past ``max_uncompressed`` (declared or actual) or is corrupt.

    The declared sizes are summed first (a bomb that admits its size costs nothing to refuse);
    then each member is inflated in chunks with a running count that stops as soon as it passes
    the member's declared size (so the total stays under the cap and a lying header is caught
    after at most one chunk too many); the archive is never decompressed whole before the check.
    """
    cap = f"the {human(max_uncompressed)} uncompressed limit"
    try:
        with zipfile.ZipFile(path) as z, path.open("rb") as fh:
            infos = z.infolist()
            if len(infos) > MAX_ZIP_MEMBERS:
                raise FormatError(
                    f"{path.name}: {len(infos):,} archive members, over the {MAX_ZIP_MEMBERS:,} member limit"
                )
            declared = sum(i.file_size for i in infos)
            if declared > max_uncompressed:
                raise FormatError(
                    f"{path.name}: declares {human(declared)} uncompressed, over {cap}"
                )
            total = 0
            for info in infos:  # each member may expand to its declared size, no further
                size = _member_size(
                    path.name, fh, info, min(info.file_size, max_uncompressed - total)
                )
                if size > info.file_size:
                    raise FormatError(
                        f"{path.name}: member {info.filename} expands past its declared "
                        f"{human(info.file_size)} (a zip bomb?); refused before {cap}"
                    )
                total += size
    except zipfile.BadZipFile as exc:
        raise FormatError(f"{path.name}: a damaged or truncated archive ({exc})") from None
    except zlib.error:
        raise FormatError(f"{path.name}: a damaged archive (bad compressed data)") from None
    return total


def read_xlsx(
    path: Path,
    *,
    max_bytes: int = MAX_BYTES,
    max_rows: int = MAX_ROWS,
    max_uncompressed: int = MAX_XLSX_UNCOMPRESSED,
) -> Source:
    """Read the first sheet of an .xlsx workbook with calamine (fastexcel), archive checked first."""
    check_size(path, max_bytes)
    check_zip(path, max_uncompressed)
    try:
        frame = pl.read_excel(path, engine="calamine", sheet_id=1, infer_schema_length=0)
    except Exception as exc:  # fastexcel raises its own error types
        raise FormatError(
            f"{path.name}: not a readable .xlsx workbook ({exc.__class__.__name__})"
        ) from None
    if frame.height > max_rows:
        raise FormatError(f"{path.name}: more than {max_rows:,} rows, over the import limit")
    return Source(frame, "xlsx", detail="Excel .xlsx, first sheet")


# ---------------------------------------------------------------- SPSS


def read_sav(path: Path, *, max_bytes: int = MAX_BYTES, max_rows: int = MAX_ROWS) -> Source:
    """Read an SPSS .sav file; value labels are returned per column (applied after mapping)."""
    import pyreadstat

    check_size(path, max_bytes)
    try:
        df, meta = pyreadstat.read_sav(
            str(path), apply_value_formats=False, row_limit=max_rows + 1, output_format="polars"
        )
    except Exception as exc:  # pyreadstat raises ReadstatError / PyreadstatError
        raise FormatError(
            f"{path.name}: not a readable SPSS .sav file ({str(exc).splitlines()[0][:120]})"
        ) from None
    if df.height > max_rows:
        raise FormatError(f"{path.name}: more than {max_rows:,} rows, over the import limit")
    labels = {
        col: {_code(k): str(v) for k, v in mapping.items()}
        for col, mapping in (meta.variable_value_labels or {}).items()
    }
    return Source(df, "sav", labels=labels, detail=f"SPSS .sav, {len(labels)} labelled variables")


def _code(value: object) -> str:
    """A value-label code as the text its cell becomes: 3.0 -> '3'."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# ---------------------------------------------------------------- Triple-S


@dataclass(frozen=True)
class SssVariable:
    name: str
    kind: str  # single, multiple, quantity, character, logical, date, time
    start: int | None
    finish: int | None
    labels: dict[str, str]


def read_triple_s(
    path: Path,
    *,
    data_path: Path | None = None,
    max_bytes: int = MAX_BYTES,
    max_rows: int = MAX_ROWS,
) -> Source:
    """Read a Triple-S pair: XML metadata (``.sss``/``.xml``) and its fixed-width or CSV data file.

    The data file is ``data_path``, else the file with the metadata's stem and an ``.asc``,
    ``.dat`` or ``.csv`` suffix next to it. A DOCTYPE line is tolerated, entity declarations are not.
    """
    from defusedxml import ElementTree
    from defusedxml.common import DefusedXmlException

    check_size(path, min(max_bytes, 16 * 1024 * 1024))
    try:
        root = ElementTree.parse(
            str(path), forbid_dtd=False, forbid_entities=True, forbid_external=True
        ).getroot()
    except DefusedXmlException as exc:
        raise FormatError(
            f"{path.name}: XML with a DTD or entity declarations is refused ({exc.__class__.__name__})"
        ) from None
    except ElementTree.ParseError as exc:
        raise FormatError(f"{path.name}: not well-formed XML ({exc})") from None
    if root.tag != "sss":
        raise FormatError(
            f"{path.name}: XML whose root is <{root.tag}>, not a Triple-S <sss> document"
        )
    survey = root.find("survey")
    record = survey.find("record") if survey is not None else None
    if record is None:
        raise FormatError(f"{path.name}: Triple-S metadata without <survey><record>")
    fmt = (record.get("format") or root.findtext("format") or "fixed").strip().lower()
    skip = int(record.get("skip") or 0)
    variables: list[SssVariable] = []
    for v in record.findall("variable"):
        name = (v.findtext("name") or v.get("ident") or "").strip()
        pos = v.find("position")
        start = int(pos.get("start")) if pos is not None and pos.get("start") else None
        finish = (
            int(pos.get("finish") or pos.get("start"))
            if pos is not None and pos.get("start")
            else None
        )
        labels: dict[str, str] = {}
        values = v.find("values")
        if values is not None:
            for val in values.findall("value"):
                code = (val.get("code") or "").strip()
                if code:
                    labels[_code(float(code)) if _is_number(code) else code] = (
                        val.text or ""
                    ).strip()
        variables.append(
            SssVariable(name, (v.get("type") or "character").lower(), start, finish, labels)
        )
    if not variables:
        raise FormatError(f"{path.name}: Triple-S record without variables")
    # (name, first, last) per variable: a field number in CSV data, 1-based columns in fixed width.
    spans = [(v.name, v.start, v.finish or v.start) for v in variables if v.start is not None]
    if len(spans) < len(variables):
        raise FormatError(f"{path.name}: Triple-S variable without <position start=…>")
    href = record.get("href")
    data_file = data_path or (path.parent / Path(href).name if href else _sss_data_file(path))
    check_size(data_file, max_bytes)
    raw = data_file.read_bytes()
    text, _ = decode(raw, data_file.name)
    del raw
    if fmt == "csv":
        width = max(first for _, first, _ in spans)
        try:
            table = pl.read_csv(
                io.BytesIO(text),
                has_header=False,
                infer_schema=False,
                skip_rows=skip,
                n_rows=max_rows + 1,
            )
        except (
            pl.exceptions.ComputeError,
            pl.exceptions.ShapeError,
            pl.exceptions.NoDataError,
        ) as exc:
            raise FormatError(
                f"{data_file.name}: Triple-S CSV data does not match the metadata ({str(exc).splitlines()[0][:120]})"
            ) from None
        if table.width < width:
            raise FormatError(
                f"{data_file.name}: {table.width} fields per record, the metadata needs {width}"
            )
        frame = table.select(
            pl.col(table.columns[first - 1]).str.strip_chars().alias(name)
            for name, first, _ in spans
        )
    else:
        width = max(last for _, _, last in spans)
        lines = pl.DataFrame({"line": text.decode("utf-8").splitlines()[skip:]}).filter(
            pl.col("line").str.strip_chars() != ""
        )
        short = lines.filter(pl.col("line").str.len_chars() < width)
        if short.height:
            raise FormatError(
                f"{data_file.name}: {short.height} fixed-width record(s) shorter than {width} characters (truncated file?)"
            )
        frame = lines.select(
            pl.col("line").str.slice(first - 1, last - first + 1).str.strip_chars().alias(name)
            for name, first, last in spans
        )
    # Codes may be padded with zeros ("07"): normalise single-choice codes before labels apply.
    frame = frame.with_columns(pl.all().replace("", None)).with_columns(
        pl.coalesce(
            pl.col(v.name).cast(pl.Int64, strict=False).cast(pl.String), pl.col(v.name)
        ).alias(v.name)
        for v in variables
        if v.kind == "single"
    )
    if frame.height > max_rows:
        raise FormatError(f"{path.name}: more than {max_rows:,} rows, over the import limit")
    value_labels = {v.name: v.labels for v in variables if v.labels and v.kind == "single"}
    return Source(
        frame, "triple-s", labels=value_labels, detail=f"Triple-S, {fmt} data in {data_file.name}"
    )


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _sss_data_file(meta: Path) -> Path:
    for suffix in (".asc", ".dat", ".csv", ".txt"):
        candidate = meta.with_suffix(suffix)
        if candidate.exists():
            return candidate
    raise FormatError(
        f"{meta.name}: no Triple-S data file next to it ({meta.stem}.asc, .dat or .csv)"
    )


# ---------------------------------------------------------------- Parquet


def read_parquet(
    path: Path,
    *,
    max_bytes: int = MAX_BYTES,
    max_rows: int = MAX_ROWS,
    max_uncompressed: int = MAX_PARQUET_UNCOMPRESSED,
    max_cells: int = MAX_CELLS,
) -> Source:
    """Read a Parquet file once its footer passed the caps: rows, cells (rows x columns, which
    bounds what run-length and dictionary encodings expand to) and the row groups' total
    uncompressed size (which bounds what the compression expands to)."""
    import pyarrow.parquet as pq

    check_size(path, max_bytes)
    try:
        meta = pq.ParquetFile(path).metadata
        rows, columns = meta.num_rows, meta.num_columns
        size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    except Exception as exc:  # pyarrow raises several types for damaged footers
        raise FormatError(
            f"{path.name}: not a readable Parquet file ({exc.__class__.__name__}; truncated?)"
        ) from None
    if rows > max_rows:
        raise FormatError(f"{path.name}: more than {max_rows:,} rows, over the import limit")
    if size > max_uncompressed:
        raise FormatError(
            f"{path.name}: holds {human(size)} uncompressed, over the {human(max_uncompressed)} uncompressed limit"
        )
    if rows * columns > max_cells:
        raise FormatError(
            f"{path.name}: {rows:,} rows x {columns:,} columns, over the {max_cells:,} cell limit"
        )
    try:
        frame = pl.read_parquet(path)
    except Exception as exc:  # polars raises several types for damaged files
        raise FormatError(
            f"{path.name}: not a readable Parquet file ({exc.__class__.__name__}; truncated?)"
        ) from None
    if frame.height != rows:
        raise FormatError(f"{path.name}: {frame.height:,} rows read, the footer says {rows:,}")
    return Source(frame, "parquet", detail="Parquet")


def read(
    path: Path,
    *,
    delimiter: str | None = None,
    data_path: Path | None = None,
    max_bytes: int = MAX_BYTES,
) -> Source:
    """Read any supported file, its kind decided by content."""
    check_size(path, max_bytes)
    kind = sniff(path)
    if kind == "csv":
        return read_csv(path, delimiter=delimiter, max_bytes=max_bytes)
    if kind == "xlsx":
        return read_xlsx(path, max_bytes=max_bytes)
    if kind == "sav":
        return read_sav(path, max_bytes=max_bytes)
    if kind == "triple-s":
        return read_triple_s(path, data_path=data_path, max_bytes=max_bytes)
    return read_parquet(path, max_bytes=max_bytes)
