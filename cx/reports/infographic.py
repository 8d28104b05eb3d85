"""The one-page infographic of a scope's key figures (for a country manager's wall or e-mail).

One Vega-Lite composition (big-number tiles, the NPS trend, the shares bar and the level below)
built from the same queries and chart functions as the screens, written as PNG or PDF by
``vl-convert`` without a browser.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import altair as alt
import polars as pl
import vl_convert as vlc

from cx import charts
from cx.analytics import overview, takeaways
from cx.core import labels
from cx.core.filters import Filters
from cx.core.scope import Scope
from cx.reports.model import scope_label

WIDTH = 1100
FORMATS = (".png", ".pdf")


class InfographicError(ValueError):
    """The infographic cannot be written (unknown format, missing folder, empty scope)."""


def tiles(headline: pl.DataFrame) -> pl.DataFrame:
    """The big numbers as rows ``label``, ``value``, ``note`` (suppressed cells say so)."""
    row = headline.row(0, named=True)
    hidden = bool(row["suppressed"])
    change = "–" if row["change"] is None or hidden else f"{row['change']:+.1f}"
    verdict = (
        ""
        if row["change"] is None
        else ("significant" if row["significant"] else "not significant")
    )
    return pl.DataFrame(
        {
            "order": [0, 1, 2, 3],
            "label": [
                "NPS",
                f"Change vs {row['prev_wave'] or '–'}",
                "Responses",
                "CSAT (top-2-box)",
            ],
            "value": [
                "hidden" if hidden else f"{row['nps']:.1f}",
                change,
                f"{row['n']:,}",
                "–" if row["csat"] is None or hidden else f"{row['csat']:.0f} %",
            ],
            "note": [
                "fewer than 5 answers" if hidden else f"± {row['nps_moe']:.1f} (95 % margin)",
                verdict,
                "low base (n < 30)" if row["low_base"] else "",
                "",
            ],
        }
    )


def tiles_chart(df: pl.DataFrame, width: int = WIDTH) -> alt.LayerChart:
    """Four big-number tiles side by side (text marks on a banded background)."""
    base = alt.Chart(alt.Data(values=df.to_dicts())).encode(
        x=alt.X("order:O", axis=None, scale=alt.Scale(paddingInner=0.08, paddingOuter=0)),
    )
    band = base.mark_bar(color="#f3f6fd", cornerRadius=6).encode(y=alt.datum(0), y2=alt.datum(3))
    label = base.mark_text(
        fontSize=18, fontWeight=600, color=charts.PALETTE["muted"], dy=-52
    ).encode(y=alt.datum(1.5), text="label:N")
    value = base.mark_text(fontSize=54, fontWeight=700, color=charts.PALETTE["ink"], dy=6).encode(
        y=alt.datum(1.5), text="value:N"
    )
    note = base.mark_text(fontSize=16, color=charts.PALETTE["muted"], dy=56).encode(
        y=alt.datum(1.5), text="note:N"
    )
    return (
        alt.layer(band, label, value, note)
        .encode(y=alt.Y(scale=alt.Scale(domain=[0, 3]), axis=None))
        .properties(width=width, height=170)
    )


def title_chart(title: str, subtitle: str, width: int = WIDTH) -> alt.Chart:
    """A text-only header: the infographic's title and its takeaway sentence."""
    return (
        alt.Chart(alt.Data(values=[{}]))
        .mark_text()
        .properties(
            width=width,
            height=1,
            title=alt.TitleParams(
                title,
                subtitle=subtitle,
                fontSize=34,
                subtitleFontSize=18,
                subtitleColor=charts.PALETTE["ink"],
                anchor="start",
                offset=14,
                subtitleLineHeight=24,
            ),
        )
    )


def _wrap(text: str, width: int = 110) -> list[str]:
    """Split a sentence into lines of at most ``width`` characters (Vega titles do not wrap)."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    return [*lines, current] if current else lines


def infographic_chart(
    frame: pl.LazyFrame, scope: Scope, filters: Filters, *, scope_name: str
) -> Any:
    """The whole page as one Altair composition (the same charts as the screens)."""
    all_waves = overview.waves(frame)
    f = filters if filters.wave else filters.with_wave(all_waves[-1])
    head = overview.headline(frame, scope, f)
    levels = overview.breakdown_levels(scope)
    level = levels[-1] if levels else None
    table = overview.breakdown(frame, scope, f, level) if level else pl.DataFrame()
    trend = overview.nps_trend(frame, scope, f)
    sentence = takeaways.overview_takeaway(head, table if level else None)
    parts: list[Any] = [
        title_chart(f"{scope_name} · {f.wave}", "\n".join(_wrap(sentence))),  # type: ignore[arg-type]
        tiles_chart(tiles(head)),
    ]
    if not head["suppressed"][0] and head["n"][0]:
        parts.append(
            charts.shares_chart(head).properties(
                width=WIDTH, title="Promoters, passives, detractors"
            )
        )
    if not trend.filter(~pl.col("suppressed")).is_empty():
        parts.append(charts.nps_trend_chart(trend).properties(width=WIDTH, height=300))
    if level and not table.is_empty():
        label = labels.LEVEL_LABELS[level]
        parts.append(
            charts.nps_bar_chart(table, level, label).properties(
                width=WIDTH, title=f"NPS by {label.lower()}"
            )
        )
    # Each part keeps its own colour scales and legends, exactly as on screen.
    return (
        alt.vconcat(*parts, spacing=34)
        .resolve_scale(color="independent", fill="independent")
        .resolve_legend(color="independent", fill="independent")
        .properties(
            padding={"left": 36, "right": 36, "top": 30, "bottom": 30},
            background="white",
        )
    )


def write_infographic(
    frame: pl.LazyFrame, scope: Scope, filters: Filters, out: Path, *, scope_name: str | None = None
) -> Path:
    """Write the infographic to ``out`` (``.png`` or ``.pdf``)."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise InfographicError(
            f"{out}: unknown infographic format {suffix or '(none)'!r}; use .png or .pdf"
        )
    if scope.is_empty:
        raise InfographicError("empty scope: this user sees no rows, so there is nothing to show")
    if not out.parent.exists():
        raise InfographicError(f"{out.parent}: folder does not exist")
    spec = infographic_chart(
        frame, scope, filters, scope_name=scope_name or scope_label(scope)
    ).to_dict()
    data = vlc.vegalite_to_png(spec, scale=2) if suffix == ".png" else vlc.vegalite_to_pdf(spec)
    out.write_bytes(bytes(data))
    return out
