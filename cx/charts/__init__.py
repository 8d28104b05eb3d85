"""Charts: pure ``<noun>_chart(df) -> alt.Chart`` functions, one module per area, one theme.

Pages and reports call them through this package (``charts.nps_trend_chart(trend)``); chart
modules import only :mod:`cx.core` and :mod:`cx.charts.theme`.
"""

from cx.charts.alerts import sparkline_chart
from cx.charts.analytics import (
    attribute_trend_chart,
    comparison_chart,
    importance_chart,
    quadrant_chart,
    segment_nps_chart,
    segment_trend_chart,
    tier_segment_heatmap,
    value_chart,
)
from cx.charts.benchmarks import attribute_benchmark_chart, league_chart, world_map_chart
from cx.charts.cases import case_status_chart, reach_rate_chart
from cx.charts.fieldwork import daily_progress_chart, rate_chart
from cx.charts.overview import nps_bar_chart, nps_trend_chart, shares_chart
from cx.charts.plans import daily_responses_chart, drivers_chart, plan_effect_chart, tracker_chart
from cx.charts.theme import PALETTE, records
from cx.charts.voice import (
    theme_impact_chart,
    theme_polarity_chart,
    theme_polarity_trend_chart,
    theme_trend_chart,
    theme_volume_chart,
)

__all__ = [
    "PALETTE",
    "attribute_benchmark_chart",
    "attribute_trend_chart",
    "case_status_chart",
    "comparison_chart",
    "daily_progress_chart",
    "daily_responses_chart",
    "drivers_chart",
    "importance_chart",
    "league_chart",
    "nps_bar_chart",
    "nps_trend_chart",
    "plan_effect_chart",
    "quadrant_chart",
    "rate_chart",
    "reach_rate_chart",
    "records",
    "segment_nps_chart",
    "segment_trend_chart",
    "shares_chart",
    "sparkline_chart",
    "theme_impact_chart",
    "theme_polarity_chart",
    "theme_polarity_trend_chart",
    "theme_trend_chart",
    "theme_volume_chart",
    "tier_segment_heatmap",
    "tracker_chart",
    "value_chart",
    "world_map_chart",
]
