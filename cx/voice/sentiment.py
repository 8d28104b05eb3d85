"""Sentiment lexicons (``cx/config/sentiment.yaml``) and the score of one clause.

Per language: positive and negative expressions by strength (1, 2), ``implicit`` complaint
constructions that carry no sentiment word ("I had to call three times", "tuve que volver",
"toujours pas", "до сих пор"), negators, intensifiers, ``contrast`` words (the clause after
"but" weighs twice) and ``concessive`` ones (the clause of "although" weighs half).
Every expression is keyed like the taxonomy, so one lemma covers its inflections.

Score of a clause (raw): strength of each positive hit minus strength of each negative hit;
a hit up to two words after a negator counts the other way (a negated complaint half);
an intensified hit 1.5 times; each implicit construction -1 (0 when negated); a clause with a negator and no
other hit -0.5 ("no me llamaron": a complaint about something that did not happen).
A comment scores tanh(sum of weighted clause scores / 2), in -1..1; null without text.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl

from cx.voice import lemmas
from cx.voice.normalise import normalise_text, words
from cx.voice.taxonomy import (
    ThemeError,
    alternation,
    check_regex,
    expression_regex,
    read_yaml,
)

SENTIMENT_FILE = Path(str(resources.files("cx.config"))) / "sentiment.yaml"
STOPWORDS_FILE = Path(str(resources.files("cx.config"))) / "stopwords.yaml"
_NEGATION_GAP = " +(?:[^ |]+ +){0,2}"  # a negator acts on a term up to two words later
CONTRAST_MARK, CONCESSIVE_MARK = "\x02", "\x03"


@dataclass(frozen=True)
class Lexicon:
    """Sentiment expressions of one language, as written in the lexicon file."""

    language: str
    positive: tuple[tuple[int, tuple[str, ...]], ...]
    negative: tuple[tuple[int, tuple[str, ...]], ...]
    implicit: tuple[str, ...] = ()
    negators: tuple[str, ...] = ()
    intensifiers: tuple[str, ...] = ()
    contrast: tuple[str, ...] = ()
    concessive: tuple[str, ...] = ()

    def words(self) -> set[str]:
        """Whole words of the lexicon (typo targets)."""
        from cx.voice.taxonomy import plain_words

        items = [e for _, es in self.positive + self.negative for e in es] + list(self.implicit)
        return plain_words(items)


@dataclass(frozen=True)
class Patterns:
    """Compiled regexes of a lexicon over the keyed text of its language."""

    weighted: tuple[tuple[str, float], ...]
    negated: tuple[tuple[str, float], ...]  # (negator + term of a weight, the correction)
    intensified_positive: str | None
    intensified_negative: str | None
    implicit: str | None
    negated_implicit: str | None
    negator: str | None


def _strings(items: Any, what: str, where: str) -> tuple[str, ...]:
    if items is None:
        return ()
    if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
        raise ThemeError(
            f'{where}: {what} must be a list of strings (quote words such as "no" or "on")'
        )
    return tuple(items)


def _lexicon(lang: str, spec: dict[str, Any], where: str) -> Lexicon:
    def levels(kind: str) -> tuple[tuple[int, tuple[str, ...]], ...]:
        block = spec.get(kind) or {}
        if not isinstance(block, dict):
            raise ThemeError(f"{where}: {kind} maps strengths 1 and 2 to lists")
        return tuple(
            (level, _strings(block.get(level) or block.get(str(level)), f"{kind}.{level}", where))
            for level in (1, 2)
        )

    lex = Lexicon(
        language=lang,
        positive=levels("positive"),
        negative=levels("negative"),
        implicit=_strings(spec.get("implicit"), "implicit", where),
        negators=_strings(spec.get("negators"), "negators", where),
        intensifiers=_strings(spec.get("intensifiers"), "intensifiers", where),
        contrast=_strings(spec.get("contrast"), "contrast", where),
        concessive=_strings(spec.get("concessive"), "concessive", where),
    )
    for p in compile_lexicon(lex, None).weighted:
        check_regex(p[0], where)
    return lex


@functools.lru_cache(maxsize=8)
def _load_lexicons(path: str, mtime: float) -> dict[str, Lexicon]:
    doc = read_yaml(Path(path))
    if not isinstance(doc, dict) or not doc:
        raise ThemeError(f"{path}: expected one mapping per language")
    return {
        str(lang): _lexicon(str(lang), spec or {}, f"{path}: language {lang!r}")
        for lang, spec in doc.items()
    }


def load_lexicons(path: str | Path | None = None) -> dict[str, Lexicon]:
    """Load the sentiment lexicons per language (default ``cx/config/sentiment.yaml``)."""
    p = Path(path) if path is not None else SENTIMENT_FILE
    if not p.exists():
        raise ThemeError(f"{p}: file not found")
    return _load_lexicons(str(p), p.stat().st_mtime)


@functools.lru_cache(maxsize=4)
def _load_stopwords(path: str, mtime: float) -> dict[str, frozenset[str]]:
    from cx.voice.normalise import fold_text

    doc = read_yaml(Path(path)) or {}
    return {
        str(lang): frozenset(fold_text(str(w)).strip() for w in ws or [])
        for lang, ws in doc.items()
    }


def load_stopwords(path: str | Path | None = None) -> dict[str, frozenset[str]]:
    """Normalised stop words per language (``cx/config/stopwords.yaml``)."""
    p = Path(path) if path is not None else STOPWORDS_FILE
    return _load_stopwords(str(p), p.stat().st_mtime)


def merged(lexicons: dict[str, Lexicon]) -> Lexicon | None:
    """All languages' lexicons at once, for text whose language is unknown."""
    if not lexicons:
        return None
    lexs = list(lexicons.values())

    def level(kind: str, n: int) -> tuple[str, ...]:
        return tuple(e for lex in lexs for lv, es in getattr(lex, kind) for e in es if lv == n)

    def flat(kind: str) -> tuple[str, ...]:
        return tuple(e for lex in lexs for e in getattr(lex, kind))

    return Lexicon(
        "*",
        ((1, level("positive", 1)), (2, level("positive", 2))),
        ((1, level("negative", 1)), (2, level("negative", 2))),
        *(flat(k) for k in ("implicit", "negators", "intensifiers", "contrast", "concessive")),
    )


@functools.lru_cache(maxsize=32)
def compile_lexicon(lexicon: Lexicon, lang: str | None) -> Patterns:
    """The lexicon's regexes over keyed text (``lang`` None: words as written, folded)."""
    negator_keys = {lemmas.key(w[0], lang) for n in lexicon.negators if (w := words(n.rstrip("*")))}

    def flippable(items: tuple[str, ...]) -> tuple[str, ...]:
        # A negator is not itself negated ("ne ... jamais", "не ..., никакого").
        return tuple(
            t
            for t in items
            if lemmas.key((normalise_text(t.rstrip("*")).split() or [""])[0], lang)
            not in negator_keys
        )

    # Each keyed expression counts once, at its strongest level: "lovely" and "love" share a key
    # in English; one listed as both positive and negative means nothing and is dropped.
    level_of: dict[str, float] = {}
    for kind, sign in (("positive", 1.0), ("negative", -1.0)):
        for level, items in getattr(lexicon, kind):
            for item in items:
                rx = expression_regex(item, lang, lead=False)
                old = level_of.get(rx)
                if old is not None and old * sign < 0:
                    level_of[rx] = 0.0
                elif old is None or abs(old) < level:
                    level_of[rx] = sign * level
    source = {
        expression_regex(item, lang, lead=False): item
        for _, items in lexicon.positive + lexicon.negative
        for item in items
    }
    weighted: list[tuple[str, float]] = []
    pos: list[str] = []
    neg: list[str] = []
    for weight in (1.0, 2.0, -1.0, -2.0):
        items = tuple(source[k] for k, w in sorted(level_of.items()) if w == weight)
        pattern = alternation(items, lang)
        if pattern:
            weighted.append((pattern, weight))
            (pos if weight > 0 else neg).extend(items)
    negators = alternation(lexicon.negators, lang)
    intens = alternation(lexicon.intensifiers, lang)

    def prefixed(prefix: str | None, target: tuple[str, ...], gap: str) -> str | None:
        rx = alternation(target, lang)
        return prefix + gap + rx[1:] if prefix and rx else None

    # A negated hit counts the other way: "not good" -w, "not excellent" -2; a negated complaint
    # half the other way ("sin colas" +0.5).
    negated: list[tuple[str, float]] = []
    for weight in (1.0, 2.0, -1.0, -2.0):
        items = flippable(tuple(source[k] for k, w in sorted(level_of.items()) if w == weight))
        flipped = prefixed(negators, items, _NEGATION_GAP)
        if flipped:
            negated.append((flipped, -2.0 * weight if weight > 0 else -1.5 * weight))
    return Patterns(
        weighted=tuple(weighted),
        negated=tuple(negated),
        intensified_positive=prefixed(intens, tuple(pos), " +"),
        intensified_negative=prefixed(intens, tuple(neg), " +"),
        implicit=alternation(lexicon.implicit, lang),
        negated_implicit=prefixed(negators, lexicon.implicit, _NEGATION_GAP),
        negator=negators,
    )


def clause_score(keyed: pl.Expr, patterns: Patterns | None) -> pl.Expr:
    """Raw score of one clause of keyed text (see the module docstring)."""
    if patterns is None:
        return pl.lit(0.0)

    def count(rx: str) -> pl.Expr:
        return keyed.str.count_matches(rx).cast(pl.Float64)

    raw = pl.lit(0.0)
    for rx, weight in patterns.weighted + patterns.negated:
        raw = raw + weight * count(rx)
    for optional, weight in (
        (patterns.intensified_positive, 0.5),
        (patterns.intensified_negative, -0.5),
        (patterns.implicit, -1.0),
        (patterns.negated_implicit, 1.0),  # "no tuve que esperar": nothing to complain about
    ):
        if optional:
            raw = raw + weight * count(optional)
    if patterns.negator:
        raw = pl.when((raw == 0) & keyed.str.contains(patterns.negator)).then(-0.5).otherwise(raw)
    return raw
