"""Display names shared by queries, charts, reports and screens, so a label reads the same
everywhere (one table each, not a copy per area)."""

from __future__ import annotations

import polars as pl

LEVEL_LABELS = {
    "region": "Region",
    "country": "Country",
    "agency": "Agency",
    "advisor_id": "Advisor",
    "channel": "Channel",
    "segment": "Segment",
}
"""Breakdown level (a response column) -> its name on screen."""

QUADRANTS = ("key_strength", "improvement_area", "secondary_strength", "secondary_weakness")
"""Key-driver quadrants (``cx drivers``'s ``quadrant`` values), in reading order."""

QUADRANT_LABELS = {
    "key_strength": "Key strength",
    "improvement_area": "Improvement area",
    "secondary_strength": "Secondary strength",
    "secondary_weakness": "Secondary weakness",
}
"""Quadrant id -> its name on screen.

>>> [QUADRANT_LABELS[q] for q in QUADRANTS][:2]
['Key strength', 'Improvement area']
"""


def change_note() -> pl.Expr:
    """The note of a breakdown or trend row, the same on screen and in reports: hidden (n < 5),
    low base, or a significant move up or down (from ``suppressed``, ``low_base``, ``significant``
    and ``change``).

    >>> rows = pl.DataFrame({"suppressed": [True, False, False, False], "low_base": [False, True, False, False],
    ...                      "significant": [False, False, True, False], "change": [None, 1.0, -4.2, 3.0]})
    >>> rows.select(change_note())["note"].to_list()
    ['hidden (n < 5)', 'low base', '▼ significant', '']
    """
    return (
        pl.when(pl.col("suppressed"))
        .then(pl.lit("hidden (n < 5)"))
        .when(pl.col("low_base"))
        .then(pl.lit("low base"))
        .when(pl.col("significant") & (pl.col("change") > 0))
        .then(pl.lit("▲ significant"))
        .when(pl.col("significant") & (pl.col("change") < 0))
        .then(pl.lit("▼ significant"))
        .otherwise(pl.lit(""))
        .alias("note")
    )
