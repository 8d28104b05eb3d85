"""Quarantine files and previews: what an import shows of rows, with personal data masked.

Raw answers stay only in the wave files. Everything else an import writes or shows (the
quarantine CSV, the sample of bad rows, the preview of accepted rows, the mapping editor's
examples) goes through :func:`masked` first: every text column except the identifiers and labels
an analyst needs to find and fix a row (``KEEP``) is passed through
:func:`cx.core.privacy.mask_pii`, so a comment, or a phone number typed into a date or a score
field and quoted in a reason, never leaves the wave file. Quarantine CSVs are written by the app's
one CSV writer (:func:`cx.core.export.write_file`), which neutralises spreadsheet formulas.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from cx.core import export
from cx.core.privacy import mask_pii
from cx.ingest import mapping as mapping_mod

KEEP = frozenset(
    {
        "response_id",
        "customer_id",
        "advisor_id",
        "transaction_id",
        "wave",
        "region",
        "country",
        "agency",
        "city",
        "channel",
        "touchpoint",
        "language",
        "segment",
        "rule",
    }
)
"""Text columns shown as written: identifiers and labels, never free text."""


def masked(frame: pl.DataFrame, keep: frozenset[str] = KEEP) -> pl.DataFrame:
    """The frame with personal data masked in every text column outside ``keep``."""
    text = [name for name, dtype in frame.schema.items() if dtype == pl.String and name not in keep]
    return frame.with_columns(mask_pii(pl.col(c)).alias(c) for c in text) if text else frame


def write(frame: pl.DataFrame, root: Path, label: str, source: Path, sha: str) -> Path:
    """Write quarantined rows (masked, formulas neutralised) as ``quarantine/<label>__<file>__<sha8>.csv``."""
    stem = mapping_mod.normalise(source.stem)[:40] or "file"
    target = root / "quarantine" / f"{label}__{stem}__{sha[:8]}.csv"
    return export.write_file(masked(frame), target)
