"""The text catalog: the packaged language files match the English one key for key and placeholder
for placeholder, unknown languages and missing texts fall back to English, and values are inserted
as typed, never evaluated or read as fields."""

from __future__ import annotations

import pytest

from cx.core import catalog
from cx.core.catalog import CatalogError

ACK = {"agency": "Paris", "number": "CX-000007", "name": "Mme Martin"}


def test_the_packaged_languages_have_a_file_each() -> None:
    assert catalog.languages() == ["en", "es", "fr", "ru"]


def test_every_language_has_exactly_the_english_keys_and_placeholders() -> None:
    books = {lang: catalog.messages(lang) for lang in catalog.languages()}
    english = books["en"]
    assert len(english) >= 18
    for lang, book in books.items():
        assert set(book) == set(english), lang
        for key, template in book.items():
            assert set(catalog.placeholders(template)) == set(catalog.placeholders(english[key])), (
                f"{lang}: {key}"
            )
    assert catalog.check() == []


def test_parity_check_names_missing_and_extra_keys_and_other_placeholders() -> None:
    books = {
        "en": {"a": "Hi {name}", "b": "Bye", "c": "Case {number}"},
        "es": {"a": "Hola {nombre}", "c": "Caso {number}", "d": "extra"},
        "fr": {"a": "Salut {name}", "b": "Au revoir", "c": "Dossier {number:>6}"},
    }
    assert catalog.parity_problems(books) == [
        "es: missing b",
        "es: extra d",
        "es: a has placeholders {nombre}, en has {name}",
        "fr: c: stray '{' at position 8; only {name} fields are allowed, write {{ or }} "
        "for a literal brace",
    ]


@pytest.mark.parametrize("language", [None, "", "en", "EN", "pt", "es-MX", "../en"])
def test_unknown_or_missing_language_falls_back_to_english(language: str | None) -> None:
    assert catalog.text("ack.subject", language, **ACK) == "Your feedback to Paris: case CX-000007"


def test_language_is_case_insensitive_and_each_language_has_its_own_text() -> None:
    subjects = {
        lang: catalog.text("ack.subject", lang.upper(), **ACK) for lang in ("es", "fr", "ru")
    }
    assert subjects == {
        "es": "Su opinión sobre Paris: caso CX-000007",
        "fr": "Votre avis sur Paris : dossier CX-000007",
        "ru": "Ваш отзыв об отделении Paris: обращение CX-000007",
    }


def test_messages_of_an_unknown_language_is_an_error() -> None:
    with pytest.raises(CatalogError, match="no catalog for language 'pt'.*en, es, fr, ru"):
        catalog.messages("pt")


def test_a_text_missing_in_a_language_falls_back_to_the_english_one() -> None:
    books = {"en": {"hi": "Hello", "bye": "Goodbye"}, "fr": {"hi": "Bonjour"}}
    assert catalog.pick(books, "hi", "fr") == "Bonjour"
    assert catalog.pick(books, "bye", "fr") == "Goodbye"
    with pytest.raises(CatalogError, match="unknown message id 'nope'"):
        catalog.pick(books, "nope", "fr")
    with pytest.raises(CatalogError, match="unknown message id 'case.nope'.*en.yaml"):
        catalog.text("case.nope", "fr")


def test_placeholders_are_filled_and_extra_values_ignored() -> None:
    body = catalog.text("ack.body", "fr", **ACK, unused="x")
    assert body.startswith("Bonjour Mme Martin,\n\nMerci d'avoir répondu")
    assert "le dossier CX-000007 ;" in body and body.endswith("L'équipe de Paris")
    assert "{" not in body
    assert catalog.fill("{{literal}} {n}/10", {"n": 3}) == "{literal} 3/10"


def test_a_missing_value_names_the_text_and_the_placeholder() -> None:
    with pytest.raises(CatalogError, match=r"ack\.body \(ru\): no value for placeholder \{name\}"):
        catalog.text("ack.body", "ru", agency="Moscow", number="CX-000001")


@pytest.mark.parametrize(
    "hostile",
    ["{__class__}", "{0.__init__}", "{name}", "{agency.__class__.__mro__}", "{{x}}", "}{", "{"],
)
def test_a_hostile_value_is_inserted_as_typed_and_never_evaluated(hostile: str) -> None:
    body = catalog.text("ack.body", "en", agency="Paris", number="CX-1", name=hostile)
    assert body.startswith(f"Dear {hostile},\n\n")
    assert "<class" not in body and "method-wrapper" not in body
    subject = catalog.text("ack.subject", "es", agency=hostile, number=hostile)
    assert subject == f"Su opinión sobre {hostile}: caso {hostile}"


@pytest.mark.parametrize("template", ["{0.__init__}", "{name.__class__}", "{name!r}", "{name:>9}"])
def test_a_template_may_hold_only_plain_named_fields(template: str) -> None:
    with pytest.raises(CatalogError, match="stray"):
        catalog.fill(template, {"name": "x", "0": "y"})
    with pytest.raises(CatalogError, match="stray"):
        catalog.placeholders(template)


def test_every_text_renders_completely_in_every_language() -> None:
    english = catalog.messages("en")
    for lang in catalog.languages():
        for key, template in english.items():
            values = {name: f"<{name}>" for name in catalog.placeholders(template)}
            rendered = catalog.text(key, lang, **values)
            assert rendered.strip() and "{" not in rendered and "}" not in rendered, (lang, key)
            assert all(f"<{name}>" in rendered for name in values), (lang, key)
