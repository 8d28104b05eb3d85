"""Texts that vary by language, read from the packaged catalog ``cx/config/catalog/<language>.yaml``:
one flat mapping of message id (``case.call_script.q_fix``) to text per language. English is the
reference every other file must match key for key and placeholder for placeholder, and the fallback.

Placeholders are ``{name}`` fields filled in one pass, never through :meth:`str.format`: a value is
inserted as typed, so user text such as ``{0.__init__}`` is neither evaluated nor read as a field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from importlib import resources
from types import MappingProxyType

import yaml

FALLBACK = "en"
"""The reference language, used when a language or one of its texts is missing."""

_FOLDER = "cx/config/catalog"
# A literal brace is doubled, as in str.format; any other brace (attribute, index, format spec,
# positional field) is an error in the catalog, never a way into a value.
_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}|[{}]")


class CatalogError(LookupError):
    """A catalog file, message id or placeholder value that is missing or malformed; says which."""


def placeholders(template: str, *, where: str = "text") -> tuple[str, ...]:
    """The ``{name}`` fields of a template, in order of first use; any other brace is an error.

    >>> placeholders("Dear {name}, case {number} for {name} {{not a field}}")
    ('name', 'number')
    >>> placeholders("{0.__init__}")
    Traceback (most recent call last):
    ...
    cx.core.catalog.CatalogError: text: stray '{' at position 0; only {name} fields are allowed, write {{ or }} for a literal brace
    """
    names: dict[str, None] = {}
    for match in _TOKEN.finditer(template):
        if match.group(1) is not None:
            names[match.group(1)] = None
        elif match.group(0) not in ("{{", "}}"):
            raise CatalogError(_stray(where, match))
    return tuple(names)


def fill(template: str, values: Mapping[str, object], *, where: str = "text") -> str:
    """Put ``str(value)`` into each ``{name}`` field of a trusted template; extra values are ignored.

    >>> fill("Dear {name}, {{sic}}", {"name": "{__class__} {0.__init__}", "unused": 1})
    'Dear {__class__} {0.__init__}, {sic}'
    >>> fill("Dear {name}", {}, where="ack.body (fr)")
    Traceback (most recent call last):
    ...
    cx.core.catalog.CatalogError: ack.body (fr): no value for placeholder {name}; pass name=...
    """

    def one(match: re.Match[str]) -> str:
        token, name = match.group(0), match.group(1)
        if name is None:
            if token in ("{{", "}}"):
                return token[0]
            raise CatalogError(_stray(where, match))
        if name not in values:
            raise CatalogError(f"{where}: no value for placeholder {{{name}}}; pass {name}=...")
        return str(values[name])

    return _TOKEN.sub(one, template)


def _stray(where: str, match: re.Match[str]) -> str:
    return (
        f"{where}: stray {match.group(0)!r} at position {match.start()}; "
        "only {name} fields are allowed, write {{ or }} for a literal brace"
    )


def pick(catalogs: Mapping[str, Mapping[str, str]], key: str, language: str | None) -> str:
    """The template of ``key`` in ``language`` (case-insensitive), else the English one.

    >>> books = {"en": {"hi": "Hello", "bye": "Goodbye"}, "fr": {"hi": "Bonjour"}}
    >>> pick(books, "hi", "FR"), pick(books, "bye", "fr"), pick(books, "hi", None), pick(books, "hi", "de")
    ('Bonjour', 'Goodbye', 'Hello', 'Hello')
    """
    own = catalogs.get((language or FALLBACK).lower(), {})
    template = own.get(key, catalogs.get(FALLBACK, {}).get(key))
    if template is None:
        raise CatalogError(f"unknown message id {key!r}; add it to {_FOLDER}/{FALLBACK}.yaml")
    return template


def parity_problems(
    catalogs: Mapping[str, Mapping[str, str]], reference: str = FALLBACK
) -> list[str]:
    """How each language differs from the reference: missing or extra ids, other placeholders.

    >>> books = {"en": {"a": "Hi {name}", "b": "x"}, "fr": {"a": "Salut {nom}", "c": "y"}}
    >>> for problem in parity_problems(books):
    ...     print(problem)
    fr: missing b
    fr: extra c
    fr: a has placeholders {nom}, en has {name}
    """
    ref = catalogs[reference]
    problems: list[str] = []
    for language in sorted(catalogs):
        own = catalogs[language]
        problems += [f"{language}: missing {key}" for key in ref if key not in own]
        problems += [f"{language}: extra {key}" for key in own if key not in ref]
        for key in (k for k in ref if k in own):
            try:
                mine = set(placeholders(own[key], where=f"{language}: {key}"))
                theirs = set(placeholders(ref[key], where=f"{reference}: {key}"))
            except CatalogError as exc:
                problems.append(str(exc))
                continue
            if mine != theirs:
                problems.append(
                    f"{language}: {key} has placeholders {_braced(mine)}, "
                    f"{reference} has {_braced(theirs)}"
                )
    return problems


def _braced(names: set[str]) -> str:
    return " ".join(f"{{{n}}}" for n in sorted(names)) or "none"


@cache
def _catalogs() -> Mapping[str, Mapping[str, str]]:
    """Every packaged catalog file, read and checked for shape once per process."""
    folder = resources.files("cx.config") / "catalog"
    out: dict[str, Mapping[str, str]] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        where = f"{_FOLDER}/{entry.name}"
        raw = yaml.safe_load(entry.read_text(encoding="utf-8")) or {}
        if not isinstance(raw, dict):
            raise CatalogError(f"{where}: expected a mapping of message id to text")
        for key, value in raw.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise CatalogError(
                    f"{where}: {key!r} is a {type(value).__name__}, not a text; quote it"
                )
        out[entry.name.removesuffix(".yaml")] = MappingProxyType(raw)
    if FALLBACK not in out:
        raise CatalogError(f"{_FOLDER}/{FALLBACK}.yaml is missing; it is the reference catalog")
    return MappingProxyType(out)


def languages() -> list[str]:
    """The languages with a catalog file, sorted.

    >>> languages()
    ['en', 'es', 'fr', 'ru']
    """
    return list(_catalogs())


def messages(language: str) -> Mapping[str, str]:
    """Every text of one packaged language, by message id, in file order (read-only).

    >>> messages("es")["case.call_script.none"]
    'ninguno'
    """
    books = _catalogs()
    if language not in books:
        raise CatalogError(
            f"no catalog for language {language!r}; the catalog has {', '.join(books)}"
        )
    return books[language]


def text(key: str, language: str | None, /, **values: object) -> str:
    """The text ``key`` in ``language`` (English when that language or its text is missing), with
    ``values`` in its ``{name}`` fields.

    >>> text("case.call_script.q_fix", "FR")
    "Qu'est-ce qui arrangerait la situation pour vous aujourd'hui ?"
    >>> text("case.call_script.title", "pt", id=7)
    'Call script — case #7'
    """
    template = pick(_catalogs(), key, language)
    return fill(template, values, where=f"{key} ({(language or FALLBACK).lower()})")


def check() -> list[str]:
    """:func:`parity_problems` of the packaged catalog files: empty when each matches ``en.yaml``."""
    return parity_problems(_catalogs())
