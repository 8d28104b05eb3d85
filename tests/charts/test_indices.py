"""The support and criticality chart, checked on ``chart.to_dict()``: most critical first, both
indices with their intervals, low counts grey, cells without an index left out."""

from __future__ import annotations

import polars as pl

from cx.charts import PALETTE
from cx.charts.indices import CRITICALITY, LOW, SUPPORT, indices_chart


def frame() -> pl.DataFrame:
    """Four agencies as :func:`cx.analytics.indices.indices` gives them (Sevilla suppressed)."""
    return pl.DataFrame(
        {
            "agency": ["Madrid", "Barcelona", "Valencia", "Sevilla"],
            "wave": ["2026-Q3"] * 4,
            "served": [1000, 2000, 90, 500],
            "responses": [40, 80, 35, 3],
            "support_index": [12.0, 20.0, 11.1, None],
            "support_low": [6.9, 14.6, 3.1, None],
            "support_high": [20.9, 27.4, 39.0, None],
            "criticality_index": [8.0, 15.0, 22.2, None],
            "criticality_low": [4.1, 10.1, 6.1, None],
            "criticality_high": [15.7, 22.0, 54.6, None],
            "response_rate": [0.04, 0.04, 0.389, 0.006],
            "low_count": [False, False, True, True],
            "suppressed": [False, False, False, True],
            "support_rank": [2, 1, None, None],
            "criticality_rank": [1, 2, None, None],
        }
    )


def test_agencies_come_most_critical_first_with_both_indices_and_their_intervals() -> None:
    spec = indices_chart(frame()).to_dict()
    rows = spec["data"]["values"]
    assert {r["name"] for r in rows} == {"Madrid", "Barcelona", "Valencia"}  # Sevilla: no index
    y = spec["layer"][1]["encoding"]["y"]
    assert y["sort"] == ["Valencia", "Barcelona", "Madrid"]  # 22.2, 15.0, 8.0 per 1,000
    madrid = {r["measure"]: r for r in rows if r["name"] == "Madrid"}
    assert (madrid[SUPPORT]["value"], madrid[SUPPORT]["lo"], madrid[SUPPORT]["hi"]) == (
        12.0,
        6.9,
        20.9,
    )
    assert (madrid[CRITICALITY]["value"], madrid[CRITICALITY]["rank"]) == (8.0, "1")
    marks = [layer["mark"]["type"] for layer in spec["layer"]]
    assert marks == ["rule", "circle", "text"]
    interval = spec["layer"][0]["encoding"]
    assert (interval["x"]["field"], interval["x2"]["field"]) == ("lo", "hi")
    assert "95 % interval" in interval["x"]["title"]
    assert spec["title"] == "Agencies by criticality index, most critical first"


def test_low_counts_are_grey_and_the_colours_come_from_the_theme() -> None:
    spec = indices_chart(frame()).to_dict()
    colours = {(r["name"], r["measure"]): r["colour"] for r in spec["data"]["values"]}
    assert colours["Valencia", SUPPORT] == colours["Valencia", CRITICALITY] == LOW
    assert colours["Madrid", SUPPORT] == SUPPORT and colours["Madrid", CRITICALITY] == CRITICALITY
    scale = spec["layer"][1]["encoding"]["color"]["scale"]
    assert dict(zip(scale["domain"], scale["range"], strict=True)) == {
        SUPPORT: PALETTE["promoter"],
        CRITICALITY: PALETTE["detractor"],
        LOW: PALETTE["low_base"],
    }


def test_one_agency_gets_no_ranking_title() -> None:
    spec = indices_chart(frame().head(1)).to_dict()
    assert spec.get("title", "") == ""
    assert {r["name"] for r in spec["data"]["values"]} == {"Madrid"}
