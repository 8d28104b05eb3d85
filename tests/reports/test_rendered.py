"""Reports looked at: the demo's report for ceo, es.manager and madrid.manager, every PDF page
(pdftoppm) and every slide (the deck converted by LibreOffice, then pdftoppm) rendered to PNG and
kept for a person to look at, then checked: no page or slide is near-empty, one slide per section,
no text box or table overflows its box or its slide, no rendered word leaves its page or runs into
another, charts take at least half of the room under the header.

The PNGs go to ``$CX_ARTIFACTS/reports/`` (``/tmp/cx-artifacts/reports/`` under CI), else to a
pytest temporary folder printed by the fixture (``pytest -s``). Without ``soffice`` or ``pdftoppm``
the tests skip with the install line, and fail under ``CI=true`` (``.ci/run`` installs both).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE
from pptx.util import Emu
from sqlalchemy.engine import Engine

from cx import reports, store
from cx.core import data, users
from cx.core.filters import Filters
from cx.reports import layout
from cx.reports.model import Report

INSTALL = {
    "pdftoppm": "apt-get install -y --no-install-recommends poppler-utils",
    "pdftotext": "apt-get install -y --no-install-recommends poppler-utils",
    "soffice": "apt-get install -y --no-install-recommends libreoffice-impress",
}
DPI = 50
MIN_INK = 0.03
"""Smallest share of a page's pixels that are not white (before issue 17: 0.3 % on the cover's
stray footnote page, 1.7 % on the title slide, 2.4 % on the quotes page; now at least 5 %)."""
MIN_ROWS = 0.25
"""Smallest share of a page's pixel rows holding anything (a page filled only at its top is
near-empty: the two-alert page of a manager covered 20 % before issue 17)."""
PT_PER_EMU = 1 / 12700


def require(binary: str) -> str:
    """The binary's path; without it the test skips with the install line, or fails under CI."""
    found = shutil.which(binary)
    if found:
        return found
    message = f"{binary} not found: {INSTALL[binary]}"
    if os.environ.get("CI"):
        pytest.fail(f"{message} (.ci/run must install it)")
    pytest.skip(message)


def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get("CX_ARTIFACTS"):
        folder = Path(os.environ["CX_ARTIFACTS"]) / "reports"
    elif os.environ.get("CI"):
        folder = Path("/tmp/cx-artifacts/reports")
    else:
        folder = tmp_path_factory.getbasetemp() / "report-renders"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass(frozen=True)
class Rendered:
    user: str
    report: Report
    pdf: Path
    pptx: Path
    deck_pdf: Path
    pages: list[Path]
    slides: list[Path]


def render_pdf(pdf: Path, prefix: Path) -> list[Path]:
    for old in prefix.parent.glob(f"{prefix.name}-*.png"):
        old.unlink()
    subprocess.run(
        [require("pdftoppm"), "-png", "-r", str(DPI), str(pdf), str(prefix)],
        check=True,
        capture_output=True,
    )
    return sorted(prefix.parent.glob(f"{prefix.name}-*.png"))


@pytest.fixture(scope="session")
def plans_store(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """A store with three action plans (Madrid, Barcelona, Paris), so the plans page is there."""
    from cx.improve import plans

    engine = store.init(
        store.make_engine(f"sqlite:///{tmp_path_factory.mktemp('store') / 'cx.db'}")
    )
    ceo = users.get("ceo")
    assert ceo is not None
    with store.session(engine) as s:
        for title, owner, country, agency, late in (
            ("Clean the Madrid lobby every morning", "madrid.manager", "ES", "Madrid", True),
            ("Call back every detractor within 48 h", "es.manager", "ES", "Barcelona", False),
            ("Shorter queues at the Paris counter", "fr.manager", "FR", "Paris", False),
        ):
            plans.create_plan(
                s,
                user=ceo,
                title=title,
                owner=owner,
                region="Europe",
                country=country,
                agency=agency,
                due_date=date.today() + timedelta(days=-10 if late else 30),
            )
    return engine


class Renders:
    """The checks, once per user (a class per user, so the renders run in parallel)."""

    user = ""

    @pytest.fixture(scope="class")
    def rendered(
        self,
        demo_root: Path,
        plans_store: Engine,
        tmp_path_factory: pytest.TempPathFactory,
    ) -> Rendered:
        soffice, _ = require("soffice"), require("pdftoppm")
        user = users.get(self.user)
        assert user is not None
        frame = data.scan_responses(demo_root)
        report = reports.build_sections(
            frame, user.scope, Filters(), engine=plans_store, user_name=user.name
        )
        work = tmp_path_factory.mktemp(f"render-{self.user}")
        pdf = reports.write_pdf(report, work / f"{self.user}.pdf")
        pptx = reports.write_pptx(report, work / f"{self.user}.pptx")
        subprocess.run(
            [
                soffice,
                f"-env:UserInstallation=file://{work / 'libreoffice'}",  # no shared profile lock
                "--headless",
                "--convert-to",
                "pdf",
                "--outdir",
                str(work / "deck"),
                str(pptx),
            ],
            check=True,
            capture_output=True,
            timeout=180,
        )
        deck_pdf = work / "deck" / f"{self.user}.pdf"
        folder = artifacts(tmp_path_factory)
        print(f"report renders of {self.user}: {folder}")
        return Rendered(
            self.user,
            report,
            pdf,
            pptx,
            deck_pdf,
            render_pdf(pdf, folder / f"{self.user}-page"),
            render_pdf(deck_pdf, folder / f"{self.user}-slide"),
        )

    def test_one_page_and_one_slide_per_section_after_the_cover(self, rendered: Rendered) -> None:
        sections = rendered.report.sections
        assert len(rendered.pages) == len(sections) + 1  # nothing spilled onto an extra page
        assert len(rendered.slides) == len(sections) + 1
        deck = Presentation(str(rendered.pptx))
        assert len(deck.slides) == len(sections) + 1
        for slide, section in zip(list(deck.slides)[1:], sections, strict=True):
            first = next(sh for sh in slide.shapes if sh.has_text_frame)
            assert first.text_frame.text == section.heading
        starts = [page.splitlines()[0] for page in pdf_pages_text(rendered.pdf)[1:]]
        assert starts == [s.heading for s in sections]

    def test_no_page_or_slide_is_near_empty(self, rendered: Rendered) -> None:
        for png in [*rendered.pages, *rendered.slides]:
            ink, rows = ink_of(png)
            assert ink >= MIN_INK and rows >= MIN_ROWS, (
                f"{png.name} is near-empty: {ink:.1%} ink, {rows:.0%} of its height used"
            )

    def test_no_text_box_or_table_overflows_its_slide(self, rendered: Rendered) -> None:
        deck = Presentation(str(rendered.pptx))
        width, height = deck.slide_width * PT_PER_EMU, deck.slide_height * PT_PER_EMU
        for n, slide in enumerate(deck.slides, start=1):
            for shape in slide.shapes:
                box = box_of(shape)
                assert box.x >= 0 and box.y >= 0, f"slide {n}: {shape.name} starts off the slide"
                assert box.right <= width + 0.5 and box.bottom <= height + 0.5, (
                    f"slide {n}: {shape.name} ends off the slide ({box})"
                )
                if shape.has_text_frame and shape.text_frame.text:
                    need = text_frame_height(shape.text_frame, box.w)
                    assert need <= box.h + 0.5, (
                        f"slide {n}: {shape.text_frame.text[:40]!r} needs {need:.0f} pt in a "
                        f"{box.h:.0f} pt box"
                    )
                if shape.has_table:
                    table = shape.table
                    for row in table.rows:
                        for c, cell in enumerate(row.cells):
                            col_w = table.columns[c].width * PT_PER_EMU
                            need = cell_height(cell, col_w)
                            assert need <= row.height * PT_PER_EMU + 0.5, (
                                f"slide {n}: cell {cell.text!r} needs {need:.0f} pt, its row has "
                                f"{row.height * PT_PER_EMU:.0f}"
                            )

    def test_rendered_words_stay_on_their_page_and_never_run_into_each_other(
        self, rendered: Rendered
    ) -> None:
        for kind, pdf, fmt in (
            ("report page", rendered.pdf, layout.PDF),
            ("slide", rendered.deck_pdf, layout.SLIDE),
        ):
            for n, (page_w, page_h, words) in enumerate(pdf_words(pdf), start=1):
                assert (round(page_w), round(page_h)) == (round(fmt.width), round(fmt.height))
                edge = fmt.margin / 2
                for w in words:
                    inside = (
                        edge <= w.x0 and w.x1 <= page_w - edge and w.y1 <= page_h - fmt.margin / 4
                    )
                    assert inside, f"{kind} {n}: {w.text!r} runs off the page ({w})"
                clash = first_overlap(words)
                assert clash is None, f"{kind} {n}: {clash[0]!r} runs into {clash[1]!r}"

    def test_charts_take_at_least_half_the_room_under_the_header(self, rendered: Rendered) -> None:
        deck = Presentation(str(rendered.pptx))
        for slide, section in zip(list(deck.slides)[1:], rendered.report.sections, strict=True):
            pictures = [sh for sh in slide.shapes if sh.shape_type == MSO_SHAPE_TYPE.PICTURE]
            assert len(pictures) == len(section.charts)
            if not pictures:
                continue
            body = layout.plan_section(section, layout.SLIDE).body
            assert body is not None
            area = sum(box_of(p).w * box_of(p).h for p in pictures)
            wide = max(box_of(p).w for p in pictures)
            assert wide >= 0.45 * body.w and area >= 0.35 * body.w * body.h, (
                f"{section.heading}: charts cover {area / (body.w * body.h):.0%} of the room"
            )

    def test_type_is_never_below_the_projector_minimum(self, rendered: Rendered) -> None:
        deck = Presentation(str(rendered.pptx))
        sizes = {
            run.font.size.pt
            for slide in deck.slides
            for shape in slide.shapes
            for frame in frames_of(shape)
            for para in frame.paragraphs
            for run in para.runs
            if run.text.strip()
        }
        assert min(sizes) >= layout.SLIDE.note * 0.85 - 0.01
        table_sizes = {
            run.font.size.pt
            for slide in deck.slides
            for shape in slide.shapes
            if shape.has_table
            for row in shape.table.rows
            for cell in row.cells
            for para in cell.text_frame.paragraphs
            for run in para.runs
        }
        assert min(table_sizes) >= layout.SLIDE.table[1]
        for _, page_h, words in pdf_words(rendered.pdf):
            body = [w for w in words if w.y1 < page_h - layout.PDF.footer]  # above the footer
            # a word's box is its font's ascent + descent: 1.16 of its size for DejaVu Sans
            assert min(w.y1 - w.y0 for w in body) >= 1.16 * layout.PDF.note * 0.85 - 0.2


class TestCeo(Renders):
    user = "ceo"


class TestSpainManager(Renders):
    user = "es.manager"


class TestMadridManager(Renders):
    user = "madrid.manager"


# ---------------------------------------------------------------- helpers


def ink_of(png: Path) -> tuple[float, float]:
    """Share of pixels that are not white, and share of pixel rows that hold any."""
    grey = np.asarray(Image.open(png).convert("L"))
    marked = grey < 235
    return float(marked.mean()), float(marked.any(axis=1).mean())


def box_of(shape: object) -> layout.Box:
    return layout.Box(
        shape.left * PT_PER_EMU,  # type: ignore[attr-defined]
        shape.top * PT_PER_EMU,  # type: ignore[attr-defined]
        shape.width * PT_PER_EMU,  # type: ignore[attr-defined]
        shape.height * PT_PER_EMU,  # type: ignore[attr-defined]
    )


def frames_of(shape: object) -> list[object]:
    if getattr(shape, "has_table", False):
        return [c.text_frame for row in shape.table.rows for c in row.cells]  # type: ignore[attr-defined]
    return [shape.text_frame] if getattr(shape, "has_text_frame", False) else []  # type: ignore[attr-defined]


def paragraph_height(para: object, width: float) -> float:
    """Height (pt) of one paragraph wrapped in ``width`` pt, measured from the fonts without the
    writer's room to spare, at the paragraph's exact line spacing."""
    runs = [r for r in para.runs if r.text]  # type: ignore[attr-defined]
    if not runs:
        return 0.0
    given = runs[0].font.size or para.font.size  # type: ignore[attr-defined]
    size = given.pt if given is not None else 18.0  # PowerPoint's default size
    lead = runs[0].text.strip() if len(runs) > 1 and runs[0].font.bold else ""
    text = "".join(r.text for r in (runs[1:] if lead else runs))
    bold = bool(runs[-1].font.bold)
    lines = layout.wrap(text, size, width, bold=bold, lead=lead)
    spacing = para.line_spacing  # type: ignore[attr-defined]
    step = spacing.pt if isinstance(spacing, Emu) else size * layout.LEADING
    return len(lines) * step


def text_frame_height(frame: object, width: float) -> float:
    inner = width - (frame.margin_left + frame.margin_right) * PT_PER_EMU  # type: ignore[attr-defined]
    pads = (frame.margin_top + frame.margin_bottom) * PT_PER_EMU  # type: ignore[attr-defined]
    return pads + sum(paragraph_height(p, inner) for p in frame.paragraphs)  # type: ignore[attr-defined]


def cell_height(cell: object, width: float) -> float:
    inner = width - (cell.margin_left + cell.margin_right) * PT_PER_EMU  # type: ignore[attr-defined]
    pads = (cell.margin_top + cell.margin_bottom) * PT_PER_EMU  # type: ignore[attr-defined]
    return pads + sum(paragraph_height(p, inner) for p in cell.text_frame.paragraphs)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Word:
    text: str
    x0: float
    y0: float
    x1: float
    y1: float


_PAGE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', re.S)
_WORD = re.compile(
    r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>'
)


def pdf_words(pdf: Path) -> list[tuple[float, float, list[Word]]]:
    """Every page's size and its words with their boxes (pdftotext -bbox), in points."""
    out = subprocess.run(
        [require("pdftotext"), "-bbox", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    return [
        (
            float(w),
            float(h),
            [
                Word(t, float(a), float(b), float(c), float(d))
                for a, b, c, d, t in _WORD.findall(body)
            ],
        )
        for w, h, body in _PAGE.findall(out)
    ]


def pdf_pages_text(pdf: Path) -> list[str]:
    from pypdf import PdfReader

    return [p.extract_text().strip() for p in PdfReader(str(pdf)).pages]


def first_overlap(words: list[Word], share: float = 0.25) -> tuple[str, str] | None:
    """Two words whose boxes overlap across and by more than ``share`` of the lower one's height
    (a word's box is its font's full height, so lines set solid touch a little), if any."""
    ordered = sorted(words, key=lambda w: w.y0)
    for i, a in enumerate(ordered):
        for b in ordered[i + 1 :]:
            if b.y0 >= a.y1:
                break
            wide = min(a.x1, b.x1) - max(a.x0, b.x0)
            high = min(a.y1, b.y1) - max(a.y0, b.y0)
            if wide > 1 and high > share * min(a.y1 - a.y0, b.y1 - b.y0):
                return a.text, b.text
    return None
