"""Multilingual comment themes and sentiment, per comment and per theme, vectorised with Polars.

The taxonomy (``cx/config/themes.yaml``, :mod:`cx.voice.taxonomy`) and the sentiment lexicons
(``cx/config/sentiment.yaml``, :mod:`cx.voice.sentiment`) are data an analyst edits. A comment is
normalised (:mod:`cx.voice.normalise`), cut into sentences at full stops and at contrast words
("pero", "mais", "but", "но"), and every word replaced by its key (:mod:`cx.voice.lemmas`: the
stem of its lemma; only the vocabulary of unique words is lemmatised). Expressions are keyed the
same way, so regexes over the keyed text find every inflection of a word written once.

Each sentence gets its themes and a raw score; a comment's ``sentiment`` is tanh of the weighted
sum over its sentences (the sentence after "but" weighs twice and the one before it half, the
one of "although" half), and
``theme_sentiment`` the same over the sentences that name each theme: "lovely staff, but the
queue took ages" is positive on staff and negative on waiting. No loop over rows: each
language's rows get that language's patterns; rows without a language are detected first.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TypeVar

import polars as pl

from cx.voice import lemmas, model
from cx.voice.normalise import (
    _REPEAT_PATTERN,
    _REPEAT_REPLACE,
    CLAUSE_MARKS,
    CONJUNCTIONS,
    SEPARATORS,
    detect_language,
    fold,
    fold_text,
    highlight_regex,
    literal_regex,
    normalise,
    normalise_text,
    words,
)
from cx.voice.sentiment import (
    CONCESSIVE_MARK,
    CONTRAST_MARK,
    Lexicon,
    Patterns,
    clause_score,
    compile_lexicon,
    load_lexicons,
    load_stopwords,
    merged,
)
from cx.voice.taxonomy import (
    Taxonomy,
    Theme,
    ThemeError,
    alternation,
    expression_regex,
    load_taxonomy,
    plain_words,
)

__all__ = [
    "Lexicon",
    "Taxonomy",
    "Theme",
    "ThemeError",
    "detect_language",
    "expression_regex",
    "fold",
    "fold_text",
    "highlight_regex",
    "inflected",
    "literal_regex",
    "load_lexicons",
    "load_stopwords",
    "load_taxonomy",
    "normalise",
    "normalise_text",
    "tag",
]

Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)

_ROW, _NORM, _LANG, _SEG = model.ROW, "__cx_norm", "__cx_lang", "__cx_seg"
_SENTENCE = "\x1f"  # splits a comment into sentences (full stops, contrast words)
_SENTENCE_MARKS = [".", ";", "!", "?", "\n", "\r"]
_BEFORE_CONTRAST = "\x04"
_MARKS = {"", "|", _SENTENCE, CONTRAST_MARK, CONCESSIVE_MARK, _BEFORE_CONTRAST}
CONTRAST_WEIGHT, CONCESSIVE_WEIGHT = 2.0, 0.5


def _segmented(text: pl.Expr) -> pl.Expr:
    """:func:`normalise` with sentence ends also marked by ``\\x1f`` (to split on)."""
    seps = [c for c in SEPARATORS if c not in "\n\r"]
    commas = [c for c in CLAUSE_MARKS if c not in _SENTENCE_MARKS]
    folded = fold(text).str.replace_all(_REPEAT_PATTERN, _REPEAT_REPLACE)
    spaced = folded.str.replace_many(
        seps + commas + _SENTENCE_MARKS,
        ["  "] * len(seps)
        + ["  |  "] * len(commas)
        + [f"  |  {_SENTENCE}  "] * len(_SENTENCE_MARKS),
    )
    padded = pl.concat_str([pl.lit("  "), spaced, pl.lit("  ")])
    return padded.str.replace_many(
        [f"  {c}  " for c in CONJUNCTIONS], ["  |  "] * len(CONJUNCTIONS)
    )


@dataclass(frozen=True)
class Compiled:
    """Everything one language needs, compiled over its keyed text."""

    language: str | None
    themes: tuple[tuple[str, str | None, str | None, str | None], ...]  # id, strong, weak, except
    sentiment: Patterns | None
    contrast_from: tuple[str, ...]
    contrast_to: tuple[str, ...]
    targets: frozenset[str]


@functools.lru_cache(maxsize=32)
def compile_language(taxonomy: Taxonomy, lexicon: Lexicon | None, lang: str | None) -> Compiled:
    """The taxonomy's and the lexicon's regexes for one language (cached per taxonomy file)."""

    def of(theme: Theme, kind: str) -> str | None:
        return alternation(theme.of(kind, lang), lang)

    compiled = tuple(
        (t.id, of(t, "expressions"), of(t, "weak"), of(t, "exclude")) for t in taxonomy.themes
    )
    marks_from: list[str] = []
    marks_to: list[str] = []
    if lexicon is not None:
        for items, mark in (
            (lexicon.contrast, CONTRAST_MARK),
            (lexicon.concessive, CONCESSIVE_MARK),
        ):
            for word in sorted(items, key=len, reverse=True):
                ws = words(word)
                if ws:
                    marks_from.append("  " + "  ".join(ws) + "  ")
                    before = f"  {_BEFORE_CONTRAST}" if mark == CONTRAST_MARK else ""
                    marks_to.append(f"{before}  |  {_SENTENCE}  {mark}  ")
    targets = set(lexicon.words()) if lexicon is not None else set()
    for t in taxonomy.themes:
        targets |= plain_words(t.of("expressions", lang) + t.of("weak", lang))
    return Compiled(
        lang,
        compiled,
        compile_lexicon(lexicon, lang) if lexicon is not None else None,
        tuple(marks_from),
        tuple(marks_to),
        frozenset(targets),
    )


def _vocabulary(base: pl.LazyFrame) -> dict[str | None, list[str]]:
    """Unique words per language (one eager pass; only these are ever lemmatised)."""
    vocab = (
        base.select(_LANG, pl.col(_NORM).str.split(" ").alias("w"))
        .explode("w")
        .filter(~pl.col("w").is_in(list(_MARKS)) & pl.col("w").is_not_null())
        .unique()
        .collect()
    )
    out: dict[str | None, list[str]] = {}
    for (lang,), part in vocab.group_by(_LANG):
        out[lang if isinstance(lang, str) else None] = part["w"].to_list()
    return out


def _keyed(norm: pl.Expr, compiled: Compiled, vocabulary: list[str]) -> pl.Expr:
    """The normalised text with contrast marks and every word replaced by its key."""
    if compiled.contrast_from:
        norm = norm.str.replace_many(list(compiled.contrast_from), list(compiled.contrast_to))
    if compiled.language is None:
        return norm
    mapping = lemmas.vocabulary_keys(vocabulary, compiled.language, compiled.targets)
    if not mapping:
        return norm
    return norm.str.replace_many([f" {w} " for w in mapping], [f" {k} " for k in mapping.values()])


def _per_sentence(part: pl.LazyFrame, keyed: pl.Expr, compiled: Compiled) -> pl.LazyFrame:
    """One row per sentence: its weight, a flag per theme and its raw sentiment score."""
    seg = pl.col(_SEG)
    strong: dict[str, pl.Expr] = {}
    weak: dict[str, pl.Expr] = {}
    for tid, s, w, x in compiled.themes:
        text = seg.str.replace_all(x, " ~ ") if x else seg
        strong[tid] = text.str.contains(s) if s else pl.lit(False)
        weak[tid] = text.str.contains(w) if w else pl.lit(False)
    sentences = (
        part.select(_ROW, keyed.str.split(_SENTENCE).alias(_SEG))
        .explode(_SEG)
        .with_row_index(model.SID)
    )
    first = seg.str.strip_chars(" |").str.slice(0, 1)
    with_flags = sentences.with_columns(
        [(first == CONTRAST_MARK).fill_null(False).alias("__after")]
        + [e.alias(f"__s_{t}") for t, e in strong.items()]
        + [e.alias(f"__w_{t}") for t, e in weak.items()]
        + [
            (
                pl.when(first == CONTRAST_MARK)
                .then(CONTRAST_WEIGHT)
                .when(first == CONCESSIVE_MARK)
                .then(CONCESSIVE_WEIGHT)
                .otherwise(1.0)
                # the sentence before a "but" weighs half: what follows is what the customer means
                * pl.when(seg.str.contains(_BEFORE_CONTRAST, literal=True)).then(0.5).otherwise(1.0)
            ).alias("__weight"),
            (clause_score(seg, compiled.sentiment) if compiled.sentiment else pl.lit(0.0)).alias(
                "__raw"
            ),
        ],
    )
    ids = [t for t, *_ in compiled.themes]

    def others(t: str) -> pl.Expr:
        rest = [pl.col(f"__s_{o}") for o in ids if o != t]
        return pl.any_horizontal(rest) if rest else pl.lit(False)

    # A weak expression ("rápido", "slow") counts only where no other theme is named.
    return with_flags.with_columns(
        [(pl.col(f"__s_{t}") | (pl.col(f"__w_{t}") & ~others(t))).alias(f"__t_{t}") for t in ids]
    ).drop([f"__s_{t}" for t in ids] + [f"__w_{t}" for t in ids])


def _sentences(part: pl.LazyFrame, compiled: Compiled, vocabulary: list[str]) -> pl.LazyFrame:
    """The sentences of one language's rows, keyed and flagged, with their weighted score."""
    return _per_sentence(part, _keyed(pl.col(_NORM), compiled, vocabulary), compiled).with_columns(
        (pl.col("__weight") * pl.col("__raw")).alias("__score")
    )


def _features(sentences: pl.LazyFrame, compiled: Compiled) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """The model's features of each sentence (:mod:`cx.voice.model`), and the lexicon's
    whole-comment score (``__total``)."""
    flags = {t: f"__t_{t}" for t, *_ in compiled.themes}
    totals = sentences.group_by(_ROW).agg(model.exact_sum(pl.col("__score")).alias("__total"))
    per_sentence = model.sentence_features(sentences, flags, _MARKS, seg=_SEG, after="__after")
    return per_sentence, totals


def _tag_learned(
    part: pl.LazyFrame, compiled: Compiled, vocabulary: list[str], learned: model.Model
) -> pl.LazyFrame:
    """:func:`_tag_part` with the learned model: themes the model knows are named by it (the
    taxonomy's expressions are some of its features), a theme it does not know by its
    expressions alone; sentiment from the model; a theme's polarity is the sentiment of the
    sentence that speaks most of it (the comment's when that sentence is neutral)."""
    ids = [t for t, *_ in compiled.themes]
    order = {t: k for k, t in enumerate(ids)}
    known = [t for t in ids if t in learned.themes]
    custom = [t for t in ids if t not in learned.themes]
    sentences = _sentences(part, compiled, vocabulary).cache()
    per_sentence, totals = _features(sentences, compiled)
    by_sentence, by_comment = model.scored(per_sentence, totals, learned)
    sentence_sums = (
        by_sentence.with_columns(model.sentiment_of(learned).alias("__s"))
        .join(sentences.select(_ROW, model.SID, "__raw"), on=[_ROW, model.SID], how="left")
        .with_columns(
            # a sentence the model finds neutral keeps the lexicon's polarity, if it has one
            pl.when((pl.col("__s").abs() < NEUTRAL_SENTENCE) & (pl.col("__raw") != 0))
            .then((pl.col("__raw") / 2).tanh())
            .otherwise(pl.col("__s"))
            .alias("__s")
        )
    )
    comment_sums = by_comment.with_columns(model.sentiment_of(learned).alias("sentiment"))
    cuts = pl.LazyFrame(
        {
            "__theme": list(learned.themes),
            "__bias": list(learned.theme_bias),
            "__cut": list(learned.theme_cut),
        }
    ).filter(pl.col("__theme").is_in(known))
    named = (
        comment_sums.select(_ROW, *[pl.col(f"t:{t}").alias(t) for t in known])
        .unpivot(index=_ROW, variable_name="__theme", value_name="__z")
        .join(cuts, on="__theme")
        .filter(pl.col("__z") + pl.col("__bias") > pl.col("__cut"))
        .select(_ROW, "__theme")
    )
    # only the sentences of the comments that name a theme, and only for the themes named
    strongest = (
        sentence_sums.join(named.select(_ROW).unique(), on=_ROW, how="semi")
        .select(_ROW, "__s", *[pl.col(f"t:{t}").alias(t) for t in known])
        .unpivot(index=[_ROW, "__s"], variable_name="__theme", value_name="__c")
        .join(named, on=[_ROW, "__theme"], how="inner")
        .group_by(_ROW, "__theme")
        .agg(pl.col("__s").get(pl.col("__c").fill_null(-1e9).arg_max()).alias("__ts"))
    )
    parts = [named.join(strongest, on=[_ROW, "__theme"], how="left")]
    if custom:
        flagged = (
            sentences.select(_ROW, model.SID, *[pl.col(f"__t_{t}").alias(t) for t in custom])
            .unpivot(index=[_ROW, model.SID], variable_name="__theme", value_name="__hit")
            .filter(pl.col("__hit"))
            .join(sentence_sums.select(_ROW, model.SID, "__s"), on=[_ROW, model.SID], how="left")
            .group_by(_ROW, "__theme")
            .agg((model.exact_sum(pl.col("__s").fill_null(0.0)) / pl.len()).alias("__ts"))
        )
        parts.append(flagged)
    sentiment = comment_sums.select(_ROW, "sentiment")
    mentions = (
        pl.concat(parts, how="vertical")
        .join(sentiment, on=_ROW, how="left")
        .with_columns(
            pl.when(pl.col("__ts").is_null() | (pl.col("__ts").abs() < NEUTRAL_SENTENCE))
            .then(pl.col("sentiment").fill_null(0.0))
            .otherwise(pl.col("__ts"))
            .alias("__ts"),
            pl.col("__theme").replace_strict(order, return_dtype=pl.Int64).alias("__order"),
        )
        .sort(_ROW, "__order")
        .group_by(_ROW, maintain_order=True)
        .agg(pl.col("__theme").alias("themes"), pl.col("__ts").alias("theme_sentiment"))
    )
    # no feature the model knows: nothing is known of the comment's feeling (0)
    return _assembled(part, sentiment, mentions, pl.col("sentiment").fill_null(0.0))


def _assembled(
    part: pl.LazyFrame, scores: pl.LazyFrame, mentions: pl.LazyFrame, sentiment: pl.Expr
) -> pl.LazyFrame:
    """Row id, language, ``themes``, ``sentiment`` (``sentiment`` over ``scores``; null without
    text) and ``theme_sentiment`` of each row of ``part`` (no mention: empty lists)."""
    has_text = pl.col(_NORM).str.contains(r"[^ |\x1f]")
    return (
        part.select(_ROW, _LANG, has_text.alias("__has_text"))
        .join(scores, on=_ROW, how="left")
        .join(mentions, on=_ROW, how="left")
        .select(
            _ROW,
            _LANG,
            pl.col("themes").fill_null(pl.lit([], pl.List(pl.String))),
            pl.when(pl.col("__has_text"))
            .then(sentiment)
            .otherwise(None)
            .cast(pl.Float64)
            .alias("sentiment"),
            pl.col("theme_sentiment").fill_null(pl.lit([], pl.List(pl.Float64))),
        )
    )


NEUTRAL_SENTENCE = 0.15
"""A sentence scoring closer to 0 than this says nothing of a theme's polarity: the comment's
sentiment is used instead."""


def _tag_part(part: pl.LazyFrame, compiled: Compiled, vocabulary: list[str]) -> pl.LazyFrame:
    """Themes, sentiment and per-theme polarity of one language's rows (row id and the three),
    from the taxonomy's expressions and the lexicons alone (no learned model)."""
    ids = [t for t, *_ in compiled.themes]
    flags = [f"__t_{t}" for t in ids]
    sentences = _sentences(part, compiled, vocabulary)
    totals = sentences.group_by(_ROW).agg(model.exact_sum(pl.col("__score")).alias("__total"))
    order = pl.DataFrame({"__theme": ids, "__order": list(range(len(ids)))}).lazy()
    # Long form (one row per sentence x theme named there) is far cheaper than twelve
    # when/then lists per comment.
    mentions = (
        sentences.select(_ROW, "__score", *flags)
        .unpivot(index=[_ROW, "__score"], on=flags, variable_name="__theme", value_name="__hit")
        .filter(pl.col("__hit"))
        .group_by(_ROW, "__theme")
        .agg(model.exact_sum(pl.col("__score")).alias("__p"))
        .with_columns(pl.col("__theme").str.slice(4))
        .join(totals, on=_ROW)
        .join(order, on="__theme")
        .sort(_ROW, "__order")
        .group_by(_ROW, maintain_order=True)
        .agg(
            pl.col("__theme").alias("themes"),
            (pl.when(pl.col("__p") != 0).then(pl.col("__p")).otherwise(pl.col("__total")) / 2)
            .tanh()
            .alias("theme_sentiment"),
        )
        if ids
        else totals.select(
            _ROW,
            pl.lit([], pl.List(pl.String)).alias("themes"),
            pl.lit([], pl.List(pl.Float64)).alias("theme_sentiment"),
        )
    )
    return _assembled(part, totals, mentions, (pl.col("__total") / 2).tanh())


def _language_parts(
    base: pl.DataFrame, taxonomy: Taxonomy, lexicons: dict[str, Lexicon]
) -> list[tuple[pl.LazyFrame, Compiled, list[str]]]:
    """Each language's rows with its compiled patterns and its vocabulary (rows of an unknown
    or undetected language share the merged lexicons, without lemmas)."""
    base = base.with_columns(_segmented(pl.col(_NORM)).alias(_NORM))
    vocabulary = _vocabulary(base.lazy())
    known: list[str] = sorted(set(taxonomy.languages) | set(lexicons))
    parts: list[tuple[pl.LazyFrame, Compiled, list[str]]] = []
    for code in [*known, None]:
        if code is None:
            part = base.lazy().filter(pl.col(_LANG).is_null() | ~pl.col(_LANG).is_in(known))
            words_of = [w for k, ws in vocabulary.items() if k not in known for w in ws]
            compiled = compile_language(taxonomy, merged(lexicons), None)
        else:
            if code not in vocabulary:
                continue
            part = base.lazy().filter(pl.col(_LANG) == code)
            words_of = vocabulary[code]
            compiled = compile_language(taxonomy, lexicons.get(code), code)
        parts.append((part, compiled, words_of))
    if not parts:
        parts.append((base.lazy(), compile_language(taxonomy, None, None), []))
    return parts


def _base(lazy: pl.LazyFrame, text: str, language: str | None) -> tuple[pl.DataFrame, bool]:
    """Row id, language (given, else detected) and raw text, in one eager pass; and whether the
    language was detected (the output then gets a ``language`` column)."""
    columns = lazy.collect_schema().names()
    if text not in columns:
        raise ThemeError(f"no text column {text!r}; columns are {', '.join(columns)}")
    raw = pl.col(text).cast(pl.String)
    detected = not (language is not None and language in columns)
    given = (
        pl.lit(None, pl.String)
        if detected
        else pl.col(language).cast(pl.String).str.to_lowercase().str.slice(0, 2)  # type: ignore[arg-type]
    )
    base = lazy.with_row_index(_ROW).select(_ROW, given.alias(_LANG), raw.alias(_NORM)).collect()
    if base[_LANG].null_count():
        base = base.with_columns(
            pl.when(pl.col(_LANG).is_null())
            .then(detect_language(pl.col(_NORM)))
            .otherwise(pl.col(_LANG))
            .alias(_LANG)
        )
    return base, detected


def features(
    frame: pl.DataFrame | pl.LazyFrame,
    text: str = "comment",
    language: str | None = "language",
    taxonomy: Taxonomy | None = None,
    *,
    lexicons: dict[str, Lexicon] | None = None,
) -> pl.DataFrame:
    """The learned model's features of each comment (what ``python -m cx.voice.train`` fits
    on): ``row`` (the comment's position in ``frame``), ``f`` and its value ``v``."""
    taxonomy = taxonomy or load_taxonomy()
    lexicons = lexicons if lexicons is not None else load_lexicons()
    base, _ = _base(frame.lazy(), text, language)
    out = [
        model.comment_features(*_features(_sentences(part, compiled, words_of), compiled))
        for part, compiled, words_of in _language_parts(base, taxonomy, lexicons)
    ]
    return (
        pl.concat(out, how="vertical")
        .select(pl.col(_ROW).alias("row"), "f", "v")
        .sort("row", "f")
        .collect()
    )


def tag(
    frame: Frame,
    text: str = "comment",
    language: str | None = "language",
    taxonomy: Taxonomy | None = None,
    *,
    lexicons: dict[str, Lexicon] | None = None,
    per_theme: bool = True,
    learned: bool = True,
) -> Frame:
    """Add ``themes`` (list of theme ids), ``sentiment`` (-1..1, null without text),
    ``theme_sentiment`` (one value in -1..1 per entry of ``themes``: the polarity of that theme
    in the comment) and, when the ``language`` column is absent, a detected ``language``.
    ``per_theme=False`` leaves ``theme_sentiment`` out. With the learned model
    (:mod:`cx.voice.model`, unless ``learned=False`` or none is installed) it decides themes
    and sentiment; without it the expressions and lexicons alone do.
    """
    taxonomy = taxonomy or load_taxonomy()
    lexicons = lexicons if lexicons is not None else load_lexicons()
    found = model.load() if learned else None
    lazy = frame.lazy()
    columns = lazy.collect_schema().names()
    rows = lazy.with_row_index(_ROW)
    base, detected = _base(lazy, text, language)
    out_language = "language" if detected else None
    tagged = [
        _tag_learned(part, compiled, words_of, found)
        if found is not None
        else _tag_part(part, compiled, words_of)
        for part, compiled, words_of in _language_parts(base, taxonomy, lexicons)
    ]
    result = pl.concat(tagged, how="vertical")
    if not out_language:
        result = result.drop(_LANG)
    if not per_theme:
        result = result.drop("theme_sentiment")
    replaced = {"themes", "sentiment", "theme_sentiment"} | (
        {"language"} if out_language else set()
    )
    out = (
        rows.drop([c for c in columns if c in replaced])
        .join(result, on=_ROW, how="left", maintain_order="left")
        .drop(_ROW)
    )
    if out_language:
        out = out.rename({_LANG: out_language})
    return out if isinstance(frame, pl.LazyFrame) else out.collect()


def inflected(expression: str, lang: str) -> str:
    """A one-word expression as the stem its inflections share ("esperar" -> "esper*"), so the
    highlighting marks "esperé" and "esperamos" too; other expressions unchanged."""
    parts = expression.split()
    if len(parts) != 1 or expression.endswith("*") or expression.startswith("re:"):
        return expression
    word = fold_text(expression)
    stem = lemmas.key(word, lang)
    return f"{stem}*" if len(stem) >= 4 and word.startswith(stem) and stem != word else expression


def expression_words(expression: str) -> list[str]:
    """The words an expression is made of (for highlighting and discovery)."""
    return [w for w in normalise_text(expression.rstrip("*")).split() if w != "|"]
