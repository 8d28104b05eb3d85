"""Per-theme polarity, contrast, implicit complaints, weak and excluded expressions, in es/fr/en/ru."""

from __future__ import annotations

import polars as pl
import pytest

from cx.voice import themes


def tagged(texts: list[str], lang: str) -> list[dict[str, object]]:
    df = pl.DataFrame({"comment": texts, "language": [lang] * len(texts)})
    out = themes.tag(df)
    return [
        {
            "themes": row["themes"],
            "sentiment": row["sentiment"],
            "by": dict(zip(row["themes"], row["theme_sentiment"], strict=True)),
        }
        for row in out.iter_rows(named=True)
    ]


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("es", "El personal encantador, pero la cola fue eterna"),
        ("fr", "Conseillère adorable mais une attente interminable"),
        ("en", "Lovely staff, but the queue took ages"),
        ("ru", "Персонал приветливый, но очередь огромная"),
    ],
)
def test_each_theme_gets_the_polarity_of_its_own_clause(lang: str, text: str) -> None:
    (row,) = tagged([text], lang)
    by = row["by"]
    assert isinstance(by, dict)
    assert by["staff_attitude"] > 0 > by["waiting_time"]
    assert row["sentiment"] is not None and row["sentiment"] < 0  # what follows "but" weighs more


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("es", "Tuve que volver tres veces a la oficina"),
        ("es", "sigo sin tarjeta"),
        ("fr", "toujours pas de carte"),
        ("fr", "il a fallu rappeler plusieurs fois"),
        ("en", "I had to call three times"),
        ("en", "still not fixed"),
        ("ru", "до сих пор не решили"),
        ("ru", "пришлось приходить снова"),
    ],
)
def test_implicit_complaints_without_a_sentiment_word_read_negative(lang: str, text: str) -> None:
    (row,) = tagged([text], lang)
    assert row["sentiment"] is not None and row["sentiment"] < 0


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("es", "No tuve que esperar nada"),
        ("en", "I didn't have to wait at all"),
        ("fr", "Je n'ai pas eu à attendre"),
    ],
)
def test_a_negated_complaint_construction_is_not_a_complaint(lang: str, text: str) -> None:
    (row,) = tagged([text], lang)
    assert row["sentiment"] is not None and row["sentiment"] > 0


@pytest.mark.parametrize(
    ("lang", "text", "theme"),
    [
        ("es", "Había basura en el suelo de la sala de espera", "cleanliness"),
        ("fr", "Des déchets partout dans la salle d'attente", "cleanliness"),
        ("en", "There was rubbish all over the floor of the waiting room", "cleanliness"),
        ("ru", "В зале ожидания на полу валялся мусор", "cleanliness"),
    ],
)
def test_the_waiting_room_is_a_place_not_a_wait(lang: str, text: str, theme: str) -> None:
    (row,) = tagged([text], lang)
    assert row["themes"] == [theme]


@pytest.mark.parametrize(
    ("lang", "slow_app", "slow_branch"),
    [
        ("es", "La app es lentísima", "Todo muy lento hoy"),
        ("fr", "L'application est très lente", "Très lent, comme toujours"),
        ("en", "The app is really slow", "Really slow today"),
        ("ru", "Приложение очень медленное", "Всё очень медленно"),
    ],
)
def test_weak_words_count_only_where_no_other_theme_is_named(
    lang: str, slow_app: str, slow_branch: str
) -> None:
    app, branch = tagged([slow_app, slow_branch], lang)
    assert app["themes"] == ["digital"]
    assert branch["themes"] == ["waiting_time"]


def test_inflected_forms_missing_accents_and_abbreviations_are_tagged() -> None:
    rows = tagged(["esperamos una eternidad en la fila", "el tlf de atencion nunca contesta"], "es")
    assert "waiting_time" in rows[0]["themes"]  # type: ignore[operator]
    assert "phone_support" in rows[1]["themes"]  # type: ignore[operator]
    (ru,) = tagged(["Ждали очередей по полчаса"], "ru")
    assert "waiting_time" in ru["themes"]  # type: ignore[operator]


def test_per_theme_false_leaves_the_polarity_out_and_lists_stay_aligned() -> None:
    df = pl.DataFrame({"comment": ["Rude staff, dirty toilets"], "language": ["en"]})
    assert "theme_sentiment" not in themes.tag(df, per_theme=False).columns
    out = themes.tag(df)
    assert out["themes"].list.len().item() == out["theme_sentiment"].list.len().item() == 2
