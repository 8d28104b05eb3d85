"""The PowerPoint deck (python-pptx): a title slide with the contents, then one 16:9 slide per
section of the report with native, editable text boxes and tables and the charts as images, each
placed from its measured plan (:mod:`cx.reports.layout`)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from cx.reports import layout
from cx.reports.images import png_for_box, png_size
from cx.reports.layout import FONT_NAME, LEADING, SLIDE, Block, Box
from cx.reports.model import Report

# python-pptx is imported where a deck is written (it is slow to load and rarely needed); this module's
# name does not hide it: imports are absolute, so ``pptx`` is always python-pptx.


def _pt(value: float) -> Any:
    from pptx.util import Pt

    return Pt(value)


def _rect(slide: Any, box: Box, color: layout.RGB) -> None:
    from pptx.dml.color import RGBColor
    from pptx.enum.shapes import MSO_SHAPE

    shape = slide.shapes.add_shape(
        MSO_SHAPE.RECTANGLE, _pt(box.x), _pt(box.y), _pt(box.w), _pt(max(box.h, 0.5))
    )
    shape.fill.solid()
    shape.fill.fore_color.rgb = RGBColor(*color)
    shape.line.fill.background()
    shape.shadow.inherit = False


def _paragraph(
    para: Any, text: str, size: float, *, bold: bool, color: layout.RGB, lead: str = ""
) -> None:
    """One paragraph in the report's font at an exact line height (renderers then agree on it),
    after its bold run-in ``lead`` if any."""
    from pptx.dml.color import RGBColor

    para.line_spacing = _pt(size * LEADING)
    para.space_before = para.space_after = _pt(0)
    runs = [(f"{lead} ", True, layout.BRAND)] if lead else []
    for part, heavy, rgb in [*runs, (text, bold, color)]:
        run = para.add_run()
        run.text = part
        run.font.size = _pt(size)
        run.font.bold = heavy
        run.font.name = FONT_NAME
        run.font.color.rgb = RGBColor(*rgb)


def _text(slide: Any, t: layout.Text) -> None:
    from pptx.dml.color import RGBColor
    from pptx.enum.text import MSO_ANCHOR, MSO_AUTO_SIZE, PP_ALIGN

    box = slide.shapes.add_textbox(_pt(t.box.x), _pt(t.box.y), _pt(t.box.w), _pt(t.box.h))
    if t.fill:
        box.fill.solid()
        box.fill.fore_color.rgb = RGBColor(*t.fill)
    frame = box.text_frame
    frame.word_wrap = True
    frame.auto_size = MSO_AUTO_SIZE.NONE
    frame.vertical_anchor = MSO_ANCHOR.TOP
    frame.margin_left = frame.margin_right = _pt(t.pad)
    frame.margin_top = frame.margin_bottom = _pt(t.pad)
    para = frame.paragraphs[0]
    para.alignment = PP_ALIGN.RIGHT if t.align == "R" else PP_ALIGN.LEFT
    # One measured line is given as measured (it may have been cut to fit); longer text is left to
    # the renderer to wrap, in a box measured with room to spare (Format.slack).
    text = t.lines[0] if len(t.lines) == 1 and not t.lead else t.text
    _paragraph(para, text, t.size, bold=t.bold, color=t.color, lead=t.lead)


def _grid(slide: Any, g: layout.Grid) -> None:
    from pptx.dml.color import RGBColor
    from pptx.enum.text import MSO_ANCHOR

    rows, cols = len(g.heights), len(g.widths)
    shape = slide.shapes.add_table(
        rows, cols, _pt(g.box.x), _pt(g.box.y), _pt(g.box.w), _pt(g.box.h)
    )
    table = shape.table
    table.first_row = True
    table.horz_banding = False
    for j, width in enumerate(g.widths):
        table.columns[j].width = _pt(width)
    for i, height in enumerate(g.heights):
        table.rows[i].height = _pt(height)
        fill = layout.HEADER_FILL if i == 0 else layout.STRIPE if i % 2 == 0 else layout.WHITE
        for j in range(cols):
            cell = table.cell(i, j)
            cell.fill.solid()
            cell.fill.fore_color.rgb = RGBColor(*fill)
            cell.margin_left = cell.margin_right = _pt(g.pad_x)
            cell.margin_top = cell.margin_bottom = _pt(g.pad_y)
            cell.vertical_anchor = MSO_ANCHOR.TOP
            frame = cell.text_frame
            frame.word_wrap = True
            _paragraph(frame.paragraphs[0], g.texts[i][j], g.size, bold=i == 0, color=layout.INK)


def _picture(slide: Any, p: layout.Picture) -> None:
    png = png_for_box(p.chart, p.box.w, p.box.h)
    box = layout.fit_image(png_size(png), p.box)
    slide.shapes.add_picture(io.BytesIO(png), _pt(box.x), _pt(box.y), _pt(box.w), _pt(box.h))


def _draw(slide: Any, block: Block) -> None:
    if isinstance(block, layout.Fill):
        _rect(slide, block.box, block.color)
    elif isinstance(block, layout.Rule):
        _rect(slide, Box(block.box.x, block.box.y, block.box.w, block.weight), block.color)
    elif isinstance(block, layout.Text):
        _text(slide, block)
    elif isinstance(block, layout.Grid):
        _grid(slide, block)
    else:
        _picture(slide, block)


def write_pptx(report: Report, out: Path) -> Path:
    """The deck: a title slide, then one slide per section with native tables and chart images."""
    from pptx import Presentation

    deck = Presentation()
    deck.slide_width, deck.slide_height = _pt(SLIDE.width), _pt(SLIDE.height)
    blank = deck.slide_layouts[6]
    plans = [layout.plan_cover(layout.cover_of(report), SLIDE)]
    plans += [layout.plan_section(s, SLIDE) for s in report.sections]
    for plan in plans:
        slide = deck.slides.add_slide(blank)
        for block in plan.blocks:
            _draw(slide, block)
    deck.save(str(out))
    return out
