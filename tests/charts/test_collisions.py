"""Charts that never collide, checked on ``chart.to_dict()``: the quadrant's names keep apart at
every plot size, wave axes name fewer waves as waves grow (20 still read), segment names at the
end of their lines keep a line apart."""

from __future__ import annotations

import itertools
import re
from typing import Any

import polars as pl
import pytest
import vl_convert as vlc

from cx import charts
from cx.charts import placement, theme
from tests.charts.frames import attribute_trend, drivers, nps_trend, segment_trend

WAVES_20 = [f"{y}-Q{q}" for y in range(2022, 2027) for q in range(1, 5)]
WAVES_8 = WAVES_20[-8:]
SIZES = [(w, h) for w in (480, 560, 640, 900, 1200, 1500) for h in (300, 420, 520, 720)]
"""Plot sizes (px) a crowd of 8 names must hold at: a report's box to a wide screen."""


def label_boxes(spec: dict[str, Any], width: float, height: float) -> dict[str, tuple[float, ...]]:
    """Each attribute name's box (x0, y0, x1, y1) in px on a plot of ``width`` x ``height``, from
    the spec alone: the scales' domains, the rows' slots and the text layers' offsets."""
    rows = spec["data"]["values"]
    layers = spec["layer"]
    (x_lo, x_hi), (y_lo, y_hi) = domains(spec)
    offsets = {}
    for layer in layers:
        if layer["mark"]["type"] != "text":
            continue
        slot = int(layer["transform"][0]["filter"].rsplit("==", 1)[1])
        mark = layer["mark"]
        offsets[slot] = (mark["align"], mark["dx"], mark["dy"])
    boxes = {}
    for row in rows:
        align, dx, dy = offsets[row["label_slot"]]
        px = (row["importance_pct"] - x_lo) / (x_hi - x_lo) * width + dx
        py = (y_hi - row["mean"]) / (y_hi - y_lo) * height + dy
        w = 0.58 * 16 * len(row["label"])  # a 16 px bold face is a little narrower than this
        x0 = {"left": px, "right": px - w, "center": px - w / 2}[align]
        boxes[row["label"]] = (x0, py - 9, x0 + w, py + 9)
    return boxes


def domains(spec: dict[str, Any]) -> tuple[list[float], list[float]]:
    points = next(layer["encoding"] for layer in spec["layer"] if layer["mark"]["type"] == "circle")
    return points["x"]["scale"]["domain"], points["y"]["scale"]["domain"]


def overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_three_attributes_on_one_spot_get_names_that_never_overlap() -> None:
    spec = charts.quadrant_chart(drivers()).to_dict()
    for width, height in SIZES:
        boxes = label_boxes(spec, width, height)
        for (a, box_a), (b, box_b) in itertools.combinations(boxes.items(), 2):
            assert not overlap(box_a, box_b), (a, b, width, height)
        for name, (x0, y0, x1, y1) in boxes.items():  # inside the plot: never over an axis
            assert x0 >= 0 and x1 <= width and y0 >= 0 and y1 <= height, (name, width, height)


def test_names_stay_off_the_points_and_far_ones_are_tied_to_theirs() -> None:
    spec = charts.quadrant_chart(drivers()).to_dict()
    rows = spec["data"]["values"]
    (x_lo, x_hi), (y_lo, y_hi) = domains(spec)
    crowd = [
        r for r in rows if r["label"] in ("Product quality", "Staff competence", "Cleanliness")
    ]
    assert len({(r["label_align"], r["label_dx"], r["label_dy"]) for r in crowd}) == 3
    for width, height in SIZES:
        boxes = label_boxes(spec, width, height)
        for row in rows:
            px = (row["importance_pct"] - x_lo) / (x_hi - x_lo) * width
            py = (y_hi - row["mean"]) / (y_hi - y_lo) * height
            dot = (px - 11, py - 11, px + 11, py + 11)
            assert not any(overlap(dot, box) for box in boxes.values()), (row["label"], width)
    far = [r for r in rows if abs(r["label_dy"]) > 26]
    rules = [layer for layer in spec["layer"] if layer["mark"]["type"] == "rule"]
    leaders = [r for r in rules if "y2Offset" in r["mark"]]
    assert len(leaders) == len({r["label_slot"] for r in far})


def test_a_few_spread_attributes_hold_even_on_a_narrow_plot() -> None:
    spread = drivers([("Price", 0.30, 6.4), ("Digital", 0.25, 7.5), ("Cleanliness", 0.45, 7.0)])
    spec = charts.quadrant_chart(spread).to_dict()
    for width, height in [(360, 300), (700, 520), (1500, 720)]:
        boxes = label_boxes(spec, width, height)
        assert not any(overlap(a, b) for a, b in itertools.combinations(boxes.values(), 2))
        assert all(b[0] >= 0 and b[2] <= width for b in boxes.values())


def test_the_placement_check_is_exact_over_plot_sizes() -> None:
    # Two points 0.1 of the width apart, labels 100 px wide side by side: they touch on plots
    # under ~1000 px and are apart beyond; only the range decides.
    a = placement.label_box(0.40, 0.5, 100, placement.Slot("left", 16, 0))
    b = placement.label_box(0.50, 0.5, 100, placement.Slot("left", 16, 0))
    assert placement.collide(a, b, widths=(360, 1500))
    assert not placement.collide(a, b, widths=(1200, 1500))


def x_axis(spec: dict[str, Any]) -> dict[str, Any]:
    """The x axis of the first layer (or of a facet's inner spec) that has one."""
    layers = spec.get("layer") or spec["spec"]["layer"]
    return next(
        layer["encoding"]["x"]["axis"]
        for layer in layers
        if "axis" in layer["encoding"].get("x", {})
    )


def drawn(spec: dict[str, Any]) -> list[tuple[float, str]]:
    """The wave labels Vega draws (x position in its group, text), rendered by vl-convert."""
    svg = vlc.vegalite_to_svg(spec)
    found = re.findall(
        r'<text[^>]*transform="translate\(([\d.\-]+),[\d.\-]+\)[^>]*>(\d{4}-Q\d)</text>', svg
    )
    return [(float(x), text) for x, text in found]


@pytest.mark.parametrize("width", [400, 560, 900, 1400])
def test_a_20_wave_evolution_names_every_kth_wave_that_fits_and_the_latest(width: int) -> None:
    spec = charts.nps_trend_chart(nps_trend(WAVES_20)).to_dict()
    axis = x_axis(spec)
    assert axis["labelAngle"] == 0 and axis["labelOverlap"] == "greedy"
    spec["width"] = width
    labels = drawn(spec)
    names = [text for _, text in labels]
    assert names == theme.every_kth(WAVES_20, width)  # Vega applies the rule at its own width
    assert names[-1] == "2026-Q4" and 3 <= len(names) < len(WAVES_20)
    gaps = [b - a for (a, _), (b, _) in itertools.pairwise(labels)]
    assert min(gaps) >= theme.text_width("2026-Q4")  # side by side, never over each other
    values = re.findall(r">(\d+\.\d)</text>", vlc.vegalite_to_svg(spec))
    texts = [f"{v:.1f}" for v in nps_trend(WAVES_20)["nps"]]
    assert len(values) == len(theme.every_kth(texts, width, 16)) <= len(WAVES_20)
    assert values[-1] == texts[-1]  # the latest value is always written


def test_eight_waves_are_all_named_on_a_wide_chart_and_every_other_on_a_narrow_one() -> None:
    spec = charts.nps_trend_chart(nps_trend(WAVES_8)).to_dict()
    spec["width"] = 1100
    assert [t for _, t in drawn(spec)] == WAVES_8
    spec["width"] = 480
    assert [t for _, t in drawn(spec)] == WAVES_8[1::2]


@pytest.mark.parametrize(("columns", "width"), [(4, 250), (2, 250), (3, 340)])
def test_small_multiples_name_few_waves_horizontally_and_stay_landscape(
    columns: int, width: int
) -> None:
    all_eight = (
        "Cleanliness",
        "Price",
        "Digital",
        "Waiting time",
        "Opening hours",
        "Staff attitude",
        "Staff competence",
        "Product quality",
    )
    chart = charts.attribute_trend_chart(
        attribute_trend(WAVES_20, all_eight), columns=columns, width=width
    )
    spec = chart.to_dict()
    axis = x_axis(spec)
    assert axis["labelAngle"] == 0 and "labelFontSize" not in axis  # the theme's 15 px
    assert "child_width" in axis["labelExpr"]  # thinned for the panel, not the whole grid
    names = [t for _, t in drawn(spec)]
    assert set(names) <= set(theme.every_kth(WAVES_20, width)) and "2026-Q4" in names
    rows = -(-8 // columns)
    inner = spec["spec"]
    assert columns * inner["width"] >= rows * inner["height"]  # wider than tall overall


def test_segment_names_at_the_end_of_their_lines_keep_a_line_apart() -> None:
    spec = charts.segment_trend_chart(segment_trend(WAVES_8)).to_dict()
    tags = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "text")
    lo, hi = tags["encoding"]["y"]["scale"]["domain"]
    ys = sorted(r["tag_y"] for r in tags["data"]["values"])
    px = [y / (hi - lo) * spec["height"] for y in ys]
    assert all(b - a >= 20 for a, b in itertools.pairwise(px))  # Business and Premium end 0.5 apart
    assert all(lo <= y <= hi for y in ys)


def test_a_negative_nps_is_written_right_of_the_zero_line_never_on_its_bar() -> None:
    df = pl.DataFrame(
        {
            "segment": ["Business", "Young", "New"],
            "nps": [31.5, -14.6, -0.7],
            "nps_moe": [3.0, 5.0, 8.0],
            "n": [900, 800, 60],
            "suppressed": [False] * 3,
            "low_base": [False] * 3,
        }
    )
    spec = charts.nps_bar_chart(df, "segment", "Segment").to_dict()
    text = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "text")
    assert text["encoding"]["x"]["field"] == "text_x" and text["mark"]["align"] == "left"
    at = {r["segment"]: r["text_x"] for r in spec["data"]["values"]}
    assert at == {"Business": 34.5, "Young": 0.0, "New": pytest.approx(7.3)}


def test_a_crowded_quadrant_in_a_small_report_box_is_drawn_at_its_layout_size_then_scaled() -> None:
    from cx.reports import images

    spec = charts.quadrant_chart(drivers()).to_dict()
    least_w, least_h = spec["usermeta"]["least_plot"]
    assert least_w > placement.WIDTHS[0]  # this crowd holds apart only on a wider plot
    fitted = images._fitted(spec, 420, 300)  # a slide's half-width box, in px
    assert fitted["width"] >= least_w and fitted["height"] >= least_h
    boxes = label_boxes(fitted, fitted["width"], fitted["height"])
    assert not any(overlap(a, b) for a, b in itertools.combinations(boxes.values(), 2))
