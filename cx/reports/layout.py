"""What the PDF and the deck share on the page: the palette, the type of each format, text measured
from the report's fonts, and the plan of every page in points, so that a page or slide is built to
fit: nothing is placed that was not measured, a table or list too long for one page is split over
several with its header repeated, and footnotes keep their place at the bottom of their page."""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cx.reports.model import Figure, Report, Section, Table, filters_label, scope_label

RGB = tuple[int, int, int]
INK: RGB = (31, 42, 68)
MUTED: RGB = (107, 114, 128)
BRAND: RGB = (47, 95, 208)
TINT: RGB = (243, 246, 253)
WHITE: RGB = (255, 255, 255)
RULE: RGB = (210, 216, 228)
HEADER_FILL: RGB = (226, 232, 248)
STRIPE: RGB = (248, 250, 253)

FONT_DIR = Path(__file__).parent.parent / "config" / "fonts"
FONT_FILES = {False: FONT_DIR / "DejaVuSans.ttf", True: FONT_DIR / "DejaVuSans-Bold.ttf"}
FONT_NAME = "DejaVu Sans"
"""The one typeface of both formats: the PDF embeds these files, the deck names the font."""
LEADING = 1.2
"""Line height as a multiple of the type size (the deck sets it exactly, so every renderer agrees)."""


# ---------------------------------------------------------------- text measured from the fonts


@functools.cache
def _advance(char: str, bold: bool) -> float:
    """Advance width of one character in ems, from the TrueType file (as fpdf2 draws it)."""
    from PIL import ImageFont

    face = ImageFont.truetype(str(FONT_FILES[bold]), 1000, layout_engine=ImageFont.Layout.BASIC)
    return float(face.getlength(char)) / 1000


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """Width in points of ``text`` on one line at ``size`` pt: the glyphs' advances without kerning,
    so a renderer that kerns (LibreOffice, PowerPoint) only makes it narrower."""
    return size * sum(_advance(c, bold) for c in text)


def wrap(text: str, size: float, width: float, *, bold: bool = False, lead: str = "") -> list[str]:
    """``text`` broken at spaces into lines at most ``width`` points wide, after ``lead`` (a bold
    run-in, such as ``Alerts:``); a word longer than a line is cut where it must be. Line breaks in
    ``text`` are kept."""
    space = text_width(" ", size)
    lines: list[str] = []
    paragraphs = text.split("\n")
    for p, para in enumerate(paragraphs):
        tokens = [(w, bold) for w in para.split()]
        if p == 0:
            tokens = [(w, True) for w in lead.split()] + tokens
        line, used = "", 0.0
        for word, heavy in tokens:
            wide = text_width(word, size, bold=heavy)
            if line and used + space + wide <= width:
                line, used = f"{line} {word}", used + space + wide
                continue
            if line:
                lines.append(line)
            while len(word) > 1 and wide > width:
                cut = next(
                    (
                        k
                        for k in range(len(word) - 1, 1, -1)
                        if text_width(word[:k], size, bold=heavy) <= width
                    ),
                    1,
                )
                lines.append(word[:cut])
                word = word[cut:]
                wide = text_width(word, size, bold=heavy)
            line, used = word, wide
        lines.append(line)
    return lines


def clip_line(text: str, size: float, width: float, *, bold: bool = False) -> str:
    """``text`` cut with an ellipsis so it holds on one line of ``width`` points."""
    if text_width(text, size, bold=bold) <= width:
        return text
    while text and text_width(text + "…", size, bold=bold) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _sizes(largest: float, smallest: float, step: float = 1.0) -> Iterator[float]:
    """Type sizes from the largest down to the smallest (both included)."""
    size = largest
    while size > smallest:
        yield size
        size -= step
    yield smallest


# ---------------------------------------------------------------- the two formats


@dataclass(frozen=True)
class Format:
    """One output's page and type, in points. The smallest sizes are those read at 3 m from a
    projector screen (the deck's 13.3-inch slide and the A4 page both fill the screen's width)."""

    name: str
    width: float
    height: float
    margin: float
    footer: float
    """Room kept at the bottom of every page for the footer line (0: no footer)."""
    title: float
    takeaway: float
    body: tuple[float, float]
    """Largest and smallest size of a summary or of quotes: the largest that fits is used."""
    table: tuple[float, float]
    """Largest and smallest size of a table's cells."""
    figure: float
    label: float
    note: float
    slack: float = 0.0
    """Share of every line kept free where another program wraps the text (the deck's renderer)."""

    @property
    def content_width(self) -> float:
        return self.width - 2 * self.margin

    @property
    def bottom(self) -> float:
        """Lowest point of the content (the footer below it)."""
        return self.height - self.footer - self.margin * 0.75

    @property
    def gap(self) -> float:
        return self.margin * 0.4

    def room(self, width: float) -> float:
        """Width that measured text may use in a box ``width`` points wide."""
        return width / (1 + self.slack)


PDF = Format(
    "pdf",
    841.89,
    595.28,
    margin=34,
    footer=22,
    title=26,
    takeaway=16,
    body=(26, 13),
    table=(16, 12),
    figure=36,
    label=13,
    note=11,
)
"""A4 landscape: a page shown on a projector (type about 0.9 of the deck's at the same screen width)."""
SLIDE = Format(
    "pptx",
    960,
    540,
    margin=34,
    footer=0,
    title=32,
    takeaway=20,
    body=(32, 16),
    table=(18, 14),
    figure=44,
    label=16,
    note=13,
    slack=0.06,
)
"""A 16:9 slide (13.33 × 7.5 in)."""
FORMATS = (PDF, SLIDE)


# ---------------------------------------------------------------- what a page holds


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def bottom(self) -> float:
        return self.y + self.h

    @property
    def right(self) -> float:
        return self.x + self.w


@dataclass(frozen=True)
class Fill:
    """A filled rectangle (the cover's band, a figure's tile)."""

    box: Box
    color: RGB


@dataclass(frozen=True)
class Rule:
    """A horizontal line of ``weight`` points at the top of ``box``."""

    box: Box
    color: RGB
    weight: float


@dataclass(frozen=True)
class Text:
    """Text measured into its box: ``lines`` as wrapped (the PDF draws them; the deck gives the
    text to its renderer, whose lines are never more than these), ``pad`` inside the box."""

    box: Box
    text: str
    lines: tuple[str, ...]
    size: float
    bold: bool = False
    color: RGB = INK
    fill: RGB | None = None
    pad: float = 0.0
    align: str = "L"
    lead: str = ""
    """A bold run-in before the text, in brand colour (``Alerts:`` in the summary)."""


@dataclass(frozen=True)
class Grid:
    """A table measured into its box: column widths and row heights (the header row first), the
    wrapped lines of every cell, and the cells' padding."""

    box: Box
    size: float
    widths: tuple[float, ...]
    heights: tuple[float, ...]
    cells: tuple[tuple[tuple[str, ...], ...], ...]
    texts: tuple[tuple[str, ...], ...]
    pad_x: float
    pad_y: float


@dataclass(frozen=True)
class Picture:
    """A chart rendered for its box (see :func:`cx.reports.images.chart_png`)."""

    box: Box
    chart: Any


Block = Fill | Rule | Text | Grid | Picture


def fit_image(size_px: tuple[int, int], box: Box) -> Box:
    """The largest box of the image's aspect ratio inside ``box``, centred across, at its top."""
    w_px, h_px = size_px
    w = box.w
    h = w * h_px / w_px
    if h > box.h:
        h = box.h
        w = h * w_px / h_px
    return Box(box.x + (box.w - w) / 2, box.y, w, h)


@dataclass(frozen=True)
class Plan:
    """The blocks of one page; ``fits`` is False when even the smallest type could not hold all
    of it (the blocks then hold what fits and say what was left out)."""

    blocks: tuple[Block, ...]
    fits: bool = True
    body: Box | None = None
    """The room under the header, for the charts-take-half-of-it rule."""


def line_height(size: float, lines: int = 1) -> float:
    return size * LEADING * lines


def _text(
    text: str,
    x: float,
    y: float,
    w: float,
    size: float,
    fmt: Format,
    *,
    bold: bool = False,
    color: RGB = INK,
    fill: RGB | None = None,
    pad: float = 0.0,
    align: str = "L",
    lead: str = "",
) -> Text:
    lines = tuple(wrap(text, size, fmt.room(w - 2 * pad), bold=bold, lead=lead))
    h = line_height(size, len(lines)) + 2 * pad
    return Text(Box(x, y, w, h), text, lines, size, bold, color, fill, pad, align, lead)


def _line(
    text: str,
    x: float,
    y: float,
    w: float,
    size: float,
    fmt: Format,
    *,
    smallest: float | None = None,
    bold: bool = False,
    color: RGB = INK,
    align: str = "L",
) -> Text:
    """One line: the largest size down to ``smallest`` at which it fits, else cut with an ellipsis."""
    room = fmt.room(w)
    for s in _sizes(size, smallest or size, 0.5):
        if text_width(text, s, bold=bold) <= room:
            return Text(Box(x, y, w, line_height(s)), text, (text,), s, bold, color, align=align)
    s = smallest or size
    cut = clip_line(text, s, room, bold=bold)
    return Text(Box(x, y, w, line_height(s)), text, (cut,), s, bold, color, align=align)


# ---------------------------------------------------------------- tables


def _cells(table: Table) -> list[list[str]]:
    header = list(table.frame.columns)
    return [
        header,
        *(["" if v is None else str(v) for v in row] for row in table.frame.iter_rows()),
    ]


def _column_widths(
    rows: Sequence[Sequence[str]], size: float, pad_x: float, fmt: Format
) -> tuple[list[float], list[float]]:
    """Per column: the width of its longest text on one line, and of its longest word."""

    def need(text: str, bold: bool) -> float:
        return text_width(text, size, bold=bold) * (1 + fmt.slack) + 2 * pad_x

    columns = range(len(rows[0]))
    natural = [max(need(row[j], i == 0) for i, row in enumerate(rows)) for j in columns]
    least = [
        max(
            max((need(word, i == 0) for word in row[j].split()), default=2 * pad_x)
            for i, row in enumerate(rows)
        )
        for j in columns
    ]
    return natural, least


def _shared_out(natural: Sequence[float], least: Sequence[float], width: float) -> list[float]:
    """Column widths in ``width`` when not every column fits on one line: the columns that need
    least to unwrap (a short note, a two-word header) get their whole text first, then the spare
    is shared by the long texts in proportion to what they lack, so few rows grow."""
    widths = list(least)
    spare = width - sum(least)
    order = sorted(range(len(natural)), key=lambda j: natural[j] - least[j])
    for j in order:
        lack = natural[j] - least[j]
        if lack <= spare:
            widths[j], spare = natural[j], spare - lack
    short = [j for j in order if widths[j] < natural[j]]
    lacking = sum(natural[j] - widths[j] for j in short)
    for j in short:
        widths[j] += spare * (natural[j] - widths[j]) / lacking
    return widths


def grid(table: Table, width: float, size: float, fmt: Format) -> Grid | None:
    """The table at ``size`` pt in ``width`` points: columns as wide as their longest text when
    that fits, else the longer texts wrapped at words; None when even one word per line is too wide."""
    pad_x, pad_y = size * 0.32, size * 0.26
    rows = _cells(table)
    natural, least = _column_widths(rows, size, pad_x, fmt)
    if sum(least) > width + 0.01:
        return None
    if sum(natural) <= width:
        spare = width - sum(natural)
        widths = [n + spare * n / sum(natural) for n in natural]
    else:
        widths = _shared_out(natural, least, width)
    cells = tuple(
        tuple(
            tuple(wrap(text, size, fmt.room(widths[j] - 2 * pad_x) + 0.01, bold=i == 0))
            for j, text in enumerate(row)
        )
        for i, row in enumerate(rows)
    )
    heights = tuple(line_height(size, max(len(c) for c in row)) + 2 * pad_y for row in cells)
    texts = tuple(tuple(row) for row in rows)
    return Grid(
        Box(0, 0, width, sum(heights)), size, tuple(widths), heights, cells, texts, pad_x, pad_y
    )


def natural_table_width(table: Table, size: float, fmt: Format) -> float:
    """Width of the table at ``size`` pt with no cell wrapped."""
    return sum(_column_widths(_cells(table), size, size * 0.32, fmt)[0])


def _table(
    table: Table, box: Box, fmt: Format, sizes: tuple[float, float]
) -> tuple[list[Block], bool]:
    """The table's title, grid and "more rows" line at the largest size that fits ``box``."""
    more = f"+ {table.hidden_rows} more row(s) in the app" if table.hidden_rows else ""

    def build(size: float, limit_rows: int | None = None) -> tuple[list[Block], float] | None:
        title_size = max(fmt.label, size)
        title = _line(table.title, box.x, box.y, box.w, title_size, fmt, bold=True)
        if title.lines[0] != title.text:  # a long title wraps rather than lose its end
            title = _text(table.title, box.x, box.y, box.w, fmt.note, fmt, bold=True)
        g = grid(table, box.w, size, fmt)
        if g is None:
            return None
        if size > sizes[1] and max((len(c) for row in g.cells[1:] for c in row), default=1) > 2:
            return None  # a smaller type rather than a cell of a word per line
        heights, cells, extra = g.heights, g.cells, ""
        if limit_rows is not None:
            keep = 1
            used = title.box.h + fmt.gap * 0.4 + heights[0] + line_height(fmt.note)
            while keep < len(heights) and used + heights[keep] <= box.h:
                used += heights[keep]
                keep += 1
            left = len(heights) - keep + table.hidden_rows
            heights, cells = heights[:keep], cells[:keep]
            extra = f"+ {left} more row(s) in the app" if left else ""
        else:
            extra = more
        top = title.box.bottom + fmt.gap * 0.4
        placed = replace(
            g,
            box=Box(box.x, top, box.w, sum(heights)),
            heights=heights,
            cells=cells,
            texts=g.texts[: len(cells)],
        )
        blocks: list[Block] = [title, placed]
        bottom = placed.box.bottom
        if extra:
            note = _line(extra, box.x, bottom + 2, box.w, fmt.note, fmt, color=MUTED)
            blocks.append(note)
            bottom = note.box.bottom
        return blocks, bottom - box.y

    for size in _sizes(*sizes):
        built = build(size)
        if built is not None and built[1] <= box.h:
            return built[0], True
    # Even the smallest type does not hold it: the rows that fit, and how many were left out.
    cut = build(sizes[1], limit_rows=0)
    return (cut[0] if cut else []), False


# ---------------------------------------------------------------- lists (summary, quotes)


def _items(lines: Sequence[str], box: Box, fmt: Format) -> tuple[list[Block], bool]:
    """``label|text`` items as paragraphs, the label a bold run-in, at the largest size that fits."""
    pairs = [line.partition("|")[::2] for line in lines]

    def build(size: float, spacing: float = 0.55) -> tuple[list[Block], float]:
        blocks: list[Block] = []
        y = box.y
        for k, (label, text) in enumerate(pairs):
            if k:
                y += size * spacing
            item = _text(text, box.x, y, box.w, size, fmt, lead=f"{label}:" if label else "")
            blocks.append(item)
            y = item.box.bottom
        return blocks, y - box.y

    for size in _sizes(*fmt.body):
        blocks, height = build(size)
        if height <= box.h:
            if len(pairs) > 1:  # a short list spreads down the page rather than crowd its top
                spare = (box.h - height) / (len(pairs) - 1) / size
                blocks, _ = build(size, 0.55 + min(spare, 0.9))
            return blocks, True
    blocks, _ = build(fmt.body[1])
    kept = [b for b in blocks if b.box.bottom <= box.bottom + 0.01]
    return kept, False


# ---------------------------------------------------------------- figures (big numbers)


def _figures(figures: Sequence[Figure], box: Box, fmt: Format) -> tuple[list[Block], float]:
    n = len(figures)
    gap = fmt.gap * 1.5
    w = (box.w - gap * (n - 1)) / n
    pad = fmt.label * 0.7
    inner = w - 2 * pad
    room = fmt.note * 0.4  # big digits reach below their line
    h = (
        2 * pad
        + line_height(fmt.label)
        + line_height(fmt.figure)
        + room
        + line_height(fmt.note)
        + 2
    )
    blocks: list[Block] = []
    for i, fig in enumerate(figures):
        x = box.x + i * (w + gap)
        blocks.append(Fill(Box(x, box.y, w, h), TINT))
        y = box.y + pad
        label = _line(
            fig.label, x + pad, y, inner, fmt.label, fmt, smallest=fmt.note, bold=True, color=MUTED
        )
        y = label.box.bottom + 2
        value = _line(
            fig.value, x + pad, y, inner, fmt.figure, fmt, smallest=fmt.takeaway, bold=True
        )
        y += line_height(fmt.figure) + room
        blocks += [label, value]
        if fig.note:
            blocks.append(
                _line(
                    fig.note,
                    x + pad,
                    y,
                    inner,
                    fmt.note,
                    fmt,
                    smallest=fmt.note * 0.85,
                    color=MUTED,
                )
            )
    return blocks, h


# ---------------------------------------------------------------- one page per section


def _header(heading: str, takeaway: str, fmt: Format) -> tuple[list[Block], float]:
    """Title, the brand rule under it and the takeaway in its tinted box; returns the blocks and
    the top of the room left under them."""
    x, w = fmt.margin, fmt.content_width
    y = fmt.margin * 0.75
    title = _line(heading, x, y, w, fmt.title, fmt, smallest=fmt.takeaway, bold=True)
    y = title.box.bottom + fmt.gap * 0.4
    blocks: list[Block] = [title, Rule(Box(x, y, min(w, fmt.title * 4), 0), BRAND, 2.4)]
    y += fmt.gap
    if takeaway:
        pad = fmt.takeaway * 0.5
        for size in _sizes(fmt.takeaway, fmt.body[1], 0.5):
            box = _text(takeaway, x, y, w, size, fmt, fill=TINT, pad=pad)
            if len(box.lines) <= 3:
                break
        blocks.append(box)
        y = box.box.bottom + fmt.gap * 1.2
    return blocks, y


def _footnotes(notes: Sequence[str], fmt: Format) -> tuple[list[Block], float]:
    """The section's notes, measured and anchored at the bottom of the page; returns the blocks and
    their top."""
    x, w = fmt.margin, fmt.content_width
    measured = [_text(n, x, 0, w, fmt.note, fmt, color=MUTED) for n in notes]
    top = fmt.bottom - sum(t.box.h for t in measured)
    y, blocks = top, list[Block]()
    for t in measured:
        blocks.append(replace(t, box=replace(t.box, y=y)))
        y += t.box.h
    return blocks, top


def plan_section(section: Section, fmt: Format) -> Plan:
    """The page (PDF) or slide (deck) of one section: header, big numbers, then the charts and
    tables (chart left and at least half the room, table right; or chart above, table below), or
    the section's list; its notes at the bottom."""
    blocks, top = _header(section.heading, section.takeaway, fmt)
    notes, notes_top = _footnotes(section.notes, fmt)
    bottom = notes_top - fmt.gap if notes else fmt.bottom
    x, w = fmt.margin, fmt.content_width
    body = Box(x, top, w, bottom - top)
    fits = True
    if section.figures:
        cards, h = _figures(section.figures, body, fmt)
        blocks += cards
        body = Box(x, body.y + h + fmt.gap * 1.5, w, body.h - h - fmt.gap * 1.5)
    if section.highlights:
        items, ok = _items(section.highlights, body, fmt)
        blocks += items
        fits &= ok
    charts, tables = section.charts, section.tables
    gutter = fmt.gap * 1.5
    if charts and tables and section.layout == "stack":
        # chart above, the tables below in at most 40 % of the room (the chart keeps the rest)
        made: list[Block] = []
        fits &= _stacked_tables(tables, Box(x, 0, w, body.h * 0.4), fmt, made)
        used = max((b.box.bottom for b in made), default=0)
        chart_h = body.h - used - gutter
        blocks += _pictures(charts, Box(x, body.y, w, chart_h), fmt)
        blocks += [_moved(b, body.y + chart_h + gutter) for b in made]
    elif charts and tables:
        # chart left, tables right in at most half the room (less the gutter)
        natural = max(natural_table_width(t, fmt.table[0], fmt) for t in tables)
        tw = min(max(natural, w * 0.3), (w - gutter) / 2)
        blocks += _pictures(charts, Box(x, body.y, w - tw - gutter, body.h), fmt)
        fits &= _stacked_tables(tables, Box(x + w - tw, body.y, tw, body.h), fmt, blocks)
    elif charts:
        blocks += _pictures(charts, body, fmt)
    elif tables:
        fits &= _stacked_tables(tables, body, fmt, blocks, sizes=(fmt.body[0] * 0.8, fmt.table[1]))
    return Plan((*blocks, *notes), fits, body)


def _moved(block: Block, dy: float) -> Block:
    return replace(block, box=replace(block.box, y=block.box.y + dy))


def _pictures(charts: Sequence[Any], box: Box, fmt: Format) -> list[Block]:
    h = (box.h - fmt.gap * (len(charts) - 1)) / len(charts)
    return [
        Picture(Box(box.x, box.y + i * (h + fmt.gap), box.w, h), c) for i, c in enumerate(charts)
    ]


def _stacked_tables(
    tables: Sequence[Table],
    box: Box,
    fmt: Format,
    blocks: list[Block],
    sizes: tuple[float, float] | None = None,
) -> bool:
    h = (box.h - fmt.gap * 2 * (len(tables) - 1)) / len(tables)
    fits = True
    for i, t in enumerate(tables):
        made, ok = _table(
            t, Box(box.x, box.y + i * (h + 2 * fmt.gap), box.w, h), fmt, sizes or fmt.table
        )
        blocks += made
        fits &= ok
    return fits


# ---------------------------------------------------------------- the cover / title slide


@dataclass(frozen=True)
class Cover:
    """What the cover says: the scope and wave, the filters, who it is for, the contents (title
    and page number), the definitions and the sections that could not be built."""

    title: str
    subtitle: str
    filters: str
    generated: str
    contents: tuple[tuple[str, int], ...]
    definitions: str
    skipped: str = ""


DEFINITIONS = (
    "NPS = % promoters (9-10) − % detractors (0-6), weighted. Margins of error are 95 % "
    "adjusted-Wald; a change is significant when |z| > 1.96. Low base: n < 30 (shown, never "
    "ranked). Cells with n < 5 are hidden."
)


def cover_of(report: Report) -> Cover:
    """The cover of a report: its first page lists every section once, with the page it starts on."""
    ctx = report.ctx
    by = f" for {ctx.user_name}" if ctx.user_name else ""
    contents = tuple(
        (s.title, page) for page, s in enumerate(report.sections, start=2) if s.part[0] == 1
    )
    return Cover(
        "CX Review report",
        f"{scope_label(ctx.scope)} · {ctx.wave}",
        filters_label(ctx.filters),
        f"Generated {ctx.generated_at:%Y-%m-%d %H:%M} UTC{by}",
        contents,
        DEFINITIONS,
        "Not included (error while building): " + "; ".join(report.skipped)
        if report.skipped
        else "",
    )


def plan_cover(cover: Cover, fmt: Format) -> Plan:
    """The cover: a brand band with title and scope, the filters, the contents in as many columns
    as they need, and the definitions anchored at the bottom (a long contents gets a lower band)."""
    for band in (0.3, 0.2):
        plan = _cover(cover, fmt, fmt.height * band)
        if plan.fits:
            break
    return plan


def _cover(cover: Cover, fmt: Format, band_h: float) -> Plan:
    x, w = fmt.margin, fmt.content_width
    blocks: list[Block] = [Fill(Box(0, 0, fmt.width, band_h), BRAND)]
    big = fmt.title * 1.35
    title = _line(cover.title, x, 0, w, big, fmt, smallest=fmt.title, bold=True, color=WHITE)
    sub = _line(cover.subtitle, x, 0, w, fmt.takeaway * 1.2, fmt, smallest=fmt.label, color=WHITE)
    top = (band_h - title.box.h - fmt.gap - sub.box.h) / 2  # the two lines centred in the band
    blocks += [_moved(title, top), _moved(sub, top + title.box.h + fmt.gap)]
    y = band_h + fmt.gap * 2
    filters = _line(cover.filters, x, y, w, fmt.takeaway, fmt, smallest=fmt.note)
    generated = _line(
        cover.generated,
        x,
        filters.box.bottom + 2,
        w,
        fmt.label,
        fmt,
        smallest=fmt.note,
        color=MUTED,
    )
    blocks += [filters, generated]
    notes = [t for t in (cover.skipped, cover.definitions) if t]
    foot, foot_top = _footnotes(notes, fmt)
    heading = _line(
        "Contents", x, generated.box.bottom + fmt.gap * 2, w, fmt.label * 1.2, fmt, bold=True
    )
    blocks.append(heading)
    top = heading.box.bottom + fmt.gap * 0.5
    entries, fits = _contents(cover.contents, Box(x, top, w, foot_top - fmt.gap - top), fmt)
    return Plan((*blocks, *entries, *foot), fits)


def _contents(
    contents: Sequence[tuple[str, int]], box: Box, fmt: Format
) -> tuple[list[Block], bool]:
    """The contents in one, two or three columns, at the largest size where every entry holds on
    its line; as a last resort the entries that fit, cut with an ellipsis."""

    def build(columns: int, size: float) -> list[Block]:
        per = math.ceil(len(contents) / columns)
        gap = fmt.gap * 3
        col_w = (box.w - gap * (columns - 1)) / columns
        step = line_height(size) * 1.12
        page_w = text_width("000", size) * (1 + fmt.slack)
        blocks: list[Block] = []
        for k, (title, page) in enumerate(contents):
            x, y = box.x + (k // per) * (col_w + gap), box.y + (k % per) * step
            if y + step > box.bottom + 0.01:
                continue
            blocks.append(_line(f"{k + 1}.  {title}", x, y, col_w - page_w - 6, size, fmt))
            blocks.append(
                _line(str(page), x + col_w - page_w, y, page_w, size, fmt, color=MUTED, align="R")
            )
        return blocks

    def whole(blocks: list[Block], cut: bool) -> bool:
        texts = [b for b in blocks if isinstance(b, Text)]
        return len(texts) == 2 * len(contents) and (cut or all(t.lines[0] == t.text for t in texts))

    for size in _sizes(fmt.takeaway, fmt.note, 0.5):  # the largest type, in one or two columns
        for columns in (1, 2):
            blocks = build(columns, size)
            if whole(blocks, cut=False):
                return blocks, True
    for columns in (3, 4):  # a very long report: more columns, titles cut if they must be
        for size in _sizes(fmt.note, fmt.note * 0.8, 0.5):
            blocks = build(columns, size)
            if whole(blocks, cut=True):
                return blocks, True
    return blocks, False


# ---------------------------------------------------------------- pages of the report


def paginate(sections: Sequence[Section], formats: Sequence[Format] = FORMATS) -> list[Section]:
    """The report's pages, one section each, every one fitting in every format at no less than the
    smallest type, its charts no lower than they can be read: a chart and its table side by side
    (or as the section asks), else the chart above the table, else the chart on its page and the
    table on the next; a table or list still too long is split over as few pages as hold it (rows
    shared out evenly, the table's header on every page). A section with nothing but its takeaway
    (which the summary holds) is left out, so no page is near-empty."""
    check = Check(formats)
    out: list[Section] = []
    for s in sections:
        if not (s.figures or s.charts or s.tables or s.highlights):
            continue
        parts = _parts(s, check)
        out += [replace(p, part=(i, len(parts))) for i, p in enumerate(parts, start=1)]
    return out


class Check:
    """Whether a page fits, in every format: its text at no less than the smallest type and its
    charts at no less than their legible height (measured once per chart)."""

    def __init__(self, formats: Sequence[Format] = FORMATS) -> None:
        self.formats = tuple(formats)
        self.least: dict[int, tuple[Any, float]] = {}

    def __call__(self, section: Section) -> bool:
        return all(self._fits(plan_section(section, f)) for f in self.formats)

    def _fits(self, plan: Plan) -> bool:
        from cx.reports.images import PX_PER_PT

        pictures = [b for b in plan.blocks if isinstance(b, Picture)]
        return plan.fits and all(p.box.h * PX_PER_PT >= self._least(p.chart) for p in pictures)

    def _least(self, chart: Any) -> float:
        from cx.reports.images import least_height

        if id(chart) not in self.least:  # the chart is kept with it, so its id stays its own
            self.least[id(chart)] = (chart, least_height(chart))
        return self.least[id(chart)][1]


def fits(section: Section, formats: Sequence[Format] = FORMATS) -> bool:
    """Whether the section's page holds everything, in every format."""
    return Check(formats)(section)


def _parts(s: Section, check: Check) -> list[Section]:
    if s.charts and s.tables:
        tried = ("stack", "side") if s.layout == "stack" else ("side", "stack")
        if s.layout != "split":
            for layout in tried:
                whole = replace(s, layout=layout)
                if check(whole):
                    return [whole]
        chart_page = replace(s, tables=())
        rest = replace(s, figures=(), charts=(), notes=())
        return [chart_page, *_split(rest, check, first=2)]
    return _split(s, check)


def _split(s: Section, check: Check, first: int = 1) -> list[Section]:
    """The section as it is if it fits, else its table's rows or its list's items over ``k`` pages
    for the smallest ``k`` that fits (``first``: the number of the first of these pages)."""

    def ok(parts: list[Section]) -> bool:
        n = len(parts) + first - 1
        return all(check(replace(p, part=(i, n))) for i, p in enumerate(parts, start=first))

    if ok([s]):
        return [s]
    if s.tables:
        table, others = s.tables[0], s.tables[1:]
        n = table.frame.height
        for k in range(2, n + 1):
            size = math.ceil(n / k)
            chunks = [table.frame.slice(i, size) for i in range(0, n, size)]
            tables = [
                Table(table.title, c, c.height + (table.hidden_rows if i == len(chunks) - 1 else 0))
                for i, c in enumerate(chunks)
            ]
            parts = [replace(s, tables=(tables[0],))] + [
                replace(s, figures=(), charts=(), notes=(), tables=(t,)) for t in tables[1:]
            ]
            if others:
                parts.append(replace(s, figures=(), charts=(), notes=(), tables=others))
            if ok(parts):
                return parts
    elif s.highlights:
        lines = s.highlights
        for k in range(2, len(lines) + 1):
            size = math.ceil(len(lines) / k)
            parts = [replace(s, highlights=lines[i : i + size]) for i in range(0, len(lines), size)]
            parts = [parts[0]] + [replace(p, figures=(), charts=(), notes=()) for p in parts[1:]]
            if ok(parts):
                return parts
    return [s]  # nothing helps: the page holds what fits and says what was left out
