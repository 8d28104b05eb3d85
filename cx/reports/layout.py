"""What the PDF and the deck share on the page: the palette and how wide a table's columns are."""

from __future__ import annotations

import polars as pl

INK = (31, 42, 68)
MUTED = (107, 114, 128)
BRAND = (47, 95, 208)
TINT = (243, 246, 253)

PT_CHAR_MM = 0.23
"""Average width (mm) of one character per point of font size (DejaVu Sans, with bold headers)."""


def col_weights(df: pl.DataFrame) -> list[float]:
    """Relative column widths from the longest text of each column (header included)."""
    out = []
    for name in df.columns:
        longest = max([len(name), *(len(str(v)) for v in df[name].to_list() if v is not None)])
        out.append(float(min(max(longest, 3), 34)) + 2.5)  # + padding, so short numbers never wrap
    return out
