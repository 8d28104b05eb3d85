"""The PDF report (fpdf2): a cover with the contents, then one A4 landscape page per section of the
report, each drawn from its measured plan (:mod:`cx.reports.layout`), and a footer naming the scope
and filters."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from cx.reports import layout
from cx.reports.images import png_for_box, png_size
from cx.reports.layout import BRAND, LEADING, MUTED, PDF, RULE, Block
from cx.reports.model import Report, filters_label, scope_label

# fpdf2 is imported where a PDF is written: it takes seconds to load, and most ``cx`` commands and
# screens never write one.

FAMILY = "DejaVu"


def _pdf_class() -> type:
    from fpdf import FPDF

    class ReportPDF(FPDF):  # type: ignore[misc]
        footer_text = ""

        def footer(self) -> None:
            size = PDF.note * 0.82
            self.set_font(FAMILY, size=size)
            self.set_text_color(*MUTED)
            self.set_xy(PDF.margin, PDF.height - PDF.footer - size * 0.2)
            self.cell(
                PDF.content_width, size * LEADING, f"{self.footer_text}  ·  page {self.page_no()}"
            )

    return ReportPDF


def _draw(pdf: Any, block: Block) -> None:
    if isinstance(block, layout.Fill):
        pdf.set_fill_color(*block.color)
        pdf.rect(block.box.x, block.box.y, block.box.w, block.box.h, style="F")
    elif isinstance(block, layout.Rule):
        pdf.set_draw_color(*block.color)
        pdf.set_line_width(block.weight)
        pdf.line(block.box.x, block.box.y, block.box.right, block.box.y)
    elif isinstance(block, layout.Text):
        _text(pdf, block)
    elif isinstance(block, layout.Grid):
        _grid(pdf, block)
    else:
        _picture(pdf, block)


def _text(pdf: Any, t: layout.Text) -> None:
    if t.fill:
        pdf.set_fill_color(*t.fill)
        pdf.rect(t.box.x, t.box.y, t.box.w, t.box.h, style="F")
    step = t.size * LEADING
    lead_words = len(t.lead.split())  # the run-in's words open the first line(s)
    for i, line in enumerate(t.lines):
        x, y = t.box.x + t.pad, t.box.y + t.pad + i * step
        words = line.split(" ")
        if lead_words:
            head = " ".join(words[:lead_words])
            lead_words -= min(lead_words, len(words))
            words = words[len(head.split(" ")) :]
            pdf.set_font(FAMILY, "B", t.size)
            pdf.set_text_color(*BRAND)
            pdf.set_xy(x, y)
            pdf.cell(pdf.get_string_width(head), step, head)
            x += pdf.get_string_width(head + " ")
            if not words:
                continue
        pdf.set_font(FAMILY, "B" if t.bold else "", t.size)
        pdf.set_text_color(*t.color)
        pdf.set_xy(x, y)
        pdf.cell(t.box.right - t.pad - x, step, " ".join(words), align=t.align)


def _grid(pdf: Any, g: layout.Grid) -> None:
    step = g.size * LEADING
    pdf.set_draw_color(*RULE)
    pdf.set_line_width(0.5)
    y = g.box.y
    for i, (height, row) in enumerate(zip(g.heights, g.cells, strict=True)):
        fill = layout.HEADER_FILL if i == 0 else layout.STRIPE if i % 2 == 0 else None
        if fill:
            pdf.set_fill_color(*fill)
            pdf.rect(g.box.x, y, g.box.w, height, style="F")
        pdf.set_font(FAMILY, "B" if i == 0 else "", g.size)
        pdf.set_text_color(*layout.INK)
        x = g.box.x
        for width, lines in zip(g.widths, row, strict=True):
            for k, line in enumerate(lines):
                pdf.set_xy(x + g.pad_x, y + g.pad_y + k * step)
                pdf.cell(width - 2 * g.pad_x, step, line)
            x += width
        y += height
        pdf.line(g.box.x, y, g.box.right, y)


def _picture(pdf: Any, p: layout.Picture) -> None:
    png = png_for_box(p.chart, p.box.w, p.box.h)
    box = layout.fit_image(png_size(png), p.box)
    pdf.image(io.BytesIO(png), x=box.x, y=box.y, w=box.w, h=box.h)


def write_pdf(report: Report, out: Path) -> Path:
    """The PDF: a cover, then one page per section (A4 landscape, projector-sized type)."""
    ctx = report.ctx
    pdf = _pdf_class()(orientation="L", unit="pt", format="A4")
    pdf.set_margins(PDF.margin, PDF.margin, PDF.margin)
    # Every page is planned to fit above its footer; anything drawn lower would open a new page,
    # which the render tests catch (page count).
    pdf.set_auto_page_break(True, margin=PDF.height - PDF.bottom - 1)
    pdf.c_margin = 0
    pdf.add_font(FAMILY, "", str(layout.FONT_FILES[False]))
    pdf.add_font(FAMILY, "B", str(layout.FONT_FILES[True]))
    pdf.footer_text = f"CX Review · {scope_label(ctx.scope)} · {filters_label(ctx.filters)}"
    pdf.set_title(f"CX Review report - {scope_label(ctx.scope)} - {ctx.wave}")
    pdf.set_creator("CX Review")
    plans = [layout.plan_cover(layout.cover_of(report), PDF)]
    plans += [layout.plan_section(s, PDF) for s in report.sections]
    for plan in plans:
        pdf.add_page()
        for block in plan.blocks:
            _draw(pdf, block)
    pdf.output(str(out))
    return out
