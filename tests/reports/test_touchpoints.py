"""The report's Relational vs transactional page: the finding as takeaway, the side-by-side chart
and a short table, from the same queries as the screen and inside the scope."""

from __future__ import annotations

import json

from cx.analytics import touchpoints
from cx.core.filters import Filters
from cx.core.scope import Scope
from cx.reports import sections
from cx.reports.model import ReportContext
from tests.analytics.test_touchpoints import Rows, side_frame

ES = Scope.parse("country:ES")


def context(frame, scope: Scope = ES) -> ReportContext:  # type: ignore[no-untyped-def]
    return ReportContext(frame, scope, Filters(wave="2026-Q2"), ("2026-Q1", "2026-Q2"))


def test_the_page_holds_the_finding_the_chart_and_the_short_table() -> None:
    rows = Rows()
    for t, r, k in ((2, 2, 12), (2, 8, 4), (10, 10, 12), (10, 4, 4)):
        rows.pair("delivery", t, r, times=k)
    rows.add("delivery", 10, times=30).add(None, 0, country="FR", times=40)
    frame = rows.frame()
    section = sections.touchpoints_section(context(frame))
    assert section is not None and section.title == "Relational vs transactional"
    f = Filters(wave="2026-Q2")
    expected = touchpoints.finding(
        touchpoints.side_by_side(frame, ES, f), touchpoints.drag(frame, ES, f)
    )
    assert section.takeaway == expected
    assert expected.startswith("Delivery drags the relationship most: relational NPS −75.0")
    table = section.tables[0].frame
    assert table.columns == ["Survey", "n", "NPS", "± MoE", "Δ prev.", "Note", "Drag"]
    assert table["Survey"].to_list() == ["Relational", "Delivery"]
    assert table["Drag"].to_list() == ["–", "125"]
    assert len(section.charts) == 1
    spec = json.dumps(section.charts[0].to_dict())
    assert "Paris" not in spec and "FR" not in spec


def test_the_page_hides_suppressed_scores_and_is_left_out_without_touchpoints() -> None:
    frame = side_frame()
    section = sections.touchpoints_section(context(frame))
    assert section is not None
    table = section.tables[0].frame
    support = table.row(table["Survey"].to_list().index("Support"), named=True)
    assert support["n"] == "4" and support["NPS"] == "–" and support["Note"] == "hidden (n < 5)"
    assert sections.touchpoints_section(context(frame.drop("touchpoint"))) is None
    assert sections.touchpoints_section in sections.SECTIONS
