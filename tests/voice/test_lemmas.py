"""Word keys: inflections, missing accents, abbreviations and typos meet the word written once."""

from __future__ import annotations

import pytest

from cx.voice import lemmas


@pytest.mark.parametrize(
    ("lang", "forms"),
    [
        ("es", ["esperar", "esperé", "esperamos", "espere", "esperando"]),
        ("es", ["sucio", "sucia", "sucias"]),
        ("fr", ["propre", "propres"]),
        ("en", ["wait", "waited", "waiting", "waits"]),
        ("en", ["queue", "queues"]),
        ("ru", ["очередь", "очереди", "очередью", "очередей"]),
        ("ru", ["ждать", "ждали", "ждала", "жду"]),
    ],
)
def test_inflections_share_one_key(lang: str, forms: list[str]) -> None:
    assert len({lemmas.key(f, lang) for f in forms}) == 1


def test_missing_accents_and_abbreviations_meet_the_written_word() -> None:
    assert lemmas.key("telefono", "es") == lemmas.key("teléfono", "es")
    assert lemmas.key("atencion", "es") == lemmas.key("atención", "es")
    assert lemmas.key("tlf", "es") == lemmas.key("teléfono", "es")
    assert lemmas.key("pb", "fr") == lemmas.key("problème", "fr")
    assert lemmas.key("mins", "en") == lemmas.key("minutes", "en")
    assert lemmas.key("спс", "ru") == lemmas.key("спасибо", "ru")


def test_short_stems_keep_unrelated_words_apart() -> None:
    assert lemmas.key("может", "ru") != lemmas.key("моча", "ru")
    assert lemmas.key("caso", "es") != lemmas.key("casa", "es")
    assert lemmas.key("пришлось", "ru") != lemmas.key("пришла", "ru")  # "had to" is not "arrived"


def test_prefix_keys_are_stems_that_still_prefix_the_word() -> None:
    assert lemmas.prefix_key("estacionament", "pt") == "estacion"
    assert lemmas.key("estacionamento", "pt").startswith(lemmas.prefix_key("estacionament", "pt"))
    assert lemmas.prefix_key("limpi", "es") == "limpi"


def test_a_typo_of_a_long_expression_word_takes_its_key_and_real_words_stay() -> None:
    mapped = lemmas.vocabulary_keys(
        ["limpiesa", "limpeza", "esperar", "impecable"], "es", ["limpieza", "esperar"]
    )
    assert mapped["limpiesa"] == mapped["limpeza"] == lemmas.key("limpieza", "es")
    assert "esperar" not in mapped or mapped["esperar"] == lemmas.key("esperar", "es")
    assert mapped.get("impecable", "impecable") != lemmas.key("limpieza", "es")
    # "nearly" is one edit from "neatly" but is a word of its own
    assert lemmas.vocabulary_keys(["nearly"], "en", ["neatly"]).get("nearly") != "neat"


def test_one_edit_is_substitution_insertion_deletion_or_transposition() -> None:
    assert lemmas._one_edit("attendre", "atendre")
    assert lemmas._one_edit("limpieza", "limpiesa")
    assert lemmas._one_edit("queue", "quiet") is False
    assert lemmas._one_edit("esperar", "espreas") is False
    assert lemmas._one_edit("espera", "espear")  # transposition
