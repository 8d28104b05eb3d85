"""Chart images: the screens' Altair charts as PNG, rendered by ``vl-convert`` without a browser."""

from __future__ import annotations

import functools
import json
import struct
from typing import Any

import altair as alt
import vl_convert as vlc

CHART_WIDTH = 900
"""Vega-Lite width (px) of a full-width chart image; rendered at 2x for a sharp projector image."""


def chart_png(chart: Any, *, width: int = CHART_WIDTH, scale: float = 2.0) -> bytes:
    """The Altair chart as a PNG (white background), rendered by vl-convert without a browser."""
    sized = width and isinstance(chart, alt.Chart | alt.LayerChart)
    spec = chart.properties(width=width).to_dict() if sized else chart.to_dict()
    spec["background"] = "white"
    return _render(json.dumps(spec, sort_keys=True, default=str), scale)


@functools.lru_cache(maxsize=32)
def _render(spec: str, scale: float) -> bytes:
    """Rendering is the slow part; the PDF and the deck of one build share their images."""
    return bytes(vlc.vegalite_to_png(json.loads(spec), scale=scale))


def clear_cache() -> None:
    """Forget the rendered images (a benchmark run renders every chart again)."""
    _render.cache_clear()


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height of a PNG from its IHDR header."""
    w, h = struct.unpack(">II", png[16:24])
    return int(w), int(h)
