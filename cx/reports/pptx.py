"""The PowerPoint deck (python-pptx): a title slide, then one 16:9 slide per section with native,
editable tables and the charts as images."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cx.reports.images import CHART_WIDTH, chart_png, png_size
from cx.reports.layout import BRAND, INK, MUTED, PT_CHAR_MM, TINT, col_weights
from cx.reports.model import Report, Table, filters_label, scope_label

# python-pptx is imported where a deck is written (it is slow to load and rarely needed); this module's
# name does not hide it: imports are absolute, so ``pptx`` is always python-pptx.


def _pptx_text(
    slide: Any,
    text: str,
    left: float,
    top: float,
    width: float,
    height: float,
    *,
    size: int,
    bold: bool = False,
    color: tuple[int, int, int] = INK,
    fill: tuple[int, int, int] | None = None,
) -> None:
    from pptx.dml.color import RGBColor
    from pptx.util import Inches, Pt

    box = slide.shapes.add_textbox(Inches(left), Inches(top), Inches(width), Inches(height))
    if fill:
        box.fill.solid()
        box.fill.fore_color.rgb = RGBColor(*fill)
    frame = box.text_frame
    frame.word_wrap = True
    para = frame.paragraphs[0]
    para.text = text
    para.font.size = Pt(size)
    para.font.bold = bold
    para.font.color.rgb = RGBColor(*color)


def pptx_row_height(table: Table) -> float:
    """Inches per table row: 12 pt rows up to 10 rows, 10 pt rows beyond (14 rows fit a slide)."""
    return 0.34 if table.frame.height < 10 else 0.3


def _pptx_table(slide: Any, table: Table, left: float, top: float, width: float) -> None:
    from pptx.dml.color import RGBColor
    from pptx.util import Inches, Pt

    df = table.frame
    rows, cols = df.height + 1, len(df.columns)
    row_h = pptx_row_height(table)
    shape = slide.shapes.add_table(
        rows, cols, Inches(left), Inches(top), Inches(width), Inches(row_h * rows)
    )
    grid = shape.table
    for j, name in enumerate(df.columns):
        grid.cell(0, j).text = name
    for i, values in enumerate(df.iter_rows(), start=1):
        for j, v in enumerate(values):
            grid.cell(i, j).text = "" if v is None else str(v)
    for i in range(rows):
        for j in range(cols):
            para = grid.cell(i, j).text_frame.paragraphs[0]
            para.font.size = Pt(12 if rows <= 10 else 10)
            if i == 0:
                para.font.bold = True
                para.font.color.rgb = RGBColor(255, 255, 255)
    if table.hidden_rows:
        _pptx_text(
            slide,
            f"+ {table.hidden_rows} more row(s) in the app",
            left,
            top + row_h * rows + 0.05,
            width,
            0.3,
            size=10,
            color=MUTED,
        )


def _pptx_highlights(
    slide: Any, lines: Sequence[str], left: float, top: float, width: float
) -> None:
    """The summary: one paragraph per section, its title in brand colour, then its takeaway."""
    from pptx.dml.color import RGBColor
    from pptx.util import Inches, Pt

    box = slide.shapes.add_textbox(Inches(left), Inches(top), Inches(width), Inches(7.2 - top))
    frame = box.text_frame
    frame.word_wrap = True
    size = 15 if len(lines) <= 8 else 13
    for i, line in enumerate(lines):
        title, _, text = line.partition("|")
        para = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        para.space_after = Pt(6)
        head = para.add_run()
        head.text = f"{title}: "
        head.font.bold = True
        head.font.size = Pt(size)
        head.font.color.rgb = RGBColor(*BRAND)
        body = para.add_run()
        body.text = text
        body.font.size = Pt(size)
        body.font.color.rgb = RGBColor(*INK)


def write_pptx(report: Report, out: Path) -> Path:
    """The deck: a title slide, then one slide per agenda screen with native tables and chart images."""
    ctx, sections = report.ctx, report.sections
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    deck.slide_width, deck.slide_height = Inches(13.333), Inches(7.5)
    blank = deck.slide_layouts[6]
    title_slide = deck.slides.add_slide(blank)
    _pptx_text(title_slide, "CX Review report", 0.8, 2.3, 11.5, 1.0, size=40, bold=True)
    _pptx_text(
        title_slide,
        f"{scope_label(ctx.scope)} · {ctx.wave}",
        0.8,
        3.4,
        11.5,
        0.7,
        size=24,
        color=BRAND,
    )
    _pptx_text(
        title_slide,
        f"{filters_label(ctx.filters)} · generated {ctx.generated_at:%Y-%m-%d}",
        0.8,
        4.2,
        11.5,
        0.5,
        size=14,
        color=MUTED,
    )
    if report.skipped:
        _pptx_text(
            title_slide,
            "Not included (error while building): " + "; ".join(report.skipped),
            0.8,
            5.2,
            11.5,
            1.0,
            size=11,
            color=MUTED,
        )
    for section in sections:
        slide = deck.slides.add_slide(blank)
        _pptx_text(slide, section.title, 0.5, 0.3, 12.3, 0.7, size=30, bold=True)
        _pptx_text(slide, section.takeaway, 0.5, 1.05, 12.3, 0.8, size=16, fill=TINT)
        top = 2.05
        if section.figures:
            w = 12.3 / len(section.figures)
            for i, fig in enumerate(section.figures):
                x = 0.5 + i * w
                _pptx_text(slide, fig.label, x, top, w - 0.2, 0.4, size=14, bold=True, color=MUTED)
                _pptx_text(slide, fig.value, x, top + 0.4, w - 0.2, 0.8, size=40, bold=True)
                _pptx_text(slide, fig.note, x, top + 1.25, w - 0.2, 0.4, size=12, color=MUTED)
            top += 1.85
        avail_h = 7.2 - top
        chart_w = 12.3
        if section.tables and section.charts:
            need = max(sum(col_weights(t.frame)) * PT_CHAR_MM * 12 / 25.4 for t in section.tables)
            chart_w = 12.3 - 0.3 - min(max(need, 4.5), 7.3)
        images = [
            chart_png(c, width=int(chart_w * 80) if section.tables else CHART_WIDTH)
            for c in section.charts
        ]
        y = top
        for png in images:
            w_px, h_px = png_size(png)
            w = chart_w
            h = w * h_px / w_px
            if h > avail_h / len(images):
                h = avail_h / len(images)
                w = h * w_px / h_px
            slide.shapes.add_picture(io.BytesIO(png), Inches(0.5), Inches(y), Inches(w), Inches(h))
            y += h + 0.1
        x = 0.5 + chart_w + 0.3 if images else 0.5
        tw = 12.3 - (chart_w + 0.3) if images else 12.3
        ty = top
        for table in section.tables:
            _pptx_text(slide, table.title, x, ty, tw, 0.35, size=14, bold=True)
            _pptx_table(slide, table, x, ty + 0.4, tw)
            ty += 0.4 + pptx_row_height(table) * (table.frame.height + 1) + 0.45
        if section.highlights:
            _pptx_highlights(slide, section.highlights, 0.5, top, 12.3)
        if section.notes:
            _pptx_text(slide, " ".join(section.notes), 0.5, 6.85, 12.3, 0.4, size=11, color=MUTED)
    deck.save(str(out))
    return out
