"""Multilingual comment themes and sentiment, vectorised with Polars string expressions.

The taxonomy (``cx/config/themes.yaml``) and the sentiment lexicons (``cx/config/sentiment.yaml``)
are data an analyst edits; this module turns their expressions into regular expressions over a
*normalised* text: lower case, accents stripped (Cyrillic kept, ё -> е), letters repeated three
times or more collapsed ("muuuy" -> "muy"), every run of punctuation or spaces turned into two
spaces and one space of padding at both ends. Word boundaries are then literal spaces, which
keeps the regex engine on its fast DFA path for Cyrillic too (no Unicode ``\\b``).

Tagging never loops over rows: each language's rows get that language's patterns
(``str.contains`` per theme, ``str.count_matches`` for sentiment); rows without a known
language get the union of every language's patterns.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import polars as pl
import yaml

CONFIG = Path(str(resources.files("cx.config")))
TAXONOMY_FILE = CONFIG / "themes.yaml"
SENTIMENT_FILE = CONFIG / "sentiment.yaml"
STOPWORDS_FILE = CONFIG / "stopwords.yaml"

Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)

# Accent folding for Latin scripts (Cyrillic is kept; ё is folded to е as Russian writers do).
_FOLD = {
    **dict.fromkeys("áàâäãå", "a"),
    **dict.fromkeys("éèêë", "e"),
    **dict.fromkeys("íìîï", "i"),
    **dict.fromkeys("óòôöõø", "o"),
    **dict.fromkeys("úùûü", "u"),
    "ý": "y",
    "ÿ": "y",
    "ñ": "n",
    "ç": "c",
    "œ": "oe",
    "æ": "ae",
    "ß": "ss",
    "ё": "е",
    "’": "'",
    "‘": "'",
    "`": "'",
    "´": "'",
}
_FOLD_FROM = list(_FOLD)
_FOLD_TO = list(_FOLD.values())
_REPEAT_LETTERS = "abcdefghijklmnopqrstuvwxyzабвгдежзийклмнопрстуфхцчшщъыьэюя"
_REPEAT_PATTERN = "|".join(f"({c}){c}{{2,}}" for c in _REPEAT_LETTERS)
_REPEAT_REPLACE = "".join(f"${{{i + 1}}}" for i in range(len(_REPEAT_LETTERS)))
_META = set("\\.+*?()|[]{}^$#&-~")
_GAP = "(?: +[^ |]+){0,3} +"  # the `..` of an expression: up to three words in between
_NEGATION_GAP = " +(?:[^ |]+ +){0,2}"  # a negator acts on a term up to two words later, same clause
# Separators become two spaces, clause punctuation a `|` between spaces (literal replacements:
# much faster than a Unicode regex). Other symbols (emoji…) stay attached to their word.
_SEPARATORS = list(" \t\n\r'\"-/_«»“”„¿¡…–—*+=<>[]{}#%&@~^\\|")
_CLAUSE_MARKS = list(".,;:!?()")
# "and" closes the scope of a negation ("doesn't work and rejects" does not flip "rejects").
_CONJUNCTIONS = ("y", "e", "et", "and", "и")


class ThemeError(ValueError):
    """A bad taxonomy / lexicon file (naming the file, theme, language and expression) or input."""


# ---------------------------------------------------------------- normalisation


def fold_text(text: str) -> str:
    """Python twin of :func:`fold` for expressions and search strings.

    >>> fold_text("Ésta ESPERA fue LARGUÍSIMA, ёлка")
    'esta espera fue larguisima, елка'
    """
    return "".join(_FOLD.get(ch, ch) for ch in text.lower())


def normalise_text(text: str) -> str:
    """Python twin of :func:`normalise` (used on taxonomy expressions, so both sides agree).

    >>> normalise_text("¡Muuuy  rápido!")
    '    muy    rapido  |    '
    """
    folded = re.sub(r"([^\W\d_])\1{2,}", r"\1", fold_text(text))
    spaced = "".join(
        "  " if ch in _SEPARATORS else "  |  " if ch in _CLAUSE_MARKS else ch for ch in folded
    )
    padded = "  " + spaced + "  "
    for conj in _CONJUNCTIONS:
        padded = padded.replace(f"  {conj}  ", "  |  ")
    return padded


def fold(text: pl.Expr) -> pl.Expr:
    """Lower case and strip Latin accents (vectorised)."""
    return text.str.to_lowercase().str.replace_many(_FOLD_FROM, _FOLD_TO)


def normalise(text: pl.Expr) -> pl.Expr:
    """The text the patterns run on: folded, repeats collapsed, words separated by two spaces,
    clause punctuation and conjunctions turned into ``|`` (the end of a negation's scope)."""
    folded = fold(text).str.replace_all(_REPEAT_PATTERN, _REPEAT_REPLACE)
    spaced = folded.str.replace_many(
        _SEPARATORS + _CLAUSE_MARKS, ["  "] * len(_SEPARATORS) + ["  |  "] * len(_CLAUSE_MARKS)
    )
    padded = pl.concat_str([pl.lit("  "), spaced, pl.lit("  ")])
    return padded.str.replace_many(
        [f"  {c}  " for c in _CONJUNCTIONS], ["  |  "] * len(_CONJUNCTIONS)
    )


def _escape(token: str) -> str:
    return "".join("\\" + ch if ch in _META else ch for ch in token)


def expression_regex(expression: str, *, lead: bool = True) -> str:
    """Regex (over normalised text) of one taxonomy/lexicon expression.

    ``word`` matches that word, ``stem*`` any word starting with it, spaces separate the words of
    a phrase, ``..`` allows up to three words in between, ``re:`` gives a raw regex.

    >>> expression_regex("esper*")
    ' esper[^ ]*'
    >>> expression_regex("call center")
    ' call +center '
    >>> expression_regex("no .. funcion*")
    ' no(?: +[^ |]+){0,3} +funcion[^ ]*'
    """
    if expression.startswith("re:"):
        return expression[3:]
    raw = [t for t in expression.split() if t]
    tokens: list[str] = []
    gaps: list[bool] = []
    gap = False
    for tok in raw:
        if tok == "..":
            gap = True
            continue
        stem = tok.endswith("*")
        words = [w for w in normalise_text(tok.rstrip("*")).split() if w != "|"]
        for i, word in enumerate(words):
            tokens.append(_escape(word) + ("[^ ]*" if stem and i == len(words) - 1 else ""))
            gaps.append(gap)
            gap = False
    if not tokens:
        raise ThemeError(f"empty expression {expression!r}")
    body = tokens[0]
    for tok, g in zip(tokens[1:], gaps[1:], strict=True):
        body += (_GAP if g else " +") + tok
    if not raw[-1].endswith("*") or raw[-1] == "..":
        body += " "
    return (" " if lead else "") + body


def _alternation(expressions: list[str], *, lead: bool = True) -> str:
    inner = "|".join(expression_regex(e, lead=False) for e in expressions)
    return (" " if lead else "") + f"(?:{inner})"


def _check_regex(pattern: str, where: str) -> None:
    try:
        pl.select(pl.lit("").str.contains(pattern)).item()
    except pl.exceptions.PolarsError as exc:
        raise ThemeError(f"{where}: invalid pattern: {str(exc).splitlines()[0]}") from None


# ---------------------------------------------------------------- taxonomy


@dataclass(frozen=True)
class Theme:
    """One theme: its id, labels per language and expressions per language."""

    id: str
    labels: tuple[tuple[str, str], ...]
    expressions: tuple[tuple[str, tuple[str, ...]], ...]

    def label(self, language: str = "en") -> str:
        labels = dict(self.labels)
        return labels.get(language) or labels.get("en") or self.id.replace("_", " ").capitalize()

    def patterns(self) -> dict[str, str]:
        return {lang: _alternation(list(exprs)) for lang, exprs in self.expressions}


@dataclass(frozen=True)
class Taxonomy:
    """The themes of a taxonomy file, in file order."""

    themes: tuple[Theme, ...]
    source: str = ""

    @property
    def ids(self) -> list[str]:
        return [t.id for t in self.themes]

    @property
    def languages(self) -> list[str]:
        return sorted({lang for t in self.themes for lang, _ in t.expressions})

    def theme(self, theme_id: str) -> Theme:
        for t in self.themes:
            if t.id == theme_id:
                return t
        raise ThemeError(f"unknown theme {theme_id!r}; themes are {', '.join(self.ids)}")

    def labels(self, language: str = "en") -> dict[str, str]:
        return {t.id: t.label(language) for t in self.themes}

    def pattern(self, theme_id: str, language: str | None) -> str | None:
        """The regex of a theme in a language (``None``: every language's expressions)."""
        theme = self.theme(theme_id)
        exprs = dict(theme.expressions)
        if language is None:
            merged = [e for lang in sorted(exprs) for e in exprs[lang]]
            return _alternation(merged) if merged else None
        return _alternation(list(exprs[language])) if exprs.get(language) else None

    def label_frame(self, language: str = "en") -> pl.DataFrame:
        return pl.DataFrame({"theme": self.ids, "label": [t.label(language) for t in self.themes]})


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ThemeError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        raise ThemeError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None


@functools.lru_cache(maxsize=8)
def _load_taxonomy(path: str, mtime: float) -> Taxonomy:
    doc = _read_yaml(Path(path))
    if not isinstance(doc, dict) or not isinstance(doc.get("themes"), dict) or not doc["themes"]:
        raise ThemeError(f"{path}: expected a mapping `themes:` with at least one theme")
    themes = []
    for tid, spec in doc["themes"].items():
        where = f"{path}: theme {tid!r}"
        if not re.fullmatch(r"[a-z][a-z0-9_]*", str(tid)):
            raise ThemeError(f"{where}: ids are lower-case snake_case")
        if not isinstance(spec, dict) or not isinstance(spec.get("expressions"), dict):
            raise ThemeError(f"{where}: needs `expressions:` per language")
        exprs = []
        for lang, items in spec["expressions"].items():
            if not isinstance(items, list) or not all(
                isinstance(i, str) and i.strip() for i in items
            ):
                raise ThemeError(
                    f"{where}, language {lang!r}: expressions must be a list of non-empty strings"
                    ' (quote words YAML reads as booleans: "no", "on")'
                )
            for item in items:
                _check_regex(
                    expression_regex(item), f"{where}, language {lang!r}, expression {item!r}"
                )
            exprs.append((str(lang), tuple(items)))
        labels = spec.get("label") or {}
        if not isinstance(labels, dict):
            raise ThemeError(f"{where}: `label` must map languages to names")
        themes.append(
            Theme(str(tid), tuple((str(k), str(v)) for k, v in labels.items()), tuple(exprs))
        )
    return Taxonomy(tuple(themes), path)


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Load (and validate) a taxonomy file; the default ships in ``cx/config/themes.yaml``."""
    p = Path(path) if path is not None else TAXONOMY_FILE
    if not p.exists():
        raise ThemeError(f"{p}: file not found")
    return _load_taxonomy(str(p), p.stat().st_mtime)


# ---------------------------------------------------------------- sentiment lexicons


@dataclass(frozen=True)
class Lexicon:
    """Sentiment patterns of one language (regexes over normalised text)."""

    language: str
    weighted: tuple[tuple[str, float], ...]  # (pattern, signed weight)
    negated_positive: str | None
    negated_negative: str | None
    intensified_positive: str | None
    intensified_negative: str | None
    contrast: tuple[str, ...]


def _lexicon(lang: str, spec: dict[str, Any], where: str) -> Lexicon:
    def strings(items: Any, what: str) -> list[str]:
        if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
            raise ThemeError(
                f'{where}: {what} must be a list of strings (quote words such as "no" or "on")'
            )
        return list(items)

    def terms(kind: str, level: int) -> list[str]:
        block = spec.get(kind) or {}
        return strings(block.get(level) or block.get(str(level)) or [], f"{kind}.{level}")

    weighted: list[tuple[str, float]] = []
    for kind, sign in (("positive", 1.0), ("negative", -1.0)):
        for level in (1, 2):
            items = terms(kind, level)
            if items:
                weighted.append((_alternation(items), sign * level))
    pos = terms("positive", 1) + terms("positive", 2)
    neg = terms("negative", 1) + terms("negative", 2)
    negators = strings(spec.get("negators") or [], "negators")
    intens = strings(spec.get("intensifiers") or [], "intensifiers")
    # A negator is not itself negated ("ne ... jamais", "не ..., никакого"): such terms keep their sign.
    negator_words = {normalise_text(n).split()[0] for n in negators if normalise_text(n).split()}

    def flippable(items: list[str]) -> list[str]:
        return [
            t
            for t in items
            if (normalise_text(t.rstrip("*")).split() or [""])[0] not in negator_words
        ]

    pos, neg = flippable(pos), flippable(neg)

    def prefixed(prefix: list[str], target: list[str], gap: str) -> str | None:
        if not prefix or not target:
            return None
        return _alternation(prefix) + gap + _alternation(target, lead=False)

    lex = Lexicon(
        language=lang,
        weighted=tuple(weighted),
        negated_positive=prefixed(negators, pos, _NEGATION_GAP),
        negated_negative=prefixed(negators, neg, _NEGATION_GAP),
        intensified_positive=prefixed(intens, pos, " +"),
        intensified_negative=prefixed(intens, neg, " +"),
        contrast=tuple(strings(spec.get("contrast") or [], "contrast")),
    )
    for pattern in [p for p, _ in lex.weighted] + [lex.negated_positive, lex.negated_negative]:
        if pattern:
            _check_regex(pattern, where)
    return lex


@functools.lru_cache(maxsize=8)
def _load_lexicons(path: str, mtime: float) -> dict[str, Lexicon]:
    doc = _read_yaml(Path(path))
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
    doc = _read_yaml(Path(path)) or {}
    return {
        str(lang): frozenset(fold_text(str(w)).strip() for w in words or [])
        for lang, words in doc.items()
    }


def load_stopwords(path: str | Path | None = None) -> dict[str, frozenset[str]]:
    """Normalised stop words per language (``cx/config/stopwords.yaml``)."""
    p = Path(path) if path is not None else STOPWORDS_FILE
    return _load_stopwords(str(p), p.stat().st_mtime)


# ---------------------------------------------------------------- expressions


def sentiment_expr(norm: pl.Expr, lexicon: Lexicon) -> pl.Expr:
    """Sentiment in -1..1 of a normalised text: tanh(signed weighted count / 2).

    A negated lexicon term counts for the opposite polarity, an intensified one 1.5 times;
    no text gives null, text without lexicon terms 0.
    """
    raw = pl.lit(0.0)
    for pattern, weight in lexicon.weighted:
        raw = raw + weight * norm.str.count_matches(pattern).cast(pl.Float64)
    for optional, weight in (
        (lexicon.negated_positive, -2.0),
        (lexicon.negated_negative, 2.0),
        (lexicon.intensified_positive, 0.5),
        (lexicon.intensified_negative, -0.5),
    ):
        if optional:
            raw = raw + weight * norm.str.count_matches(optional).cast(pl.Float64)
    return (
        pl.when(norm.str.strip_chars().str.len_chars() > 0).then((raw / 2).tanh()).otherwise(None)
    )


def themes_expr(norm: pl.Expr, taxonomy: Taxonomy, language: str | None) -> pl.Expr:
    """List of the theme ids whose expressions occur in the normalised text."""
    flags = []
    for tid in taxonomy.ids:
        pattern = taxonomy.pattern(tid, language)
        if pattern is not None:
            flags.append(
                pl.when(norm.str.contains(pattern))
                .then(pl.lit(tid))
                .otherwise(pl.lit(None, pl.String))
            )
    if not flags:
        return pl.lit([], pl.List(pl.String))
    return pl.concat_list(flags).list.drop_nulls()


_LANG_MARKERS = {
    "es": (
        " (?:el|los|las|que|y|muy|pero|es|con|una|por|para|mi|del|se|lo|estaba|fue|nada|todo|todos|hay|tuve|q) ",
        "[ñ¿¡áíóú]",
    ),
    "fr": (
        " (?:le|les|des|est|et|je|un|une|du|au|aux|pas|tres|c|j|qu|ne|mais|pour|avec|sur|il|on|ce|ete|etait|tout) ",
        "[èêàâçôîûœë]",
    ),
    "en": (
        " (?:the|and|is|was|i|to|of|it|my|with|for|not|very|but|they|this|in|on|at|had|have|were|t|s) ",
        "$^",
    ),
}


def detect_language(text: pl.Expr) -> pl.Expr:
    """ISO 639-1 guess: Cyrillic -> ``ru``; else the most frequent es/fr/en stop words and
    accented letters (ties: es, fr, en); null when nothing points anywhere."""
    low = text.str.to_lowercase()
    norm = pl.concat_str(
        [
            pl.lit("  "),
            fold(text).str.replace_many(
                _SEPARATORS + _CLAUSE_MARKS, ["  "] * (len(_SEPARATORS) + len(_CLAUSE_MARKS))
            ),
            pl.lit("  "),
        ]
    )
    scores = {
        lang: norm.str.count_matches(words) + 2 * low.str.count_matches(chars)
        for lang, (words, chars) in _LANG_MARKERS.items()
    }
    es, fr, en = scores["es"], scores["fr"], scores["en"]
    best = (
        pl.when((es >= fr) & (es >= en) & (es > 0))
        .then(pl.lit("es"))
        .when((fr >= en) & (fr > 0))
        .then(pl.lit("fr"))
        .when(en > 0)
        .then(pl.lit("en"))
        .otherwise(pl.lit(None, pl.String))
    )
    return pl.when(low.str.contains("[а-яё]")).then(pl.lit("ru")).otherwise(best)


# ---------------------------------------------------------------- tagging

_ROW, _NORM, _LANG = "__cx_row", "__cx_norm", "__cx_lang"


def _clause_sentiment(
    part: pl.LazyFrame,
    text: str,
    taxonomy: Taxonomy,
    lexicon: Lexicon | None,
    language: str | None,
    contrast: list[str],
) -> pl.LazyFrame:
    """Per theme, the mean sentiment of the clauses that mention it (a list aligned to ``themes``)."""
    splitter = r"[.;!?\n]+"
    if contrast:
        splitter += r"|\b(?:" + "|".join(_escape(fold_text(c)) for c in contrast) + r")\b"
    clauses = (
        part.select(
            _ROW,
            fold(pl.col(text)).str.replace_all(splitter, "\x1f").str.split("\x1f").alias("clause"),
        )
        .explode("clause")
        .with_columns(normalise(pl.col("clause")).alias(_NORM))
    )
    sent = sentiment_expr(pl.col(_NORM), lexicon) if lexicon else pl.lit(0.0)
    flags = {tid: taxonomy.pattern(tid, language) for tid in taxonomy.ids}
    per_theme = (
        clauses.with_columns(sent.alias("__s"))
        .group_by(_ROW)
        .agg(
            [
                pl.col("__s").filter(pl.col(_NORM).str.contains(p)).mean().alias(f"__t_{tid}")
                for tid, p in flags.items()
                if p
            ]
        )
    )
    return (
        part.join(per_theme, on=_ROW, how="left")
        .with_columns(
            theme_sentiment=pl.concat_list(
                [
                    pl.when(pl.col("themes").list.contains(tid)).then(
                        pl.coalesce(pl.col(f"__t_{tid}"), pl.col("sentiment"), pl.lit(0.0))
                    )
                    for tid, p in flags.items()
                    if p
                ]
            ).list.drop_nulls()
            if any(flags.values())
            else pl.lit([], pl.List(pl.Float64))
        )
        .drop([f"__t_{tid}" for tid, p in flags.items() if p])
    )


def tag(
    frame: Frame,
    text: str = "comment",
    language: str | None = "language",
    taxonomy: Taxonomy | None = None,
    *,
    lexicons: dict[str, Lexicon] | None = None,
    per_theme: bool = False,
) -> Frame:
    """Add ``themes`` (list of theme ids), ``sentiment`` (-1..1, null without text) and, when the
    ``language`` column is absent, a detected ``language``; ``per_theme`` adds ``theme_sentiment``
    (one value per entry of ``themes``, from the clauses that mention the theme).

    Vectorised: each language's rows are matched against that language's patterns only.
    """
    taxonomy = taxonomy or load_taxonomy()
    lexicons = lexicons if lexicons is not None else load_lexicons()
    lazy = frame.lazy()
    columns = lazy.collect_schema().names()
    if text not in columns:
        raise ThemeError(f"no text column {text!r}; columns are {', '.join(columns)}")
    if language is not None and language in columns:
        # Rows with a null language get every language's patterns (no detection needed).
        lang = pl.col(language).cast(pl.String).str.to_lowercase().str.slice(0, 2)
        out_language = None
    else:
        lang = detect_language(pl.col(text))
        out_language = "language"
    base = lazy.with_row_index(_ROW).with_columns(
        lang.alias(_LANG), normalise(pl.col(text)).alias(_NORM)
    )
    known: list[str] = sorted(set(taxonomy.languages) | set(lexicons))
    parts: list[pl.LazyFrame] = []
    all_contrast = [c for lex in lexicons.values() for c in lex.contrast]
    for code in [*known, None]:
        if code is None:
            part = base.filter(pl.col(_LANG).is_null() | ~pl.col(_LANG).is_in(known))
            lex = _merged_lexicon(lexicons)
        else:
            part = base.filter(pl.col(_LANG) == code)
            lex = lexicons.get(code)
        sent = (
            sentiment_expr(pl.col(_NORM), lex)
            if lex
            else pl.when(pl.col(_NORM).str.strip_chars() != "").then(0.0)
        )
        part = part.with_columns(
            themes=themes_expr(pl.col(_NORM), taxonomy, code), sentiment=sent.cast(pl.Float64)
        )
        if per_theme:
            part = _clause_sentiment(
                part,
                text,
                taxonomy,
                lex,
                code,
                list(lex.contrast) if lex and code else all_contrast,
            )
        parts.append(part)
    out = pl.concat(parts, how="vertical").sort(_ROW)
    if out_language:
        out = out.with_columns(pl.col(_LANG).alias(out_language))
    out = out.drop(_ROW, _NORM, _LANG)
    return out if isinstance(frame, pl.LazyFrame) else out.collect()


def _merged_lexicon(lexicons: dict[str, Lexicon]) -> Lexicon | None:
    """All languages' lexicons at once, for rows whose language is unknown."""
    if not lexicons:
        return None

    def union(patterns: list[str | None]) -> str | None:
        kept = [p for p in patterns if p]
        return "(?:" + "|".join(kept) + ")" if kept else None

    lexs = list(lexicons.values())
    return Lexicon(
        language="*",
        weighted=tuple(w for lex in lexs for w in lex.weighted),
        negated_positive=union([lex.negated_positive for lex in lexs]),
        negated_negative=union([lex.negated_negative for lex in lexs]),
        intensified_positive=union([lex.intensified_positive for lex in lexs]),
        intensified_negative=union([lex.intensified_negative for lex in lexs]),
        contrast=tuple(c for lex in lexs for c in lex.contrast),
    )


# ---------------------------------------------------------------- highlighting

_ACCENT_CLASSES = {
    "a": "[aáàâäã]",
    "e": "[eéèêë]",
    "i": "[iíìîï]",
    "o": "[oóòôöõ]",
    "u": "[uúùûü]",
    "n": "[nñ]",
    "c": "[cç]",
    "е": "[её]",
    "y": "[yýÿ]",
}


def _accent_insensitive(word: str) -> str:
    return "".join(_ACCENT_CLASSES.get(ch, _escape(ch)) for ch in word)


_LETTER = r"[\p{L}\p{N}]"
_NOT_LETTER = r"[^\p{L}\p{N}]"


def highlight_regex(expressions: list[str]) -> str | None:
    """Case- and accent-insensitive regex over the ORIGINAL text for highlighting matches.

    Groups: 1 = the character before, 2 = the match, 3 = the character after (so a replacement
    ``${1}<mark>${2}</mark>${3}`` keeps the text intact). Built from plain words, stems and
    phrases (``re:`` and ``..`` gaps are not highlighted); kept small on purpose: the regex
    engine has a size limit and Unicode word classes are expensive.
    """
    words: list[str] = []
    stems: list[str] = []
    for expression in expressions:
        if expression.startswith("re:") or ".." in expression.split():
            continue
        tokens = [t for t in normalise_text(expression.rstrip("*")).split() if t != "|"]
        if not tokens:
            continue
        body = r"[\s'\-]+".join(_accent_insensitive(t) for t in tokens)
        (stems if expression.endswith("*") else words).append(body)
    if not words and not stems:
        return None
    alts = []
    if stems:
        alts.append(
            "(?:" + "|".join(sorted(set(stems), key=len, reverse=True)) + ")" + _LETTER + "*"
        )
    if words:
        alts.append("(?:" + "|".join(sorted(set(words), key=len, reverse=True)) + ")")
    return f"(?i)(^|{_NOT_LETTER})(" + "|".join(alts) + f")({_NOT_LETTER}|$)"


def literal_regex(text: str) -> str:
    """An escaped, accent-insensitive regex matching ``text`` literally (for user search terms)."""
    return "(?i)" + "".join(_ACCENT_CLASSES.get(ch, _escape(ch)) for ch in fold_text(text))
