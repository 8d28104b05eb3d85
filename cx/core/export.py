"""The one writer for every CSV and XLSX file the app makes: screens, CLI, quarantine, API.

A spreadsheet opens a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or a
carriage return) as a formula, so a comment such as ``=HYPERLINK("http://evil", "click")``
would run in the analyst's Excel. Every text cell that starts like that is written with a
leading apostrophe (the OWASP "CSV injection" advice): it shows as text and means nothing.
Numbers, dates and booleans are written as they are.

>>> neutralise('=HYPERLINK("http://x")')
'\\'=HYPERLINK("http://x")'
>>> neutralise("friendly staff")
'friendly staff'
>>> csv_bytes(pl.DataFrame({"comment": ["@SUM(A1)", "ok"], "nps": [-1, 9]})).decode()
"comment,nps\\n'@SUM(A1),-1\\nok,9\\n"
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import polars as pl

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: str) -> str:
    """The text as a spreadsheet must show it: a formula-looking start gets an apostrophe."""
    return "'" + value if value.startswith(FORMULA_START) else value


def safe_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with every text cell neutralised (other column types untouched)."""
    text = [name for name, dtype in frame.schema.items() if dtype in (pl.String, pl.Categorical)]
    if not text:
        return frame
    pattern = "^[=+\\-@\t\r]"
    return frame.with_columns(
        pl.when(pl.col(c).cast(pl.String).str.contains(pattern))
        .then(pl.lit("'") + pl.col(c).cast(pl.String))
        .otherwise(pl.col(c).cast(pl.String))
        .alias(c)
        for c in text
    )


def _flat(frame: pl.DataFrame) -> pl.DataFrame:
    """Lists and structs as text, so CSV and XLSX can hold them."""
    nested = [n for n, d in frame.schema.items() if isinstance(d, (pl.List, pl.Array, pl.Struct))]
    if not nested:
        return frame
    return frame.with_columns(
        pl.col(c).struct.json_encode()
        if isinstance(frame.schema[c], pl.Struct)
        else pl.col(c).cast(pl.List(pl.String)).list.join(", ")
        for c in nested
    )


def csv_bytes(frame: pl.DataFrame) -> bytes:
    """The frame as UTF-8 CSV, formulas neutralised."""
    buffer = io.BytesIO()
    safe_frame(_flat(frame)).write_csv(buffer)
    return buffer.getvalue()


def xlsx_bytes(frame: pl.DataFrame, sheet: str = "data") -> bytes:
    """The frame as an XLSX workbook (xlsxwriter), formulas neutralised and never evaluated."""
    import xlsxwriter

    buffer = io.BytesIO()
    frame = safe_frame(_flat(frame))
    book = xlsxwriter.Workbook(
        buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    try:
        ws = book.add_worksheet(sheet[:31] or "data")
        bold = book.add_format({"bold": True})
        for col, name in enumerate(frame.columns):
            ws.write_string(0, col, name, bold)
        for row, values in enumerate(frame.iter_rows(), start=1):
            for col, value in enumerate(values):
                if value is None:
                    continue
                if isinstance(value, (bool, int, float)):
                    ws.write_number(row, col, float(value))
                else:
                    ws.write_string(row, col, str(value))
        ws.freeze_panes(1, 0)
    finally:
        book.close()
    return buffer.getvalue()


def write_file(frame: pl.DataFrame, target: str | Path) -> Path:
    """Write CSV or XLSX (by the suffix) atomically: a temporary file, then a rename."""
    target = Path(target)
    data = xlsx_bytes(frame) if target.suffix.lower() == ".xlsx" else csv_bytes(frame)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
