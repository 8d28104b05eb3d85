"""Segments & RFM never stays blank: its frame (every heading, the caption) is drawn before the
queries run, each chart in its own place, the takeaway on top once computed; without a CRM file
the RFM half is replaced by one note and the segment half still renders."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.support.apptest import rendered_text, run_page, takeaway_of

HEADINGS = [
    "NPS by segment",
    "NPS by segment over waves",
    "NPS by RFM tier",
    "RFM tier × segment (NPS)",
    "What detractors cost",
]


def test_every_heading_has_its_chart_and_the_takeaway_replaces_its_placeholder(
    demo_root: Path,
) -> None:
    at = run_page("screens/segments.py", "es.manager", demo_root)
    assert not at.exception, at.exception
    assert [s.value for s in at.subheader] == HEADINGS
    assert takeaway_of(at).startswith("Young is the lowest segment")
    assert "Computing" not in rendered_text(at)  # every placeholder was filled
    assert len(at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")) == 6
    assert any("Revenue = each surveyed customer" in c.value for c in at.caption)


def test_without_crm_the_rfm_half_is_one_note_and_segments_still_render(
    demo_root: Path, tmp_path: Path
) -> None:
    root = tmp_path / "data"
    shutil.copytree(demo_root, root, ignore=shutil.ignore_patterns("crm", "cx.db*", "*.log"))
    at = run_page("screens/segments.py", "es.manager", root)
    assert not at.exception, at.exception
    assert [s.value for s in at.subheader] == HEADINGS[:2]
    assert [i.value for i in at.info] == [
        "No CRM transactions (crm/transactions.parquet): RFM tiers and revenue are not available."
    ]
    assert takeaway_of(at)
    assert len(at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")) == 2
