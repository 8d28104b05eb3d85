"""Small files and data folders for the importer's tests (literal rows, written on the spot)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from tests.support.datadir import write_waves

HEADER = "response_id,responded_at,customer_id,region,country,agency,nps,comment"


def csv(path: Path, lines: list[str], header: str = HEADER) -> Path:
    """Write a CSV export: ``header`` then ``lines``."""
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


def rows(prefix: str, n: int, *, day: str = "2026-10-01", agency: str = "Madrid") -> list[str]:
    """``n`` clean Madrid rows with ids ``<prefix>0..``."""
    return [
        f"{prefix}{i},{day} 10:00:00,{prefix}C{i},Europe,ES,{agency},{i % 11},fine"
        for i in range(n)
    ]


def demo_like_waves(root: Path) -> Path:
    """Two stored waves shaped like the demo's files: Int8 scores and attributes, ``excluded``,
    ``weight``, no ``exclusion_reason`` (the importer adds that column to the waves it writes)."""
    frame = pl.DataFrame(
        {
            "response_id": ["D1", "D2", "D3", "D4"],
            "wave": ["2026-Q2", "2026-Q2", "2026-Q3", "2026-Q3"],
            "responded_at": [
                datetime(2026, 5, 1, tzinfo=UTC),
                datetime(2026, 5, 2, tzinfo=UTC),
                datetime(2026, 8, 1, tzinfo=UTC),
                datetime(2026, 8, 2, tzinfo=UTC),
            ],
            "customer_id": ["K1", "K2", "K3", "K4"],
            "region": ["Europe"] * 4,
            "country": ["ES", "ES", "FR", "FR"],
            "agency": ["Madrid", "Madrid", "Paris", "Paris"],
            "nps": pl.Series([9, 3, 10, 7], dtype=pl.Int8),
            "attr_cleanliness": pl.Series([8, 2, 9, 6], dtype=pl.Int8),
            "comment": ["bien", None, "très bien", "ok"],
            "weight": [1.0, 1.0, 1.0, 1.0],
            "excluded": [False, False, False, False],
        }
    )
    return write_waves(root, frame)
