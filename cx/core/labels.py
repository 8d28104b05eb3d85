"""Display names shared by queries, charts, reports and screens, so a label reads the same
everywhere (one table each, not a copy per area)."""

from __future__ import annotations

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
