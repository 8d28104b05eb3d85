"""``cx.core.export`` is the one writer of CSV and XLSX files: no other module of ``cx`` (nor a
screen, nor the app's entry points) writes them, so no file leaves the app without its
formulas neutralised. Parquet, JSON, PDF and PowerPoint are other formats and are not concerned."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WRITER = ROOT / "cx" / "core" / "export.py"
WRITES = re.compile(
    r"\.write_csv\(|\.write_excel\(|\bto_csv\(|\bto_excel\(|\bWorkbook\(|\bcsv\.(?:writer|DictWriter)\("
)
ALLOWED: dict[str, str] = {}
"""Path (from the repository root) → why that module may write CSV or XLSX itself. Empty: the
dev-only speed harness (cx/speed) writes no CSV or XLSX either, so it needs no exception."""


def _sources() -> list[Path]:
    files = [*(ROOT / "cx").rglob("*.py"), *(ROOT / "screens").glob("*.py")]
    files += [ROOT / name for name in ("app.py", "dashboard.py") if (ROOT / name).exists()]
    return sorted(f for f in files if f != WRITER and "__pycache__" not in f.parts)


def test_the_pattern_catches_every_way_of_writing_a_spreadsheet() -> None:
    for line in (
        "frame.write_csv(path)",
        "df.write_excel(target, worksheet='x')",
        "pdf.to_csv(buffer, index=False)",
        "pdf.to_excel(buffer)",
        "book = xlsxwriter.Workbook(buffer)",
        "openpyxl.Workbook()",
        "out = csv.writer(fh)",
        "csv.DictWriter(fh, fields)",
    ):
        assert WRITES.search(line), line
    assert not WRITES.search("frame.write_parquet(path); pl.read_csv(path)")


def test_the_export_module_is_the_one_csv_and_xlsx_writer() -> None:
    assert WRITES.search(WRITER.read_text(encoding="utf-8"))  # the writer is where we think
    sources = _sources()
    assert len(sources) > 100 and ROOT / "cx" / "ui" / "components.py" in sources
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sources
        if str(path.relative_to(ROOT)) not in ALLOWED
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if WRITES.search(line)
    ]
    assert offenders == [], "write CSV / XLSX through cx.core.export:\n" + "\n".join(offenders)


def test_every_allowed_exception_still_exists_and_says_why() -> None:
    for path, reason in ALLOWED.items():
        assert (ROOT / path).exists() and reason.strip(), path
