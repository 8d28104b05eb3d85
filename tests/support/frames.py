"""Tiny literal frames used by tests of more than one package (hand-checked values)."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

COMMENTS = [
    "The agency was dirty and the staff rude, terrible.",
    "Great service, very friendly staff!",
    None,
    "Waited an hour, too long.",
    "Todo bien, muy limpio",
    "Everything fine.",
    "Sucio y lento, muy mal servicio",
    "Friendly and quick.",
]


def routing_answers() -> pl.DataFrame:
    """Eight answers in Madrid, Barcelona and Paris over two waves (hand-checked values), with
    comments in English and Spanish: the routing-rule tests and the Routing rules page use them."""
    return pl.DataFrame(
        {
            "response_id": [f"r{i}" for i in range(8)],
            "wave": [
                "2026-Q2",
                "2026-Q3",
                "2026-Q3",
                "2026-Q3",
                "2026-Q3",
                "2026-Q3",
                "2026-Q3",
                "2026-Q3",
            ],
            "responded_at": [datetime(2026, 5, 3, tzinfo=UTC)]
            + [datetime(2026, 7 + i % 3, 1 + i, tzinfo=UTC) for i in range(1, 8)],
            "customer_id": [f"C000000{i}" for i in range(8)],
            "region": ["Europe"] * 8,
            "country": ["ES", "ES", "ES", "ES", "ES", "FR", "ES", "FR"],
            "agency": [
                "Madrid",
                "Madrid",
                "Madrid",
                "Barcelona",
                "Barcelona",
                "Paris",
                "Madrid",
                "Paris",
            ],
            "city": [
                "Madrid",
                "Madrid",
                "Madrid",
                "Barcelona",
                "Barcelona",
                "Paris",
                "Madrid",
                "Paris",
            ],
            "channel": ["email", "sms", "web", "email", "qr", "email", "phone", "chat"],
            "touchpoint": [
                None,
                "purchase",
                "support",
                None,
                "delivery",
                None,
                "support",
                "purchase",
            ],
            "nps": [2, 9, 5, 6, 10, 8, 0, 7],
            "csat": [1, 5, None, 3, 5, 4, 1, 4],
            "attr_cleanliness": [3, 8, 2, 6, 9, None, 1, 7],
            "attr_waiting_time": [5, 7, 4, 2, 9, 6, 3, 8],
            "comment": COMMENTS,
            "language": ["en", "en", None, "en", "es", "en", "es", "en"],
            "segment": [
                "Retail",
                "Premium",
                "Retail",
                "Young",
                "Business",
                "Retail",
                "Young",
                "Premium",
            ],
            "advisor_id": [
                "MAD-01",
                "MAD-02",
                "MAD-01",
                "BAR-01",
                "BAR-02",
                "PAR-01",
                "MAD-03",
                "PAR-02",
            ],
            "weight": [1.0, 1.5, 1.0, 0.5, 1.0, 1.0, 2.0, 1.0],
            "excluded": [False, False, False, False, False, False, False, False],
        },
        schema_overrides={"csat": pl.Int64, "attr_cleanliness": pl.Int64},
    )
