"""Reports: the user's scope and filters as a PDF (fpdf2), an editable PowerPoint deck, a one-page
infographic, and the weekly PDF e-mailed to each manager through the outbox.

A report is a list of sections (:mod:`cx.reports.model`) made by the section builders
(:mod:`cx.reports.sections`) from the same queries and Altair charts as the screens, rendered to
PNG by ``vl-convert`` (:mod:`cx.reports.images`) and written by :mod:`cx.reports.pdf` or
:mod:`cx.reports.pptx`; :mod:`cx.reports.files` holds the entry points, :mod:`cx.reports.infographic`
the one-pager and :mod:`cx.reports.mailer` the weekly mailing. Callers use this facade.
"""

from cx.reports.files import FORMATS, build_infographic, build_report, report_files
from cx.reports.images import (
    chart_png,
    clear_cache,
    png_size,
)
from cx.reports.model import (
    Figure,
    Report,
    ReportContext,
    ReportError,
    Section,
    Table,
    filters_label,
    scope_label,
)
from cx.reports.pdf import write_pdf
from cx.reports.pptx import write_pptx
from cx.reports.sections import SECTIONS, build_sections

__all__ = [
    "FORMATS",
    "SECTIONS",
    "Figure",
    "Report",
    "ReportContext",
    "ReportError",
    "Section",
    "Table",
    "build_infographic",
    "build_report",
    "build_sections",
    "chart_png",
    "clear_cache",
    "filters_label",
    "png_size",
    "report_files",
    "scope_label",
    "write_pdf",
    "write_pptx",
]
