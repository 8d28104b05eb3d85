"""The one chart theme: colours, fonts and the Altair theme registered on import.

Sized for a projector: large fonts, few colours, labelled axes. Every chart module takes its
colours from :data:`PALETTE` and its data through :func:`records`.
"""

from __future__ import annotations

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
                "labelFontSize": 15,
                "titleFontSize": 16,
                "titleColor": PALETTE["muted"],
                "labelColor": PALETTE["ink"],
                "gridColor": PALETTE["grid"],
                "domainColor": PALETTE["grid"],
                "tickColor": PALETTE["grid"],
                "titleFontWeight": 500,
            },
            "legend": {
                "labelFontSize": 15,
                "titleFontSize": 15,
                "orient": "top",
                "symbolSize": 160,
            },
            "header": {"labelFontSize": 16, "titleFontSize": 16},
            "text": {"fontSize": 15, "color": PALETTE["ink"]},
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
