"""Customer-facing texts use the customer's language throughout: the call script and the e-mails
name attributes and themes from ``cx/config/locale/names.yaml``, never in English on a French page."""

from __future__ import annotations

import json
import re

import pytest

from cx.core import labels
from cx.demo.dataset import ATTRIBUTES
from cx.loop import cases, notify, replies
from cx.store.models import Case
from cx.voice import themes

LANGUAGES = ("es", "fr", "en", "ru")
FOREIGN = ("es", "fr", "ru")
ENGLISH_NAMES = sorted(
    {labels.attribute_name(a, "en") for a in ATTRIBUTES}
    | {labels.theme_name(t, "en") for t in themes.load_taxonomy().ids}
    | {a.replace("_", " ").capitalize() for a in ATTRIBUTES},  # the dashboards' labels
    key=len,
    reverse=True,
)


def english_in(text: str) -> list[str]:
    """The English attribute or theme names found in ``text`` (whole words, any case)."""
    return [n for n in ENGLISH_NAMES if re.search(rf"(?i)\b{re.escape(n)}\b", text)]


def case_with(language: str, scores: dict[str, int], theme_ids: list[str]) -> Case:
    return Case(
        id=7,
        response_id="r7",
        customer_id="C7",
        language=language,
        nps=3,
        wave="2026-Q3",
        scores=json.dumps({f"attr_{k}": v for k, v in scores.items()}),
        themes=json.dumps(theme_ids),
        agency="Lyon",
    )


def test_every_default_attribute_and_theme_has_a_name_in_the_four_languages() -> None:
    assert set(ATTRIBUTES) <= set(labels.attribute_ids())
    assert labels.name_languages() == sorted(LANGUAGES)
    for attribute in ATTRIBUTES:
        english = labels.attribute_name(attribute, "en")
        for lang in FOREIGN:
            name = labels.attribute_name(f"attr_{attribute}", lang)
            assert name and name != english, (attribute, lang, name)
    taxonomy = themes.load_taxonomy()
    assert labels.theme_ids() == taxonomy.ids
    for theme in taxonomy.themes:  # one spelling per theme: the taxonomy's labels and ours agree
        for lang in LANGUAGES:
            assert labels.theme_name(theme.id, lang) == theme.label(lang), (theme.id, lang)


def test_the_french_call_script_names_low_scores_and_themes_in_french() -> None:
    case = case_with("fr", {"staff_competence": 4, "waiting_time": 4, "price": 9}, ["waiting_time"])
    script = cases.call_script(case, agent="Luc")
    assert "Notes les plus basses: Compétence du personnel 4/10, Temps d'attente 4/10" in script
    assert "Thèmes: Temps d'attente" in script
    assert "« Compétence du personnel » 4/10" in script and "« Temps d'attente » 4/10" in script
    assert english_in(script) == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_call_script_names_every_attribute_and_theme_in_the_customer_language(
    lang: str,
) -> None:
    theme_ids = themes.load_taxonomy().ids
    for attribute in ATTRIBUTES:  # the script asks about the three lowest: one low score each
        script = cases.call_script(case_with(lang, {attribute: 2}, theme_ids), agent="Ana")
        name = labels.attribute_name(attribute, lang)
        assert f"{name} 2/10" in script, (attribute, lang)
        assert all(labels.theme_name(t, lang) in script for t in theme_ids)
        if lang != "en":
            assert english_in(script) == [], (attribute, lang, english_in(script))


@pytest.mark.parametrize("lang", FOREIGN)
def test_customer_e_mails_hold_no_english_name(lang: str) -> None:
    subject, body = notify.customer_ack(
        case_id=12, agency="Sevilla", customer_id="C12", name="Ana", language=lang
    )
    assert english_in(subject + body) == []
    assert "Ana" in body and "Sevilla" in subject
    for name, texts in replies.DEFAULT_TEMPLATES.items():
        subject, body = texts[lang]
        assert english_in(subject + body) == [], (name, lang)
