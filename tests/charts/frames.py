"""Tiny literal frames shaped like the query results the charts draw (any number of waves)."""

from __future__ import annotations

import polars as pl


def nps_trend(waves: list[str]) -> pl.DataFrame:
    n = len(waves)
    nps = [10.0 + (i % 5) for i in range(n)]
    return pl.DataFrame(
        {
            "wave": waves,
            "nps": nps,
            "nps_moe": [2.5] * n,
            "lo": [v - 2.5 for v in nps],
            "hi": [v + 2.5 for v in nps],
            "n": [400] * n,
            "suppressed": [False] * n,
            "low_base": [False] * n,
            "significant": [i == n - 1 for i in range(n)],
            "change": [None, *[1.0] * (n - 1)],
        }
    )


def attribute_trend(
    waves: list[str], labels: tuple[str, ...] = ("Cleanliness", "Price")
) -> pl.DataFrame:
    rows = [
        {
            "attribute": f"attr_{label.lower()}",
            "label": label,
            "wave": wave,
            "order": i,
            "mean": 7.0 + 0.1 * (i % 3),
            "change": 0.1,
            "n": 300,
            "suppressed": False,
            "significant": i == len(waves) - 1,
        }
        for label in labels
        for i, wave in enumerate(waves)
    ]
    return pl.DataFrame(rows)


def drivers(points: list[tuple[str, float, float]] | None = None) -> pl.DataFrame:
    """Key drivers (label, importance share, mean); by default three almost on one spot."""
    points = points or [
        ("Staff attitude", 0.18, 7.33),
        ("Product quality", 0.130, 7.22),
        ("Staff competence", 0.131, 7.21),
        ("Cleanliness", 0.129, 7.22),
        ("Waiting time", 0.17, 6.63),
        ("Opening hours", 0.07, 7.33),
        ("Digital", 0.08, 6.93),
        ("Price", 0.10, 6.40),
    ]
    return pl.DataFrame(
        {
            "attribute": [f"attr_{p[0].lower().replace(' ', '_')}" for p in points],
            "label": [p[0] for p in points],
            "importance": [p[1] for p in points],
            "mean": [p[2] for p in points],
            "quadrant": ["key_strength"] * len(points),
            "significant": [True] * len(points),
        }
    )


def segment_trend(waves: list[str]) -> pl.DataFrame:
    rows = [
        {
            "segment": segment,
            "wave": wave,
            "nps": base + i * 0.1,
            "nps_moe": 3.0,
            "n": 200,
            "suppressed": False,
        }
        for segment, base in (("Business", 30.0), ("Premium", 29.5), ("Retail", 15.0))
        for i, wave in enumerate(waves)
    ]
    return pl.DataFrame(rows)


def theme_trend(waves: list[str]) -> pl.DataFrame:
    rows = [
        {
            "wave": wave,
            "theme": theme,
            "label": label,
            "mentions": 40,
            "n_comments": 200,
            "share": 0.2,
            "change": 0.0,
            "z": 0.0,
            "significant": False,
            "low_base": False,
            "suppressed": False,
            "order": i,
        }
        for theme, label in (("waiting_time", "Waiting time"), ("price", "Price"))
        for i, wave in enumerate(waves)
    ]
    return pl.DataFrame(rows)
