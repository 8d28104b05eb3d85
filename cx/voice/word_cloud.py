"""Word-cloud PNG of the comment words, drawn with the vendored DejaVu Sans (has Cyrillic)."""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl

from cx.charts import PALETTE
from cx.core.filters import Filters
from cx.core.scope import Scope
from cx.voice import verbatims

FONT = Path(__file__).parent.parent / "config" / "fonts" / "DejaVuSans.ttf"
COLOURS = (PALETTE["brand"], PALETTE["ink"], "#2aa198", "#8e6bbf", "#e8773a")


def wordcloud_png(freqs: pl.DataFrame, *, width: int = 1200, height: int = 460) -> bytes | None:
    """PNG bytes of a word cloud from ``word``/``count`` rows; None when there are no words."""
    if freqs.is_empty():
        return None
    from wordcloud import WordCloud

    def colour(word: str, font_size: int, **_: object) -> str:
        return COLOURS[sum(map(ord, word)) % len(COLOURS)]

    cloud = WordCloud(
        font_path=str(FONT),
        width=width,
        height=height,
        background_color="white",
        prefer_horizontal=0.95,
        max_words=freqs.height,
        random_state=42,
        color_func=colour,
        min_font_size=12,
        max_font_size=150,
        relative_scaling=0.5,
    ).generate_from_frequencies(
        dict(zip(freqs["word"].to_list(), freqs["count"].to_list(), strict=True))
    )
    buf = io.BytesIO()
    cloud.to_image().save(buf, format="PNG")
    return buf.getvalue()


def comment_cloud(frame: pl.LazyFrame, scope: Scope, filters: Filters) -> bytes | None:
    """The word cloud of the scope's comments (a query, so the page can cache the PNG)."""
    return wordcloud_png(verbatims.word_frequencies(frame, scope, filters, limit=100))
