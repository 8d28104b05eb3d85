"""Word keys: the one form every inflection, missing accent, abbreviation and cheap typo of a
word is matched under, per language.

``key(word, lang)`` = the Snowball stem of the word's lemma (simplemma for es/fr/en/pt/it/de,
pymorphy3 for ru), accents folded, after the abbreviations of ``cx/config/voice/abbreviations.yaml``.
Taxonomy and lexicon expressions and the words of the comments go through the same function, so
"esperé", "esperamos" and "espera" all meet "esperar". Only the vocabulary (unique words) is
ever lemmatised, never each occurrence; :func:`vocabulary_keys` also maps an unknown word one
edit away from an expression word ("limpiesa", "attendee") onto that word's key.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from cx.voice.normalise import fold_text

ABBREVIATIONS_FILE = Path(str(resources.files("cx.config"))) / "voice" / "abbreviations.yaml"
_SNOWBALL = {
    "es": "spanish",
    "fr": "french",
    "en": "english",
    "ru": "russian",
    "pt": "portuguese",
    "it": "italian",
    "de": "german",
}
_SIMPLEMMA = frozenset({"es", "fr", "en", "pt", "it", "de"})
_ACCENTS = {"a": "áà", "e": "éèê", "i": "í", "o": "óô", "u": "úù", "n": "ñ", "c": "ç"}
_MIN_TYPO = 7  # shorter words have too many neighbours one edit away


@functools.lru_cache(maxsize=16)
def _stemmer(lang: str) -> Any:
    import snowballstemmer

    name = _SNOWBALL.get(lang)
    return snowballstemmer.stemmer(name) if name else None


@functools.lru_cache(maxsize=1)
def _morph() -> Any:
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


@functools.lru_cache(maxsize=4)
def _abbreviations(path: str) -> dict[str, dict[str, str]]:
    doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return {
        str(lang): {fold_text(str(k)): fold_text(str(v)) for k, v in (table or {}).items()}
        for lang, table in doc.items()
    }


def abbreviations(lang: str) -> dict[str, str]:
    """Abbreviation / slang -> the word it stands for (folded), for one language."""
    return _abbreviations(str(ABBREVIATIONS_FILE)).get(lang, {})


@functools.lru_cache(maxsize=500_000)
def is_known(word: str, lang: str) -> bool:
    """Whether the language's dictionary knows the word (as written)."""
    if lang == "ru":
        return bool(_morph().word_is_known(word))
    if lang in _SIMPLEMMA:
        import simplemma

        return bool(simplemma.is_known(word, lang))
    return True


def _accented(word: str, lang: str) -> str | None:
    """The dictionary word a folded word most likely lost its accents from (one or two)."""
    spots = [i for i, ch in enumerate(word) if ch in _ACCENTS]
    singles = [word[:i] + a + word[i + 1 :] for i in spots for a in _ACCENTS[word[i]]]
    for cand in singles:
        if is_known(cand, lang):
            return cand
    if len(spots) > 6:
        return None
    for n, i in enumerate(spots):
        for j in spots[n + 1 :]:
            for a in _ACCENTS[word[i]]:
                for b in _ACCENTS[word[j]]:
                    cand = word[:i] + a + word[i + 1 : j] + b + word[j + 1 :]
                    if is_known(cand, lang):
                        return cand
    return None


@functools.lru_cache(maxsize=500_000)
def lemma(word: str, lang: str) -> str:
    """The dictionary form of a (folded, lower-case) word; the word itself when unknown."""
    if lang == "ru":
        return str(_morph().parse(word)[0].normal_form)
    if lang not in _SIMPLEMMA:
        return word
    import simplemma

    if not is_known(word, lang) and lang in ("es", "fr", "pt", "it"):
        word = _accented(word, lang) or word
    return str(simplemma.lemmatize(word, lang))


@functools.lru_cache(maxsize=500_000)
def key(word: str, lang: str | None) -> str:
    """The matching key of a folded word: stem of the lemma, accents folded.

    >>> key("esperamos", "es") == key("esperé", "es") == key("espera", "es")
    True
    >>> key("очереди", "ru") == key("очередь", "ru")
    True
    """
    word = fold_text(word)
    if lang is None or not word or not any(ch.isalpha() for ch in word):
        return word
    word = abbreviations(lang).get(word, word)
    base = fold_text(lemma(word, lang))
    stemmer = _stemmer(lang)
    if stemmer is None or len(base) < 3:
        return base
    if lang == "ru" and base.endswith(("ся", "сь")):
        return base  # reflexive verbs keep their meaning apart ("пришлось" is not "пришла")
    stem = str(stemmer.stemWord(base))
    # A stem of three letters or fewer joins unrelated words ("может"/"моча", "caso"/"casa").
    return stem if len(stem) > 3 else base


_ENDINGS = {
    "es": ("o", "a", "os", "as", "e", "es", "ar", "er", "ir"),
    "fr": ("e", "es", "s", "er", "ent"),
    "en": ("s", "e", "ed", "ing", "y"),
    "pt": ("o", "a", "os", "as", "e", "ar"),
    "it": ("o", "a", "i", "e", "are"),
    "de": ("e", "en", "er"),
    "ru": ("а", "ы", "ь", "и", "ой", "ый", "ать"),
}


def prefix_key(prefix: str, lang: str | None) -> str:
    """Key-side prefix of an expression ``stem*``: the shortest stem of the prefix and of the
    prefix with a common ending that is still a prefix of it ("estacionament*" -> "estacion")."""
    folded = fold_text(prefix)
    stemmer = _stemmer(lang) if lang else None
    if stemmer is None or len(folded) < 4:
        return folded
    best = folded
    for cand in (folded, *(folded + e for e in _ENDINGS.get(lang or "", ()))):
        stem = str(stemmer.stemWord(cand))
        if (
            folded.startswith(stem)
            and len(stem) >= max(3, len(folded) - 5)
            and len(stem) < len(best)
        ):
            best = stem
    return best


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _one_edit(a: str, b: str) -> bool:
    """Optimal-string-alignment distance of at most one (substitution, insertion, deletion or
    transposition of two neighbours)."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diff = [i for i in range(la) if a[i] != b[i]]
        return len(diff) == 1 or (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    short, long_ = (a, b) if la < lb else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


def vocabulary_keys(
    tokens: Iterable[str], lang: str, targets: Iterable[str] = ()
) -> dict[str, str]:
    """Folded word -> key, for the words whose key differs from the word.

    ``targets``: the expression words of the language; an unknown word of five letters or more
    one edit away from exactly one target's key family is read as that target (a typo).
    """
    index: dict[str, set[str]] = {}
    wanted = set(targets)
    for t in wanted:
        if len(t) >= _MIN_TYPO and t.isalpha():
            for d in _deletes(t) | {t}:
                index.setdefault(d, set()).add(t)
    out: dict[str, str] = {}
    for tok in tokens:
        if not tok or tok == "|":
            continue
        k = key(tok, lang)
        if (
            index
            and len(tok) >= _MIN_TYPO
            and tok not in wanted
            and tok.isalpha()
            and not is_known(tok, lang)
            and not is_known(lemma(tok, lang), lang)
        ):
            near = {
                t
                for d in _deletes(tok) | {tok}
                for t in index.get(d, ())
                if t[:2] == tok[:2] and _one_edit(tok, t)
            }
            families = {key(t, lang) for t in near}
            if len(families) == 1:
                k = families.pop()
        if k != tok:
            out[tok] = k
    return out
