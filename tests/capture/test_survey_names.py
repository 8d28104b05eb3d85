"""The survey pages speak the respondent's language throughout: a French, Spanish or Russian page of
the default survey shows no English attribute name, and each attribute question names the attribute
as ``cx/config/locale/names.yaml`` does."""

from __future__ import annotations

import html
import re

import pytest

from cx.capture import surveys
from cx.core import labels
from cx.server.survey import question_html

DEFAULT = surveys.default_survey()
VALUES = {"agency": "Lyon", "first_name": "Ana"}
ENGLISH = sorted(
    {labels.attribute_name(a, "en") for a in labels.attribute_ids()}
    | {a.replace("_", " ").capitalize() for a in labels.attribute_ids()},
    key=len,
    reverse=True,
)


def page_of(lang: str) -> str:
    """Every question of every step of the default survey as the page renders it."""
    return html.unescape(
        "".join(question_html(q, lang, VALUES, None, False) for q in DEFAULT.questions())
    )


@pytest.mark.parametrize("lang", ["es", "fr", "ru"])
def test_the_survey_page_has_no_english_attribute_name(lang: str) -> None:
    page = page_of(lang)
    found = [n for n in ENGLISH if re.search(rf"(?i)\b{re.escape(n)}\b", page)]
    assert found == []
    for q in DEFAULT.questions():
        if q.kind != "attribute":
            continue
        legend = html.unescape(question_html(q, lang, VALUES, None, False)).lower()
        # the name's words, up to their inflected endings ("чистота" is "чистоту" in a question)
        stems = [w[:5] for w in labels.attribute_name(q.id, lang).lower().split() if len(w) > 3]
        assert stems and all(s in legend for s in stems), (q.id, lang, stems)


def test_the_english_page_is_all_english() -> None:
    assert "waiting time" in page_of("en").lower()
    assert "temps d'attente" not in page_of("en").lower()
