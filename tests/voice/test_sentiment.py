"""Sentiment: sign accuracy on the evaluation set, negation, intensifiers, per-theme sentiment."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from cx.voice import themes

DATA = Path(__file__).parents[1] / "data"


def sentiment_of(
    texts: list[str], lang: str | None = None, *, learned: bool = True
) -> list[float | None]:
    df = pl.DataFrame({"comment": texts})
    if lang:
        df = df.with_columns(language=pl.lit(lang))
    tagged = themes.tag(df, language="language" if lang else None, learned=learned)
    return tagged["sentiment"].to_list()


@pytest.mark.parametrize("lang", ["es", "fr", "en", "ru"])
def test_sign_accuracy_on_positive_and_negative_comments_is_at_least_085(lang: str) -> None:
    df = pl.read_csv(DATA / f"themes_eval_{lang}.csv", schema_overrides={"themes": pl.String})
    out = themes.tag(df.with_columns(language=pl.lit(lang)), text="text").filter(
        pl.col("polarity").is_in(["pos", "neg"])
    )
    correct = ((pl.col("polarity") == "pos") & (pl.col("sentiment") > 0)) | (
        (pl.col("polarity") == "neg") & (pl.col("sentiment") < 0)
    )
    accuracy = out.select(correct.mean()).item()
    assert out.height >= 40
    assert accuracy >= 0.85


@pytest.mark.parametrize(
    ("lang", "plain", "negated"),
    [
        ("es", "La oficina estaba limpia", "La oficina no estaba limpia"),
        ("fr", "L'agence est propre", "L'agence n'est pas propre"),
        ("en", "The branch was clean", "The branch was not clean"),
        ("ru", "В отделении чисто", "В отделении не чисто"),
    ],
)
def test_negation_flips_the_polarity(lang: str, plain: str, negated: str) -> None:
    pos, neg = sentiment_of([plain, negated], lang)
    assert pos is not None and neg is not None
    assert pos > 0 > neg


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("es", "Sin colas, me atendieron al momento"),
        ("en", "No queue at all"),
        ("fr", "Pas d'attente"),
        ("ru", "Обслужили без очереди"),
    ],
)
def test_a_negated_complaint_reads_as_positive(lang: str, text: str) -> None:
    (score,) = sentiment_of([text], lang)
    assert score is not None and score > 0


def test_negation_does_not_cross_and_or_punctuation() -> None:
    # "doesn't work" is negative and "rejects" stays negative: "and" ends the negation's scope
    (score,) = sentiment_of(["the app doesnt work and rejects my password"], "en")
    assert score is not None and score < -0.5


def test_lexicon_intensifier_strengthens_and_score_stays_in_minus_one_one() -> None:
    # the lexicon's own score (the learned model reads it as one of its features)
    plain, strong = sentiment_of(["Servicio lento", "Servicio muy lento"], "es", learned=False)
    assert plain is not None and strong is not None
    assert strong < plain < 0
    scores = sentiment_of(["excelente " * 40, "horrible " * 40, "ok"], "es", learned=False)
    assert scores[0] == pytest.approx(1.0) and scores[1] == pytest.approx(-1.0) and scores[2] == 0.0


def test_lexicon_score_is_tanh_of_half_the_weighted_count() -> None:
    # "bien" (+1) and "excelente" (+2): raw = 3, sentiment = tanh(1.5)
    import math

    (score,) = sentiment_of(["bien, excelente"], "es", learned=False)
    assert score == pytest.approx(math.tanh(1.5))


def test_per_theme_sentiment_reads_the_clause_of_each_theme() -> None:
    df = pl.DataFrame(
        {
            "comment": [
                "El personal fue muy amable, pero la espera fue eterna",
                "Staff were lovely but the queue was endless",
                "Персонал вежливый, но очередь огромная",
            ],
            "language": ["es", "en", "ru"],
        }
    )
    out = themes.tag(df, per_theme=True)
    for themes_row, per_theme in zip(
        out["themes"].to_list(), out["theme_sentiment"].to_list(), strict=True
    ):
        by_theme = dict(zip(themes_row, per_theme, strict=True))
        assert by_theme["staff_attitude"] > 0 > by_theme["waiting_time"]


def test_lexicon_with_an_unquoted_no_is_rejected_with_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "sentiment.yaml"
    path.write_text("es:\n  positive: {1: [bien]}\n  negators: [no, nunca]\n", encoding="utf-8")
    with pytest.raises(themes.ThemeError, match=r"negators must be a list of strings \(quote"):
        themes.load_lexicons(path)


def test_learned_sentiment_stays_in_minus_one_one_and_reads_intensity_and_unknown_text() -> None:
    plain, strong = sentiment_of(["Servicio lento", "Servicio muy lento, horrible"], "es")
    assert plain is not None and strong is not None
    assert strong < plain < 0
    scores = sentiment_of(["excelente " * 40, "horrible " * 40, "zzqx"], "es")
    assert 0.5 < scores[0] <= 1.0 and -1.0 <= scores[1] < -0.5  # type: ignore[operator]
    assert scores[2] == 0.0  # no word the model knows: nothing is known of the feeling
