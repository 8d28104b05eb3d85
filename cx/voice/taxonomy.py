"""The comment-theme taxonomy (``cx/config/themes.yaml``): themes, their labels and expressions.

Expressions are data an analyst edits; :func:`expression_regex` turns one into a regular
expression over the *keyed* text of a language (every word replaced by its
:func:`cx.voice.lemmas.key`), so an expression written once matches every inflection, a missing
accent or a listed abbreviation of its words.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from cx.voice import lemmas
from cx.voice.normalise import escape, normalise_text

CONFIG = Path(str(resources.files("cx.config")))
TAXONOMY_FILE = CONFIG / "themes.yaml"
GAP = "(?: +[^ |]+){0,3} +"  # the `..` of an expression: up to three words in between


class ThemeError(ValueError):
    """A bad taxonomy / lexicon file (naming the file, theme, language and expression) or input."""


def expression_regex(expression: str, lang: str | None = None, *, lead: bool = True) -> str:
    """Regex (over the keyed text of ``lang``) of one taxonomy/lexicon expression.

    ``word`` matches that word in any inflection, ``stem*`` any word whose key starts with it,
    spaces separate the words of a phrase, ``..`` allows up to three words in between, ``re:``
    gives a raw regex over the keyed text. Without a language, words match as written (folded).

    >>> expression_regex("esper*")
    ' esper[^ ]*'
    >>> expression_regex("call center")
    ' call +center '
    >>> expression_regex("no .. funcion*")
    ' no(?: +[^ |]+){0,3} +funcion[^ ]*'
    >>> expression_regex("esperamos", "es")
    ' esper '
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
        parts = [w for w in normalise_text(tok.rstrip("*")).split() if w != "|"]
        for i, word in enumerate(parts):
            last_stem = stem and i == len(parts) - 1
            keyed = lemmas.prefix_key(word, lang) if last_stem else lemmas.key(word, lang)
            tokens.append(escape(keyed) + ("[^ ]*" if last_stem else ""))
            gaps.append(gap)
            gap = False
    if not tokens:
        raise ThemeError(f"empty expression {expression!r}")
    body = tokens[0]
    for tok, g in zip(tokens[1:], gaps[1:], strict=True):
        body += (GAP if g else " +") + tok
    if not raw[-1].endswith("*") or raw[-1] == "..":
        body += " "
    return (" " if lead else "") + body


def alternation(expressions: list[str] | tuple[str, ...], lang: str | None) -> str | None:
    """One regex matching any of the expressions (None for none)."""
    if not expressions:
        return None
    inner = "|".join(sorted({expression_regex(e, lang, lead=False) for e in expressions}))
    return f" (?:{inner})"


def check_regex(pattern: str, where: str) -> None:
    try:
        pl.select(pl.lit("").str.contains(pattern)).item()
    except pl.exceptions.PolarsError as exc:
        raise ThemeError(f"{where}: invalid pattern: {str(exc).splitlines()[0]}") from None


def plain_words(expressions: tuple[str, ...] | list[str]) -> set[str]:
    """The whole words of expressions (no stems, no raw regexes): typo targets."""
    out: set[str] = set()
    for e in expressions:
        if e.startswith("re:"):
            continue
        for tok in e.split():
            if tok != ".." and not tok.endswith("*"):
                out.update(w for w in normalise_text(tok).split() if w != "|")
    return out


Expressions = tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class Theme:
    """One theme: its id, labels and, per language, its expressions.

    ``weak`` expressions ("rápido", "slow") count only in a sentence naming no other theme;
    ``exclude`` expressions ("sala de espera") are phrases whose words never count for it.
    """

    id: str
    labels: tuple[tuple[str, str], ...]
    expressions: Expressions
    weak: Expressions = ()
    exclude: Expressions = ()

    def label(self, language: str = "en") -> str:
        labels = dict(self.labels)
        return labels.get(language) or labels.get("en") or self.id.replace("_", " ").capitalize()

    def of(self, kind: str, language: str | None) -> tuple[str, ...]:
        """Expressions of a kind (``expressions``, ``weak``, ``exclude``) in a language (None: all)."""
        table = dict(getattr(self, kind))
        if language is None:
            return tuple(e for lang in sorted(table) for e in table[lang])
        return tuple(table.get(language, ()))


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
        """The regex of a theme's (strong) expressions in a language (None: every language's)."""
        return alternation(self.theme(theme_id).of("expressions", language), language)

    def label_frame(self, language: str = "en") -> pl.DataFrame:
        return pl.DataFrame({"theme": self.ids, "label": [t.label(language) for t in self.themes]})


def read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ThemeError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        raise ThemeError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None


def _expressions(spec: Any, where: str, kind: str) -> Expressions:
    if spec is None:
        return ()
    if not isinstance(spec, dict):
        raise ThemeError(f"{where}: `{kind}:` maps languages to lists of expressions")
    out = []
    for lang, items in spec.items():
        if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
            raise ThemeError(
                f"{where}, language {lang!r}: {kind} must be a list of non-empty strings"
                ' (quote words YAML reads as booleans: "no", "on")'
            )
        for item in items:
            check_regex(
                expression_regex(item, None), f"{where}, language {lang!r}, expression {item!r}"
            )
        out.append((str(lang), tuple(items)))
    return tuple(out)


@functools.lru_cache(maxsize=8)
def _load_taxonomy(path: str, mtime: float) -> Taxonomy:
    doc = read_yaml(Path(path))
    if not isinstance(doc, dict) or not isinstance(doc.get("themes"), dict) or not doc["themes"]:
        raise ThemeError(f"{path}: expected a mapping `themes:` with at least one theme")
    themes = []
    for tid, spec in doc["themes"].items():
        where = f"{path}: theme {tid!r}"
        if not re.fullmatch(r"[a-z][a-z0-9_]*", str(tid)):
            raise ThemeError(f"{where}: ids are lower-case snake_case")
        if not isinstance(spec, dict) or not isinstance(spec.get("expressions"), dict):
            raise ThemeError(f"{where}: needs `expressions:` per language")
        labels = spec.get("label") or {}
        if not isinstance(labels, dict):
            raise ThemeError(f"{where}: `label` must map languages to names")
        themes.append(
            Theme(
                str(tid),
                tuple((str(k), str(v)) for k, v in labels.items()),
                _expressions(spec["expressions"], where, "expressions"),
                _expressions(spec.get("weak"), where, "weak"),
                _expressions(spec.get("except"), where, "except"),
            )
        )
    return Taxonomy(tuple(themes), path)


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Load (and validate) a taxonomy file; the default ships in ``cx/config/themes.yaml``."""
    p = Path(path) if path is not None else TAXONOMY_FILE
    if not p.exists():
        raise ThemeError(f"{p}: file not found")
    return _load_taxonomy(str(p), p.stat().st_mtime)
