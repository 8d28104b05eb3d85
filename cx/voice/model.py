"""The learned part of comment themes and sentiment: a linear model over the words of a comment.

The lexicon engine (:mod:`cx.voice.themes`) keys every word (the stem of its lemma), cuts the
comment into sentences at full stops and contrast words, and finds the taxonomy's expressions
and the lexicon's polar words. This module turns each sentence into features: its keys
(``w:``), the key pairs that follow each other (``b:``), the first four letters of long keys
(``p:``, for typos and unknown inflections), the keys after a "but" (``a:``), the themes the
taxonomy's expressions find there (``L:<theme>``) and the lexicon's score (``S``). One weight
per feature and output (a theme, or a sentiment class) was learned by ``python -m
cx.voice.train`` from the labelled comments of ``training/voice/`` and is read from
``cx/config/voice/model.parquet``; scoring is a join and a sum in Polars, no loop over rows.

A comment's theme logit is the sum of its distinct features' weights plus the theme's bias; the
theme is named when it passes the theme's cut (chosen on cross-validated training folds). Its
sentiment is p(positive) − p(negative) of a three-class softmax. A theme's polarity in the
comment is the sentiment of the sentence that speaks most of that theme.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import polars as pl

MODEL_DIR = Path(str(resources.files("cx.config"))) / "voice"
MODEL_FILE = MODEL_DIR / "model.parquet"
"""Feature weights: column ``f``, one ``t:<theme>`` column per theme, ``s:neg``, ``s:neu``, ``s:pos``."""
META_FILE = MODEL_DIR / "model.json"
"""Biases, cuts, the themes and how the model was trained."""
SENTIMENT_CLASSES = ("neg", "neu", "pos")
PREFIX = 4
"""Letters of a long key kept as a prefix feature."""

ROW, SID = "__cx_row", "__cx_sid"
EXACT = pl.Decimal(38, 12)
"""Float sums go through this type: a float sum's last bits depend on how Polars' threads split
the rows, a decimal sum is exact, so a wave tags the same on any machine, run or cluster worker."""


def exact_sum(e: pl.Expr) -> pl.Expr:
    """The sum of ``e`` independent of row order (Float64)."""
    return e.cast(EXACT).sum().cast(pl.Float64)


class ModelError(ValueError):
    """The model files are missing a part or do not match each other."""


@dataclass(frozen=True)
class Model:
    themes: tuple[str, ...]
    weights: pl.DataFrame
    theme_bias: tuple[float, ...]
    theme_cut: tuple[float, ...]
    sentiment_bias: tuple[float, float, float]


def model_paths() -> tuple[Path, Path]:
    """The weights and meta files: ``CX_VOICE_MODEL`` (a path to the ``.parquet``, its ``.json``
    beside it) else the shipped model."""
    given = os.environ.get("CX_VOICE_MODEL")
    if given:
        p = Path(given)
        return p, p.with_suffix(".json")
    return MODEL_FILE, META_FILE


@functools.lru_cache(maxsize=4)
def _load(weights: str, meta: str, stamp: tuple[float, float]) -> Model:
    try:
        info = json.loads(Path(meta).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{meta}: not a readable model description ({exc})") from None
    try:
        frame = pl.read_parquet(weights)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise ModelError(f"{weights}: not a readable weights table ({exc})") from None
    try:
        themes = tuple(str(t) for t in info["themes"])
        need = {"f", *(f"t:{t}" for t in themes), *(f"s:{c}" for c in SENTIMENT_CLASSES)}
        missing = need - set(frame.columns)
        if missing:
            raise ModelError(f"{weights}: missing columns {', '.join(sorted(missing))}")
        return Model(
            themes,
            frame.select(sorted(need, key=lambda c: (c != "f", c))),
            tuple(float(info["theme_bias"][t]) for t in themes),
            tuple(float(info["theme_cut"][t]) for t in themes),
            tuple(float(info["sentiment_bias"][c]) for c in SENTIMENT_CLASSES),  # type: ignore[arg-type]
        )
    except ModelError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{meta}: missing or malformed entry {exc}") from None


def load() -> Model | None:
    """The model of :func:`model_paths` (cached until its files change), or None when there is
    none (lexicon only)."""
    w, m = model_paths()
    if not (w.exists() and m.exists()):
        return None
    return _load(str(w), str(m), (w.stat().st_mtime, m.stat().st_mtime))


def sentence_features(
    sentences: pl.LazyFrame, flags: dict[str, str], marks: set[str], *, seg: str, after: str
) -> pl.LazyFrame:
    """One row per (comment, sentence, feature) with its value ``v``: the features of the module
    docstring. ``sentences`` has ``ROW``, ``SID``, the keyed sentence ``seg``, the boolean
    ``after`` (the sentence follows a "but"), ``__raw`` (the lexicon's score) and the taxonomy's
    flag columns ``flags`` (theme id -> column)."""
    keep = [ROW, SID]
    tokens = (
        sentences.select(*keep, after, pl.col(seg).str.split(" ").alias("w"))
        .explode("w")
        .filter(pl.col("w").is_not_null() & (pl.col("w") != ""))
        .with_columns(
            nxt=pl.col("w").shift(-1),
            same=(pl.col(SID).shift(-1) == pl.col(SID)).fill_null(False),
            word=~pl.col("w").is_in(list(marks)),
        )
    )
    w = pl.col("w")
    parts = [
        tokens.filter("word").select(*keep, (pl.lit("w:") + w).alias("f")),
        tokens.filter(pl.col("word") & pl.col(after)).select(*keep, (pl.lit("a:") + w).alias("f")),
        tokens.filter(pl.col("word") & (w.str.len_chars() > PREFIX + 1)).select(
            *keep, (pl.lit("p:") + w.str.slice(0, PREFIX)).alias("f")
        ),
        tokens.filter(pl.col("word") & pl.col("same") & ~pl.col("nxt").is_in(list(marks))).select(
            *keep, (pl.lit("b:") + w + pl.lit(" ") + pl.col("nxt")).alias("f")
        ),
    ]
    words = pl.concat(parts, how="vertical").with_columns(v=pl.lit(1.0))
    lexical = [
        sentences.filter(pl.col(col)).select(
            *keep, pl.lit(f"L:{theme}").alias("f"), pl.lit(1.0).alias("v")
        )
        for theme, col in flags.items()
    ]
    polar = sentences.filter(pl.col("__raw") != 0).select(
        *keep, pl.lit("S").alias("f"), (pl.col("__raw") / 2).tanh().alias("v")
    )
    return pl.concat([words, *lexical, polar], how="vertical")


def comment_features(per_sentence: pl.LazyFrame, raw_total: pl.LazyFrame) -> pl.LazyFrame:
    """The comment's features: each distinct sentence feature once (value 1), and ``S`` the
    lexicon's whole-comment score (``raw_total``: ``ROW``, ``__total``)."""
    binary = (
        per_sentence.filter(pl.col("f") != "S")
        .select(ROW, "f")
        .unique()
        .with_columns(v=pl.lit(1.0))
    )
    polar = raw_total.filter(pl.col("__total") != 0).select(
        ROW, pl.lit("S").alias("f"), (pl.col("__total") / 2).tanh().alias("v")
    )
    return pl.concat([binary, polar], how="vertical")


def scored(
    per_sentence: pl.LazyFrame, raw_total: pl.LazyFrame, model: Model
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Per sentence and per comment, the weighted sums of every output column: one join of the
    sentence features with the weights (unknown features drop out there), then the comment's
    distinct features summed once each, plus ``S`` at the comment's own lexicon score, as
    :func:`comment_features` gives them to training."""
    outputs = [c for c in model.weights.columns if c != "f"]
    known = per_sentence.join(model.weights.lazy(), on="f", how="inner")
    sentence = known.group_by(ROW, SID).agg(
        [exact_sum(pl.col(c) * pl.col("v")).alias(c) for c in outputs]
    )
    binary = (
        known.filter(pl.col("f") != "S")
        .unique(subset=[ROW, "f"])
        .group_by(ROW)
        .agg([exact_sum(pl.col(c)) for c in outputs])
    )
    s_row = model.weights.filter(pl.col("f") == "S")
    s_weight = {c: float(s_row[c][0]) if s_row.height else 0.0 for c in outputs}
    polar = raw_total.filter(pl.col("__total") != 0).select(
        ROW, *[((pl.col("__total") / 2).tanh() * s_weight[c]).alias(c) for c in outputs]
    )
    comment = (
        pl.concat([binary, polar], how="vertical_relaxed")
        .group_by(ROW)
        .agg([exact_sum(pl.col(c)) for c in outputs])
    )
    return sentence, comment


def sentiment_of(model: Model) -> pl.Expr:
    """p(positive) − p(negative) from the ``s:*`` sums (a null sum counts 0) and the biases."""
    z = [
        pl.col(f"s:{c}").fill_null(0.0) + model.sentiment_bias[k]
        for k, c in enumerate(SENTIMENT_CLASSES)
    ]
    top = pl.max_horizontal(z)
    e = [(zk - top).exp() for zk in z]
    return (e[2] - e[0]) / (e[0] + e[1] + e[2])
