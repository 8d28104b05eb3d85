"""The one chart theme: colours, fonts and the Altair theme registered on import.

Sized for a projector read from 3 m: no text under :data:`MIN_FONT` px, few colours, labelled
axes. Labels never collide: every axis drops the labels that would overlap (``labelOverlap``),
cuts long ones (``labelLimit``) and stays horizontal; wave axes show every k-th wave counted
back from the latest (:func:`wave_axis`), so 20 waves read as well as 8. Every chart module takes
its colours from :data:`PALETTE`, its data through :func:`records`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import altair as alt
import polars as pl

PALETTE = {
    "ink": "#1f2a44",
    "muted": "#6b7280",
    "grid": "#e5e7eb",
    "brand": "#2f5fd0",
    "band": "#9db4ec",
    "promoter": "#1a9850",
    "passive": "#f2b134",
    "detractor": "#d73027",
    "low_base": "#b8bec9",
    "up": "#1a9850",
    "down": "#d73027",
}
FONT = "Inter, 'DejaVu Sans', 'Segoe UI', sans-serif"
THEME = "cx"

MIN_FONT = 14
"""Smallest text of any chart, in px (axis labels, legends, marks): readable from the back row."""
LABEL_FONT = 15
"""Axis and legend labels, mark labels."""
TITLE_FONT = 16
"""Axis and legend titles, facet headers."""
LABEL_LIMIT = 260
"""Longest axis label, in px, before it is cut with an ellipsis."""
GLYPH_WIDTH = 0.64
"""Average width of a character of the theme's font, as a share of its size (bold, conservative)."""
WAVE_AXIS_WIDTH = 760
"""Width (px) a wave axis is thinned for where Vega gives no width (a chart inside a concat)."""
WAVE_STEPS = (1, 2, 4, 6, 8, 12, 24)
"""Steps between named waves: quarters fall on the same quarter each year, months on half-years."""


@alt.theme.register(THEME, enable=True)
def cx_theme() -> alt.theme.ThemeConfig:
    """The single chart theme: big type for screensharing, quiet grid, brand colours."""
    return {
        "config": {
            "font": FONT,
            "background": "transparent",
            "view": {"stroke": None},
            "title": {
                "fontSize": 22,
                "fontWeight": 600,
                "color": PALETTE["ink"],
                "anchor": "start",
                "offset": 12,
            },
            "axis": {
                "labelFontSize": LABEL_FONT,
                "titleFontSize": TITLE_FONT,
                "titleColor": PALETTE["muted"],
                "labelColor": PALETTE["ink"],
                "gridColor": PALETTE["grid"],
                "domainColor": PALETTE["grid"],
                "tickColor": PALETTE["grid"],
                "titleFontWeight": 500,
                # Labels that would touch are dropped (every other one, so steps stay even),
                # never drawn over each other; wave axes thin themselves (wave_axis).
                "labelOverlap": "parity",
                "labelSeparation": 10,
                "labelLimit": LABEL_LIMIT,
                "labelPadding": 6,
            },
            "axisX": {"labelAngle": 0},  # horizontal unless a chart asks (see label_angle)
            "legend": {
                "labelFontSize": LABEL_FONT,
                "titleFontSize": LABEL_FONT,
                "labelLimit": 320,
                "orient": "top",
                "symbolSize": 160,
            },
            "header": {
                "labelColor": PALETTE["ink"],
                "labelFontSize": TITLE_FONT + 1,
                "titleFontSize": TITLE_FONT + 1,
                "labelLimit": 320,
            },
            "text": {"fontSize": LABEL_FONT, "color": PALETTE["ink"]},
            "range": {
                "category": [
                    PALETTE["brand"],
                    "#e8773a",
                    "#2aa198",
                    "#8e6bbf",
                    "#c2418f",
                    "#7f8c8d",
                    "#b58900",
                    "#268bd2",
                ]
            },
        }
    }


def records(df: pl.DataFrame) -> alt.Data:
    """Altair data from a Polars frame (values inline, so the spec is self-contained)."""
    return alt.Data(values=df.to_dicts())


def text_width(text: str, font_size: float = LABEL_FONT) -> float:
    """Estimated width in px of ``text`` set in the theme's font (no font metrics at hand: an
    average glyph width, on the wide side, so layouts err towards more room).

    >>> text_width("2026-Q3")
    67.2
    """
    return round(len(text) * GLYPH_WIDTH * font_size, 1)


def every_kth(labels: Sequence[str], width: float, font_size: float = LABEL_FONT) -> list[str]:
    """The labels of an axis of ``width`` px that fit side by side: every k-th one counted back
    from the last (the latest wave is always named), k as small as the room allows.

    >>> waves = [f"{y}-Q{q}" for y in range(2022, 2027) for q in range(1, 5)]  # 20 waves
    >>> every_kth(waves, 760)  # 9 would fit: every 4th, the same quarter of each year
    ['2022-Q4', '2023-Q4', '2024-Q4', '2025-Q4', '2026-Q4']
    >>> every_kth(waves[:12], 760)
    ['2022-Q2', '2022-Q4', '2023-Q2', '2023-Q4', '2024-Q2', '2024-Q4']
    >>> every_kth(waves[:8], 760) == waves[:8]
    True
    """
    if not labels:
        return []
    slot = max(text_width(str(label), font_size) for label in labels) + 12  # 12 px apart
    fits = max(int(width // slot), 1)
    need = math.ceil(len(labels) / fits)
    k = next((step for step in WAVE_STEPS if step >= need), need)
    return [str(label) for label in labels[::-1][::k][::-1]]


def _step_expr(n: int, slot: float, size: str) -> str:
    """Vega expression of :func:`every_kth`'s step for the plot's actual width (the ``size``
    signal: ``width`` of a view, ``child_width`` of a facet's panel; 0 inside a concat, where
    :data:`WAVE_AXIS_WIDTH` stands in)."""
    room = f"({size} > 0 ? {size} : {WAVE_AXIS_WIDTH})"
    need = f"ceil({n} / max(floor({room} / {slot:g}), 1))"
    return "".join(f"{need} <= {step} ? {step} : " for step in WAVE_STEPS) + need


def slot_width(texts: Sequence[str], font_size: float = LABEL_FONT) -> float:
    """Room (px) one of ``texts`` needs side by side with the next: the widest one and a gap."""
    return max((text_width(str(t), font_size) for t in texts), default=0.0) + 12


def kept(n: int, slot: float, position: str, *, size: str = "width") -> str:
    """Vega expression: whether the item at ``position`` (an expression of its 0-based place
    among ``n`` evenly spread items, e.g. waves) is one of every k-th counted back from the last,
    k as small as ``slot`` px per item allows on the plot's actual width (see :func:`every_kth`)."""
    return f"(({n - 1} - ({position})) % ({_step_expr(n, slot, size)})) == 0"


def wave_axis(waves: Sequence[str], *, size: str = "width", **options: Any) -> alt.Axis:
    """A horizontal axis of waves naming every k-th wave back from the latest, k as small as the
    plot's actual width allows (the rule of :func:`every_kth`, evaluated by Vega on the width it
    draws at: a wide screen names all 8 waves, a report box every other one, 20 waves every
    4th); greedy overlap removal stays as the safety net."""
    n = len(waves)
    position = f"round(datum.index * {max(n - 1, 1)})"  # Vega gives a band tick's index in 0..1
    named = kept(n, slot_width(waves), position, size=size)
    return alt.Axis(
        labelExpr=f"{named} ? datum.label : ''",
        labelAngle=0,
        labelOverlap="greedy",
        **options,
    )


def label_angle(labels: Sequence[str], band: float, font_size: float = LABEL_FONT) -> int:
    """0 when the widest label fits its band of ``band`` px, else -35: an x axis whose every
    label must show (heatmap columns) tilts only when it has to.

    >>> label_angle(["Retail", "Premium"], 120), label_angle(["Potential loyalists"], 60)
    (0, -35)
    """
    widest = max((text_width(str(label), font_size) for label in labels), default=0.0)
    return 0 if widest + 8 <= band else -35
