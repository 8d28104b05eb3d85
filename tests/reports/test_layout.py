"""Layout that cannot overflow: text measured from the fonts, pages planned to fit in both
formats, long tables split with their header repeated, the cover's footnote kept on the cover,
and charts rendered for the box they fill."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import altair as alt
import polars as pl
import pytest
from pypdf import PdfReader

from cx import charts, reports
from cx.analytics import evolution, overview
from cx.core import data
from cx.core.filters import Filters
from cx.core.scope import Scope
from cx.reports import images, layout
from cx.reports.model import Report, ReportContext, Section, Table

ES = Scope.parse("country:ES")


def report_of(sections: list[Section], skipped: list[str] | None = None) -> Report:
    ctx = ReportContext(
        pl.LazyFrame(),
        ES,
        Filters(wave="2026-Q3"),
        ("2026-Q3",),
        user_name="Javier Ruiz",
        generated_at=datetime(2026, 10, 1, tzinfo=UTC),
    )
    return Report(ctx, sections, skipped or [])


def inside(plan: layout.Plan, fmt: layout.Format) -> bool:
    return all(
        b.box.x >= 0
        and b.box.y >= 0
        and b.box.right <= fmt.width + 0.01
        and b.box.bottom <= fmt.bottom + 0.01
        for b in plan.blocks
        if not isinstance(b, layout.Fill)  # the cover's band runs to the page's edges
    )


def test_wrapped_lines_are_never_wider_than_the_box_as_fpdf_measures_them() -> None:
    from fpdf import FPDF

    pdf = FPDF(unit="pt")
    pdf.add_font("DejaVu", "", str(layout.FONT_FILES[False]))
    pdf.set_font("DejaVu", size=14)
    text = (
        "Cleanliness is the most-mentioned theme (20 % of 1,900 comments); price costs the most, "
        "taking 4.0 NPS points off commenters' score — Отсканируйте код: две минуты."
    )
    for width in (200.0, 517.3):
        lines = layout.wrap(text, 14, width)
        assert len(lines) > 1 and " ".join(lines) == " ".join(text.split())
        for line in lines:
            assert pdf.get_string_width(line) <= width + 0.01
            assert abs(pdf.get_string_width(line) - layout.text_width(line, 14)) < 0.05
    cut = layout.wrap("Supercalifragilistic", 14, 40)  # a word longer than the line is cut
    assert len(cut) > 1 and "".join(cut) == "Supercalifragilistic"
    assert all(layout.text_width(part, 14) <= 40 for part in cut)


def test_a_long_contents_and_skipped_list_stay_on_the_cover() -> None:
    # Issue 17: with a twelfth section the cover's footnote overflowed onto a page of its own.
    sections = [
        Section(
            f"s{i}", f"Section number {i} with a long title", "A takeaway.", highlights=("x|y",)
        )
        for i in range(36)
    ]
    report = report_of(sections, skipped=[f"area {i}: RuntimeError: boom" for i in range(12)])
    for fmt in layout.FORMATS:
        plan = layout.plan_cover(layout.cover_of(report), fmt)
        assert plan.fits and inside(plan, fmt)
        texts = [b for b in plan.blocks if isinstance(b, layout.Text)]
        assert any(t.text.startswith("NPS = % promoters") for t in texts)
        assert sum(t.text.startswith(f"{i + 1}.  ") for t in texts for i in range(36)) == 36


def test_the_cover_footnote_never_opens_a_page_of_its_own(tmp_path: Path) -> None:
    sections = [
        Section(f"s{i}", f"Section {i}", "A takeaway.", highlights=("Where|what",))
        for i in range(14)
    ]
    pdf = reports.write_pdf(
        report_of(sections, ["plans: OperationalError: no store"]), tmp_path / "r.pdf"
    )
    pages = PdfReader(str(pdf)).pages
    assert len(pages) == 15
    assert "NPS = % promoters" in pages[0].extract_text()


def table_of(rows: int) -> Table:
    frame = pl.DataFrame(
        {
            "Where": [f"Agency {i}" for i in range(rows)],
            "Attribute": ["Staff competence"] * rows,
            "Mean": ["6.58"] * rows,
            "Reasons": ["trend down, below peers, unexpected"] * rows,
        }
    )
    return Table("Alerts, strongest first", frame, rows + 4)


def test_a_long_table_is_split_evenly_with_its_header_on_every_page() -> None:
    section = Section("alerts", "Alerts", "30 alerts.", tables=(table_of(30),))
    assert not layout.fits(section)
    parts = layout.paginate([section])
    assert len(parts) > 1
    assert [p.part for p in parts] == [(i, len(parts)) for i in range(1, len(parts) + 1)]
    assert [p.heading for p in parts][-1] == f"Alerts ({len(parts)}/{len(parts)})"
    frames = [p.tables[0].frame for p in parts]
    assert all(f.columns == frames[0].columns for f in frames)  # the header, repeated
    assert pl.concat(frames).equals(section.tables[0].frame)  # every row once, in order
    assert max(f.height for f in frames) - min(f.height for f in frames) <= 1
    assert [p.tables[0].hidden_rows for p in parts] == [0] * (len(parts) - 1) + [4]
    for p in parts:
        for fmt in layout.FORMATS:
            plan = layout.plan_section(p, fmt)
            assert plan.fits and inside(plan, fmt)
            grid = next(b for b in plan.blocks if isinstance(b, layout.Grid))
            assert grid.texts[0] == ("Where", "Attribute", "Mean", "Reasons")
            assert grid.size >= fmt.table[1]


def test_a_section_with_only_its_takeaway_is_left_out_and_a_split_one_gets_two_pages() -> None:
    chart = alt.Chart(pl.DataFrame({"x": [1, 2]}).to_dicts()).mark_bar().encode(x="x:Q")
    sections = [
        Section("alerts", "Alerts", "No alert in 2026-Q3 for this scope."),
        Section(
            "attrs", "Attributes", "Text.", charts=(chart,), tables=(table_of(5),), layout="split"
        ),
    ]
    parts = layout.paginate(sections)
    assert [(p.key, p.part, bool(p.charts), bool(p.tables)) for p in parts] == [
        ("attrs", (1, 2), True, False),
        ("attrs", (2, 2), False, True),
    ]


def test_every_page_of_the_spain_report_fits_and_charts_take_half_the_room(
    demo_root: Path,
) -> None:
    built = reports.build_sections(data.scan_responses(demo_root), ES, Filters())
    assert all(s.figures or s.charts or s.tables or s.highlights for s in built.sections)
    for section in built.sections:
        for fmt in layout.FORMATS:
            plan = layout.plan_section(section, fmt)
            assert plan.fits and inside(plan, fmt), f"{section.heading} does not fit {fmt.name}"
            pictures = [b for b in plan.blocks if isinstance(b, layout.Picture)]
            if pictures and plan.body:
                assert sum(p.box.w * p.box.h for p in pictures) >= 0.48 * plan.body.w * plan.body.h
            sizes = [b.size for b in plan.blocks if isinstance(b, layout.Grid)]
            assert all(s >= fmt.table[1] for s in sizes)


def test_the_league_table_and_the_quotes_read_right(demo_root: Path) -> None:
    built = reports.build_sections(data.scan_responses(demo_root), ES, Filters())
    league = next(s for s in built.sections if s.key == "league")
    assert "ys ranked" not in league.tables[0].title  # was "Agencys ranked by NPS"
    quotes = next(s for s in built.sections if s.key == "quotes")
    said = [line.partition("|")[2].lower() for line in quotes.highlights]
    assert len(said) == len(set(said)) >= 2  # the same comment is never quoted twice


def test_a_chart_is_rendered_to_fill_its_box_with_fonts_at_least_the_minimum(
    demo_root: Path,
) -> None:
    frame = data.scan_responses(demo_root)
    f = Filters(wave=overview.waves(frame)[-1])
    attributes = evolution.attribute_trend(frame, ES, f)
    made = (
        charts.nps_trend_chart(overview.nps_trend(frame, ES, f)),
        charts.attribute_trend_chart(attributes, columns=4),
    )
    for chart in made:
        for box in ((774, 360), (892, 300)):
            w, h = images.png_size(images.png_for_box(chart, *box))
            want_w, want_h = box[0] * images.PX_PER_PT * 2, box[1] * images.PX_PER_PT * 2
            placed = min(want_w / w, want_h / h)  # the scale it is placed at in its box
            assert 0.85 <= placed <= 1.15, f"{w}x{h} px for a {want_w:.0f}x{want_h:.0f} box"
    spec = charts.attribute_trend_chart(attributes).to_dict()
    images._raise_fonts(spec)
    sizes: list[float] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("fontSize", "labelFontSize", "titleFontSize") and isinstance(
                    value, int | float
                ):
                    sizes.append(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(spec)
    assert sizes and min(sizes) >= images.MIN_FONT_PX


@pytest.mark.parametrize("fmt", layout.FORMATS, ids=lambda f: f.name)
def test_smallest_sizes_are_the_projector_minimums(fmt: layout.Format) -> None:
    # 3 m from a screen filled by the page's width: tables ≥ 12 pt on A4, ≥ 14 pt on a slide
    assert fmt.table[1] >= (12 if fmt is layout.PDF else 14)
    assert fmt.body[1] >= fmt.table[1] and fmt.title >= 2 * fmt.table[1]
