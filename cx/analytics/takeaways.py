"""One-sentence takeaways computed from query results (plain text, for the top of a screen)."""

from __future__ import annotations

import polars as pl

from cx.core.labels import LEVEL_LABELS


def _change_words(change: float | None, significant: bool, prev_wave: str | None) -> str:
    if change is None or prev_wave is None:
        return "no earlier wave to compare with"
    direction = "up" if change > 0 else "down" if change < 0 else "flat"
    verdict = "a significant change" if significant else "not a significant change"
    return f"{direction} {abs(change):.1f} points vs {prev_wave} ({verdict})"


def overview_takeaway(headline: pl.DataFrame, breakdown: pl.DataFrame | None = None) -> str:
    """E.g. "NPS is 12.8 ± 2.7 in 2026-Q3, up 3.3 points vs 2026-Q2 (not a significant change);
    lowest agency: Madrid at 8.1."."""
    row = headline.row(0, named=True)
    if row["n"] == 0:
        return f"No responses in {row['wave']} for this scope and these filters."
    if row["suppressed"]:
        return (
            f"Only {row['n']} responses in {row['wave']}: too few to show a score (fewer than 5)."
        )
    text = f"NPS is {row['nps']:.1f} ± {row['nps_moe']:.1f} in {row['wave']}, " + _change_words(
        row["change"], bool(row["significant"]), row["prev_wave"]
    )
    if row["low_base"]:
        text += f"; low base (n = {row['n']}), read with care"
    if breakdown is not None and breakdown.height > 1:
        ranked = breakdown.filter(pl.col("rank").is_not_null() & ~pl.col("suppressed"))
        if ranked.height > 1:
            level = breakdown["level"][0]
            worst = ranked.sort("nps").row(0, named=True)
            text += f"; lowest {LEVEL_LABELS.get(level, level).lower()}: {worst[level]} at {worst['nps']:.1f}"
    return text + "."
