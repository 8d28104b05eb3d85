"""The PDF report (fpdf2): a cover with the contents, then one A4 landscape page per section,
projector-sized type, charts beside or above their tables, a footer naming the scope and filters."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cx.reports.images import chart_png, png_size
from cx.reports.layout import BRAND, INK, MUTED, PT_CHAR_MM, TINT, col_weights
from cx.reports.model import (
    Figure,
    Report,
    ReportContext,
    Section,
    Table,
    filters_label,
    scope_label,
)

# fpdf2 is imported where a PDF is written: it takes seconds to load, and most ``cx`` commands and
# screens never write one.

FONT_DIR = Path(__file__).parent.parent / "config" / "fonts"
FONT_REGULAR = FONT_DIR / "DejaVuSans.ttf"
FONT_BOLD = FONT_DIR / "DejaVuSans-Bold.ttf"
PX_PER_MM = 3.7
"""Vega-Lite pixels per millimetre of page, so chart labels print at about 11 pt."""


def _pdf_class() -> type:
    from fpdf import FPDF

    class ReportPDF(FPDF):  # type: ignore[misc]
        footer_text = ""

        def footer(self) -> None:
            self.set_y(-10)
            self.set_font("DejaVu", size=8)
            self.set_text_color(*MUTED)
            self.cell(0, 6, f"{self.footer_text}   ·   page {self.page_no()}", align="R")

    return ReportPDF


def _pdf_header(pdf: Any, title: str, takeaway: str) -> None:
    pdf.set_font("DejaVu", "B", 22)
    pdf.set_text_color(*INK)
    pdf.cell(0, 11, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_draw_color(*BRAND)
    pdf.set_line_width(0.8)
    pdf.line(pdf.l_margin, pdf.get_y() + 1, pdf.l_margin + 40, pdf.get_y() + 1)
    pdf.ln(4)
    if takeaway:
        pdf.set_fill_color(*TINT)
        pdf.set_font("DejaVu", size=13)
        pdf.multi_cell(
            0,
            7,
            takeaway,
            fill=True,
            padding=(3, 4, 3, 4),
            align="L",
            new_x="LMARGIN",
            new_y="NEXT",
        )
        pdf.ln(4)


def _pdf_figures(pdf: Any, figures: Sequence[Figure]) -> None:
    width = (pdf.epw - 6 * (len(figures) - 1)) / len(figures)
    top = pdf.get_y()
    for i, fig in enumerate(figures):
        x = pdf.l_margin + i * (width + 6)
        pdf.set_fill_color(*TINT)
        pdf.rect(x, top, width, 34, style="F")
        pdf.set_xy(x + 4, top + 3)
        pdf.set_font("DejaVu", "B", 11)
        pdf.set_text_color(*MUTED)
        pdf.cell(width - 8, 6, fig.label)
        pdf.set_xy(x + 4, top + 10)
        pdf.set_font("DejaVu", "B", 28)
        pdf.set_text_color(*INK)
        pdf.cell(width - 8, 13, fig.value)
        pdf.set_xy(x + 4, top + 25)
        pdf.set_font("DejaVu", size=10)
        pdf.set_text_color(*MUTED)
        pdf.cell(width - 8, 6, fig.note)
    pdf.set_y(top + 40)


def table_font(table: Table, *, side: bool = False) -> int:
    """Point size of a table: smaller beside a chart and for long tables."""
    return (10 if side else 11) - (table.frame.height > 10)


def _pdf_table(pdf: Any, table: Table, x: float, width: float, *, side: bool = False) -> None:
    from fpdf.fonts import FontFace

    pdf.set_x(x)
    pdf.set_font("DejaVu", "B", 12)
    pdf.set_text_color(*INK)
    pdf.cell(width, 8, table.title, new_x="LEFT", new_y="NEXT")
    size = table_font(table, side=side)
    pdf.set_font("DejaVu", size=size)
    pdf.set_draw_color(210, 216, 228)
    pdf.set_line_width(0.2)
    old_margin = pdf.l_margin
    pdf.set_left_margin(x)
    with pdf.table(
        width=min(width, pdf.epw),
        col_widths=col_weights(table.frame),
        align="LEFT",
        line_height=size * 0.62,
        headings_style=FontFace(emphasis="BOLD", color=INK, fill_color=(226, 232, 248)),
        cell_fill_color=(248, 250, 253),
        cell_fill_mode="ROWS",
        borders_layout="HORIZONTAL_LINES",
        text_align="LEFT",
        padding=1.2,
    ) as t:
        head = t.row()
        for c in table.frame.columns:
            head.cell(c)
        for values in table.frame.iter_rows():
            r = t.row()
            for v in values:
                r.cell("" if v is None else str(v))
    pdf.set_left_margin(old_margin)
    if table.hidden_rows:
        pdf.set_x(x)
        pdf.set_font("DejaVu", size=9)
        pdf.set_text_color(*MUTED)
        pdf.cell(
            width, 6, f"+ {table.hidden_rows} more row(s) in the app", new_x="LEFT", new_y="NEXT"
        )
    pdf.ln(4)


def _pdf_image(pdf: Any, png: bytes, x: float, y: float, max_w: float, max_h: float) -> float:
    """Place a PNG inside a box keeping its aspect ratio; return the height used."""
    w_px, h_px = png_size(png)
    w = max_w
    h = w * h_px / w_px
    if h > max_h:
        h = max_h
        w = h * w_px / h_px
    pdf.image(io.BytesIO(png), x=x, y=y, w=w, h=h)
    return h


def _pdf_section(pdf: Any, section: Section) -> None:
    pdf.add_page()
    _pdf_header(pdf, section.title, section.takeaway)
    if section.figures:
        _pdf_figures(pdf, section.figures)
    top = pdf.get_y()
    bottom = pdf.h - pdf.b_margin - 4
    if section.charts and section.tables and section.layout == "side":
        need = max(
            sum(col_weights(t.frame)) * PT_CHAR_MM * table_font(t, side=True)
            for t in section.tables
        )
        table_w = min(max(need, pdf.epw * 0.34), pdf.epw * 0.58)
        chart_w = pdf.epw - table_w - 8
        images = [chart_png(c, width=int(chart_w * PX_PER_MM)) for c in section.charts]
        y = top
        for png in images:
            y += _pdf_image(pdf, png, pdf.l_margin, y, chart_w, (bottom - top) / len(images)) + 4
        pdf.set_y(top)
        for table in section.tables:
            _pdf_table(pdf, table, pdf.l_margin + chart_w + 8, table_w, side=True)
        pdf.set_y(max(y, pdf.get_y()))
    else:
        images = [chart_png(c) for c in section.charts]
        y = top
        table_h = sum((t.frame.height + 2) * table_font(t) * 0.62 + 14 for t in section.tables)
        room = max(bottom - top - table_h, 60.0)
        for png in images:
            y += _pdf_image(pdf, png, pdf.l_margin, y, pdf.epw, room / len(images)) + 4
        pdf.set_y(y)
        for table in section.tables:
            _pdf_table(pdf, table, pdf.l_margin, pdf.epw)
    if section.highlights:
        size = 12 if len(section.highlights) <= 8 else 11
        for line in section.highlights:
            title, _, text = line.partition("|")
            pdf.set_x(pdf.l_margin)
            pdf.set_text_color(*BRAND)
            pdf.set_font("DejaVu", "B", size)
            pdf.cell(70, size * 0.5, title)
            pdf.set_text_color(*INK)
            pdf.set_font("DejaVu", size=size)
            pdf.multi_cell(0, size * 0.5, text, align="L", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
    if section.notes:
        pdf.set_font("DejaVu", size=10)
        pdf.set_text_color(*MUTED)
        for note in section.notes:
            pdf.set_x(pdf.l_margin)
            pdf.multi_cell(0, 5, note, align="L", new_x="LMARGIN", new_y="NEXT")


def _pdf_cover(
    pdf: Any, ctx: ReportContext, sections: Sequence[Section], skipped: Sequence[str]
) -> None:
    pdf.add_page()
    pdf.set_fill_color(*BRAND)
    pdf.rect(0, 0, pdf.w, 58, style="F")
    pdf.set_xy(pdf.l_margin, 16)
    pdf.set_text_color(255, 255, 255)
    pdf.set_font("DejaVu", "B", 34)
    pdf.cell(0, 16, "CX Review report", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", size=18)
    pdf.cell(0, 10, f"{scope_label(ctx.scope)} · {ctx.wave}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(66)
    pdf.set_text_color(*INK)
    pdf.set_font("DejaVu", size=13)
    pdf.cell(0, 8, filters_label(ctx.filters), new_x="LMARGIN", new_y="NEXT")
    by = f" for {ctx.user_name}" if ctx.user_name else ""
    pdf.set_text_color(*MUTED)
    pdf.cell(
        0, 8, f"Generated {ctx.generated_at:%Y-%m-%d %H:%M} UTC{by}", new_x="LMARGIN", new_y="NEXT"
    )
    pdf.ln(8)
    pdf.set_text_color(*INK)
    pdf.set_font("DejaVu", "B", 15)
    pdf.cell(0, 9, "Contents", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", size=13)
    for i, s in enumerate(sections, start=1):
        pdf.cell(0, 7, f"{i}.  {s.title}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("DejaVu", size=10)
    pdf.set_text_color(*MUTED)
    pdf.multi_cell(
        0,
        5,
        "NPS = % promoters (9-10) − % detractors (0-6), weighted. Margins of error are 95 % adjusted-Wald; "
        "a change is significant when |z| > 1.96. Low base: n < 30 (shown, never ranked). Cells with n < 5 are hidden.",
        align="L",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    if skipped:
        pdf.ln(2)
        pdf.multi_cell(
            0,
            5,
            "Not included (error while building): " + "; ".join(skipped),
            align="L",
            new_x="LMARGIN",
            new_y="NEXT",
        )


def write_pdf(report: Report, out: Path) -> Path:
    """The PDF: a cover, then one page per section (A4 landscape, projector-sized type)."""
    ctx, sections = report.ctx, report.sections
    pdf = _pdf_class()(orientation="L", unit="mm", format="A4")
    pdf.set_margins(12, 12, 12)
    pdf.set_auto_page_break(True, margin=14)
    pdf.add_font("DejaVu", "", str(FONT_REGULAR))
    pdf.add_font("DejaVu", "B", str(FONT_BOLD))
    pdf.footer_text = f"CX Review · {scope_label(ctx.scope)} · {filters_label(ctx.filters)}"
    pdf.set_title(f"CX Review report - {scope_label(ctx.scope)} - {ctx.wave}")
    pdf.set_creator("CX Review")
    _pdf_cover(pdf, ctx, sections, report.skipped)
    for section in sections:
        _pdf_section(pdf, section)
    pdf.output(str(out))
    return out
