"""The one chart theme on ``chart.to_dict()``: labels never overlap (overlap removal, a length
limit, horizontal x labels) and no text of any chart is smaller than the projector minimum."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import altair as alt
import polars as pl
import pytest

from cx import charts
from cx.charts import fieldwork, theme
from tests.charts.frames import attribute_trend, drivers, nps_trend, segment_trend, theme_trend

FONT_KEYS = {"fontSize", "labelFontSize", "titleFontSize"}


def font_sizes(node: Any, path: str = "") -> Iterator[tuple[str, float]]:
    """Every font size of a spec (marks, axes, legends, headers, config), with where it is."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in FONT_KEYS and isinstance(value, int | float):
                yield f"{path}.{key}", float(value)
            else:
                yield from font_sizes(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from font_sizes(item, f"{path}[{i}]")


def test_the_theme_config_removes_overlapping_labels_and_keeps_type_big() -> None:
    config = alt.Chart(alt.Data(values=[{"a": 1}])).mark_point().to_dict()["config"]
    assert config["axis"]["labelOverlap"] == "parity"  # every other label: even steps
    assert config["axis"]["labelLimit"] == theme.LABEL_LIMIT
    assert config["axisX"]["labelAngle"] == 0
    assert config["axis"]["labelFontSize"] >= theme.MIN_FONT
    assert config["axis"]["titleFontSize"] >= theme.MIN_FONT
    assert config["legend"]["labelFontSize"] >= theme.MIN_FONT
    assert config["header"]["labelFontSize"] >= theme.MIN_FONT
    assert config["text"]["fontSize"] >= theme.MIN_FONT
    assert theme.MIN_FONT >= 14  # 14 px on a 1600 px wide projection reads from 3 m


def built_charts() -> dict[str, Any]:
    waves = [f"{y}-Q{q}" for y in range(2022, 2027) for q in range(1, 5)]
    funnel = pl.DataFrame(
        {
            "channel": ["email"] * 5,
            "stage": list(fieldwork.FUNNEL_STAGES),
            "count": [100, 90, 50, 30, 20],
        }
    )
    history = pl.DataFrame(
        {"wave": waves[-6:], "mean": [7.1, 7.0, 7.2, 6.9, 7.0, 5.9], "latest": [False] * 5 + [True]}
    )
    return {
        "nps_trend": charts.nps_trend_chart(nps_trend(waves)),
        "attribute_trend": charts.attribute_trend_chart(attribute_trend(waves)),
        "attribute_trend_2": charts.attribute_trend_chart(attribute_trend(waves), columns=2),
        "quadrant": charts.quadrant_chart(drivers()),
        "segment_trend": charts.segment_trend_chart(segment_trend(waves)),
        "theme_trend": charts.theme_trend_chart(theme_trend(waves)),
        "funnel": fieldwork.funnel_chart(funnel),
        "sparkline": charts.sparkline_chart(history),
    }


@pytest.mark.parametrize("name", list(built_charts()))
def test_no_text_of_a_chart_is_under_the_projector_minimum(name: str) -> None:
    spec = built_charts()[name].to_dict()
    small = [(where, size) for where, size in font_sizes(spec) if size < theme.MIN_FONT]
    assert small == []


def test_no_x_axis_of_these_charts_is_rotated() -> None:
    for name, chart in built_charts().items():
        angles = [a for _, a in _axis_values(chart.to_dict(), "labelAngle")]
        assert all(a == 0 for a in angles), (name, angles)


def _axis_values(node: Any, key: str) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "axis" and isinstance(v, dict) and key in v:
                yield k, v[key]
            yield from _axis_values(v, key)
    elif isinstance(node, list):
        for item in node:
            yield from _axis_values(item, key)


def test_a_heatmap_tilts_its_column_names_only_when_they_do_not_fit() -> None:
    def grid(segments: list[str]) -> dict[str, Any]:
        df = pl.DataFrame(
            {
                "rfm_tier": ["Loyal"] * len(segments),
                "segment": segments,
                "nps": [10.0] * len(segments),
                "nps_moe": [3.0] * len(segments),
                "n": [100] * len(segments),
                "suppressed": [False] * len(segments),
                "low_base": [False] * len(segments),
            }
        )
        return charts.tier_segment_heatmap(df, ["Loyal"]).to_dict()

    short = grid(["Retail", "Premium", "Business", "Young"])
    long = grid(["Retail", "Small and medium businesses"])
    assert {a for _, a in _axis_values(short, "labelAngle")} == {0}  # one axis per layer
    assert {a for _, a in _axis_values(long, "labelAngle")} == {-35}
