"""Text normalisation shared by tagging, sentiment, highlighting and search.

A *normalised* text is lower case, Latin accents stripped (Cyrillic kept, ё -> е), letters
repeated three times or more collapsed ("muuuy" -> "muy"), every run of punctuation or spaces
turned into two spaces and one space of padding at both ends. Word boundaries are then literal
spaces, which keeps the regex engine on its fast DFA path for Cyrillic too (no Unicode ``\\b``).
Clause punctuation and "and" become `` | `` (the end of a negation's scope, the edge of a clause).
"""

from __future__ import annotations

import re

import polars as pl

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
META = set("\\.+*?()|[]{}^$#&-~")
# Separators become two spaces, clause punctuation a `|` between spaces (literal replacements:
# much faster than a Unicode regex). Other symbols (emoji…) stay attached to their word.
SEPARATORS = list(" \t\n\r'\"-/_«»“”„¿¡…–—*+=<>[]{}#%&@~^\\|°")
CLAUSE_MARKS = list(".,;:!?()")
# "and" closes the scope of a negation ("doesn't work and rejects" does not flip "rejects").
CONJUNCTIONS = ("y", "e", "et", "and", "и")


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
        "  " if ch in SEPARATORS else "  |  " if ch in CLAUSE_MARKS else ch for ch in folded
    )
    padded = "  " + spaced + "  "
    for conj in CONJUNCTIONS:
        padded = padded.replace(f"  {conj}  ", "  |  ")
    return padded


def words(text: str) -> list[str]:
    """The words of a text as :func:`normalise_text` cuts them (clause marks left out)."""
    return [w for w in normalise_text(text).split() if w != "|"]


def fold(text: pl.Expr) -> pl.Expr:
    """Lower case and strip Latin accents (vectorised)."""
    return text.str.to_lowercase().str.replace_many(_FOLD_FROM, _FOLD_TO)


def normalise(text: pl.Expr) -> pl.Expr:
    """The text the patterns run on: folded, repeats collapsed, words separated by two spaces,
    clause punctuation and conjunctions turned into ``|`` (the end of a negation's scope)."""
    folded = fold(text).str.replace_all(_REPEAT_PATTERN, _REPEAT_REPLACE)
    spaced = folded.str.replace_many(
        SEPARATORS + CLAUSE_MARKS, ["  "] * len(SEPARATORS) + ["  |  "] * len(CLAUSE_MARKS)
    )
    padded = pl.concat_str([pl.lit("  "), spaced, pl.lit("  ")])
    return padded.str.replace_many(
        [f"  {c}  " for c in CONJUNCTIONS], ["  |  "] * len(CONJUNCTIONS)
    )


def escape(token: str) -> str:
    """A literal token inside a regex."""
    return "".join("\\" + ch if ch in META else ch for ch in token)


# ---------------------------------------------------------------- language detection

_LANG_MARKERS = {
    "es": (
        " (?:el|los|las|que|y|muy|pero|es|con|una|por|para|mi|del|se|lo|estaba|fue|nada|todo"
        "|todos|hay|tuve|q|al|sin|ya|porque|xq|pq|esta|estan|son|cuando|como|nos"
        "|su|sus|tambien|hace|sigue|nadie|mucho|poco|gracias|pedido|atencion) ",
        "[ñ¿¡áíóú]",
    ),
    "fr": (
        " (?:le|les|des|est|et|je|un|une|du|au|aux|pas|tres|c|j|qu|ne|mais|pour|avec|sur|il"
        "|on|ce|ete|etait|tout|ai|suis|sont|vous|nous|m|n|l|d|ca|plus|rien|jamais"
        "|toujours|personne|merci|trop|au|chez|fait|avoir|etre) ",
        "[èêàâçôîûœë]",
    ),
    "en": (
        " (?:the|and|is|was|i|to|of|it|my|with|for|not|very|but|they|this|in|on|at|had|have"
        "|were|t|s|so|you|we|would|could|didn|don|been|still|just|never|again|after"
        "|really|from|an|or|which|what|be|too|thanks|good|bad) ",
        "$^",
    ),
}


def detect_language(text: pl.Expr) -> pl.Expr:
    """ISO 639-1 guess: Cyrillic -> ``ru``; else the most frequent es/fr/en function words and
    accented letters (ties: es, fr, en); null when nothing points anywhere."""
    low = text.str.to_lowercase()
    norm = pl.concat_str(
        [
            pl.lit("  "),
            fold(text).str.replace_many(
                SEPARATORS + CLAUSE_MARKS, ["  "] * (len(SEPARATORS) + len(CLAUSE_MARKS))
            ),
            pl.lit("  "),
        ]
    )
    scores = {
        lang: norm.str.count_matches(marker) + 2 * low.str.count_matches(chars)
        for lang, (marker, chars) in _LANG_MARKERS.items()
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


# ---------------------------------------------------------------- highlighting and search

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
_LETTER = r"[\p{L}\p{N}]"
_NOT_LETTER = r"[^\p{L}\p{N}]"


def _accent_insensitive(word: str) -> str:
    return "".join(_ACCENT_CLASSES.get(ch, escape(ch)) for ch in word)


def highlight_regex(expressions: list[str]) -> str | None:
    """Case- and accent-insensitive regex over the ORIGINAL text for highlighting matches.

    Groups: 1 = the character before, 2 = the match, 3 = the character after (so a replacement
    ``${1}<mark>${2}</mark>${3}`` keeps the text intact). Built from plain words, stems and
    phrases (``re:`` and ``..`` gaps are not highlighted); kept small on purpose: the regex
    engine has a size limit and Unicode word classes are expensive.
    """
    plain: list[str] = []
    stems: list[str] = []
    for expression in expressions:
        if expression.startswith("re:") or ".." in expression.split():
            continue
        tokens = words(expression.rstrip("*"))
        if not tokens:
            continue
        body = r"[\s'\-]+".join(_accent_insensitive(t) for t in tokens)
        (stems if expression.endswith("*") else plain).append(body)
    if not plain and not stems:
        return None
    alts = []
    if stems:
        alts.append(
            "(?:" + "|".join(sorted(set(stems), key=len, reverse=True)) + ")" + _LETTER + "*"
        )
    if plain:
        alts.append("(?:" + "|".join(sorted(set(plain), key=len, reverse=True)) + ")")
    return f"(?i)(^|{_NOT_LETTER})(" + "|".join(alts) + f")({_NOT_LETTER}|$)"


def literal_regex(text: str) -> str:
    """An escaped, accent-insensitive regex matching ``text`` literally (for user search terms)."""
    return "(?i)" + "".join(_ACCENT_CLASSES.get(ch, escape(ch)) for ch in fold_text(text))
