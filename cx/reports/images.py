"""Chart images: the screens' Altair charts as PNG, rendered by ``vl-convert`` without a browser,
sized for the box they fill on a page or slide so that their type prints at a fixed size."""

from __future__ import annotations

import functools
import json
import math
import re
import struct
from typing import Any

import altair as alt
import vl_convert as vlc

CHART_WIDTH = 900
"""Vega-Lite width (px) of a chart image when no box is given."""
PX_PER_PT = 80 / 72
"""Vega-Lite pixels per point of page or slide: the theme's 15 px labels print at 13.5 pt."""
MIN_FONT_PX = 14
"""Smallest type of a chart in a report (12.6 pt on the page): sizes below it are raised."""
MIN_STEP = 0.72
"""Share of its designed band height a bar chart keeps in a low box (its labels need room)."""
_FONT_KEYS = frozenset({"fontSize", "labelFontSize", "titleFontSize"})


def chart_png(
    chart: Any, *, width: int = CHART_WIDTH, height: int | None = None, scale: float = 2.0
) -> bytes:
    """The Altair chart as a PNG (white background), rendered by vl-convert without a browser.

    With ``height``, the chart is laid out to fill ``width`` × ``height`` px (a single or layered
    view exactly, a faceted one by sizing its panels), so its fonts are not shrunk to fit a box.
    """
    spec = chart.to_dict()
    spec["background"] = "white"
    _raise_fonts(spec)
    if height is not None:
        spec = _fitted(spec, width, height)
    elif width and isinstance(chart, alt.Chart | alt.LayerChart):
        spec["width"] = width
    return _render(_key(spec), scale)


def png_for_box(chart: Any, width_pt: float, height_pt: float) -> bytes:
    """The chart rendered for a box of the page, in points (see :data:`PX_PER_PT`)."""
    return chart_png(chart, width=round(width_pt * PX_PER_PT), height=round(height_pt * PX_PER_PT))


MIN_PLOT = 120
"""Smallest height (px) of a chart's plot, below which it is no longer read from the back."""


def least_height(chart: Any) -> float:
    """The lowest the chart can be drawn (px) and still be read: what lies around its plots plus
    :data:`MIN_PLOT` per row of plots, or :data:`MIN_STEP` of its designed height when sized by
    steps. A concatenation needs its own height."""
    spec = chart.to_dict()
    _raise_fonts(spec)
    if any(k in spec for k in ("hconcat", "vconcat", "concat", "repeat")):
        return float(_svg_size(_key(spec))[1])
    columns = rows = 1
    if "facet" in spec and isinstance(spec.get("spec"), dict):
        panels = _facet_count(spec)
        if not panels:
            return float(_svg_size(_key(spec))[1])
        columns = min(int(spec.get("columns") or panels), panels)
        rows = math.ceil(panels / columns)
    spec["autosize"] = {"type": "pad"}
    _, around_h, natural_h = _around(_key(spec), columns, rows)
    return float(around_h + max(MIN_PLOT * rows, MIN_STEP * natural_h))


def _key(spec: dict[str, Any]) -> str:
    return json.dumps(spec, sort_keys=True, default=str)


def _raise_fonts(node: Any) -> None:
    """Raise every font size of the spec (marks, axes, legends, headers) to :data:`MIN_FONT_PX`."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _FONT_KEYS and isinstance(value, int | float) and value < MIN_FONT_PX:
                node[key] = MIN_FONT_PX
            else:
                _raise_fonts(value)
    elif isinstance(node, list):
        for item in node:
            _raise_fonts(item)


def _fitted(spec: dict[str, Any], width: int, height: int) -> dict[str, Any]:
    """The spec sized so that all of it (axes, legends, headers, labels past the bars) fills
    ``width`` × ``height`` px: the plot gets the box less what lies around it, as measured once
    per chart (:func:`_around`). A faceted spec sizes its panels; a concatenation keeps its size.

    A chart sized by steps (one bar per band) keeps at least :data:`MIN_STEP` of its bands'
    height, so no label is dropped as overlapping: in a box too low for that it is drawn larger
    and placed scaled down, fonts and all."""
    if any(k in spec for k in ("hconcat", "vconcat", "concat", "repeat")):
        return spec
    columns = rows = 1
    target = spec
    if "facet" in spec and isinstance(spec.get("spec"), dict):
        panels = _facet_count(spec)
        if not panels:
            return spec  # a row/column facet: placed at its own size, scaled into the box
        columns = min(int(spec.get("columns") or panels), panels)
        rows = math.ceil(panels / columns)
        target = spec["spec"]
    spec["autosize"] = {"type": "pad"}  # the drawing grows to hold everything: measurable
    around_w, around_h, natural_h = _around(_key(spec), columns, rows)
    plot_h = (height - around_h) / rows
    least = MIN_STEP * natural_h / rows
    scale = (rows * least + around_h) / height if plot_h < least else 1.0
    least_plot = (spec.get("usermeta") or {}).get("least_plot")
    if least_plot and columns == rows == 1:
        # labels laid out for a plot at least this big (cx.charts.placement): drawn at that
        # size and scaled into the box, so they keep apart
        need_w, need_h = float(least_plot[0]), float(least_plot[1])
        scale = max(scale, (need_w + around_w) / width, (need_h + around_h) / height)
        if scale > 1:
            target["width"] = int(width * scale - around_w)
            target["height"] = int(height * scale - around_h)
            return spec
    target["width"] = max(int((width * scale - around_w) // columns), 40)
    target["height"] = max(int(max(plot_h, least if scale > 1 else 0)), 40)
    return spec


_PROBE = (400, 300)


@functools.lru_cache(maxsize=64)
def _around(spec: str, columns: int, rows: int) -> tuple[int, int, int]:
    """What a chart draws around its plots (axes, legends, titles, headers), in px across and
    down, and the height its plots take at their designed step (0 when not sized by steps):
    measured once per chart from an SVG layout, whatever box it is then drawn for."""
    probe = json.loads(spec)
    target = probe["spec"] if "facet" in probe else probe
    target["width"] = _PROBE[0]
    natural = 0
    if isinstance(target.get("height"), dict):
        natural = _svg_size(_key(probe))[1]
    target["height"] = _PROBE[1]
    drawn_w, drawn_h = _svg_size(_key(probe))
    around_w, around_h = drawn_w - columns * _PROBE[0], drawn_h - rows * _PROBE[1]
    return around_w, around_h, max(natural - around_h, 0)


def _facet_count(spec: dict[str, Any]) -> int:
    """How many panels a faceted spec draws (distinct values of its facet field), 0 if unknown."""
    facet = spec.get("facet")
    field = facet.get("field") if isinstance(facet, dict) else None
    data = spec.get("data") or {}
    values = data.get("values")
    if values is None and "name" in data:
        values = (spec.get("datasets") or {}).get(data["name"])
    if not field or not isinstance(values, list):
        return 0
    return len({json.dumps(row.get(field), default=str) for row in values if isinstance(row, dict)})


@functools.lru_cache(maxsize=64)
def _svg_size(spec: str) -> tuple[int, int]:
    svg = vlc.vegalite_to_svg(json.loads(spec))
    found = re.search(r'width="([\d.]+)" height="([\d.]+)"', svg)
    return (round(float(found[1])), round(float(found[2]))) if found else (0, 0)


@functools.lru_cache(maxsize=64)
def _render(spec: str, scale: float) -> bytes:
    """Rendering is the slow part; the pages of one build that show a chart share its image."""
    return bytes(vlc.vegalite_to_png(json.loads(spec), scale=scale))


def clear_cache() -> None:
    """Forget the rendered images (a benchmark run renders every chart again)."""
    _render.cache_clear()
    _svg_size.cache_clear()
    _around.cache_clear()


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height of a PNG from its IHDR header."""
    w, h = struct.unpack(">II", png[16:24])
    return int(w), int(h)
