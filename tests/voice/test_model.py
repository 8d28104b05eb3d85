"""The learned model of themes and sentiment: rebuilt by its command, read safely, never trained on
the frozen evaluation set, and the lexicon engine still there without it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from cx.voice import model, themes, train
from cx.voice.evaluate import read_set

FROZEN = Path(__file__).parents[1] / "data" / "frozen" / "themes_unseen_v2.jsonl"
TEXTS = pl.DataFrame(
    {
        "comment": [
            "El personal muy amable, pero la cola fue eterna",
            "L'appli plante à chaque connexion",
            "Курьер опоздал на три дня",
            "Great value, cheaper than the others",
        ],
        "language": ["es", "fr", "ru", "en"],
    }
)


def test_the_shipped_model_is_what_the_training_command_builds(tmp_path: Path) -> None:
    out = tmp_path / "model.parquet"
    assert train.main(["--out", str(out)]) == 0
    assert pl.read_parquet(out).equals(pl.read_parquet(model.MODEL_FILE))
    rebuilt = json.loads(out.with_suffix(".json").read_text())
    assert rebuilt == json.loads(model.META_FILE.read_text())


def test_the_frozen_evaluation_set_is_never_trained_on() -> None:
    files = train.training_files([])
    assert FROZEN.resolve() not in {f.resolve() for f in files}

    def sentences(path: Path) -> set[str]:
        # two writers both write "ok" or "todo bien": only a comment of six words or more
        # found in both would be a leak
        texts = (t.strip().lower() for t in read_set(path)["text"].to_list())
        return {t for t in texts if len(t.split()) >= 6}

    frozen = sentences(FROZEN)
    for f in files:
        assert not sentences(f) & frozen, f


def test_learned_tags_name_themes_and_feelings_in_four_languages() -> None:
    out = themes.tag(TEXTS)
    assert out["themes"].to_list()[1:] == [["digital"], ["delivery"], ["price"]]
    assert set(out["themes"][0]) == {"staff_attitude", "waiting_time"}
    by_theme = dict(zip(out["themes"][0], out["theme_sentiment"][0], strict=True))
    assert by_theme["staff_attitude"] > 0 > by_theme["waiting_time"]
    assert [s > 0 for s in out["sentiment"].to_list()[1:]] == [False, False, True]


def test_without_a_model_file_the_expressions_and_lexicons_decide(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CX_VOICE_MODEL", str(tmp_path / "none.parquet"))
    assert model.load() is None
    assert themes.tag(TEXTS).equals(themes.tag(TEXTS, learned=False))


def test_an_analysts_expression_reaches_the_model_as_a_feature() -> None:
    found = themes.features(TEXTS.head(1))
    names = set(found["f"].to_list())
    assert {"L:waiting_time", "L:staff_attitude", "S"} <= names
    assert any(n.startswith("a:") for n in names)  # the words after "pero"


def test_a_model_file_missing_an_output_is_refused_with_its_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "broken.parquet"
    pl.read_parquet(model.MODEL_FILE).drop("s:pos").write_parquet(broken)
    broken.with_suffix(".json").write_text(model.META_FILE.read_text())
    monkeypatch.setenv("CX_VOICE_MODEL", str(broken))
    with pytest.raises(model.ModelError, match=r"broken\.parquet: missing columns s:pos"):
        model.load()


@pytest.mark.parametrize(
    ("meta", "why"),
    [
        ('{"themes": ["waiting_time"]}', r"broken\.json: missing or malformed entry 'theme_bias'"),
        ("{not json", r"broken\.json: not a readable model description"),
        ('{"themes": 3}', r"broken\.json: missing or malformed entry"),
    ],
)
def test_a_model_description_missing_an_entry_is_refused_with_its_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, meta: str, why: str
) -> None:
    broken = tmp_path / "broken.parquet"
    shutil.copy(model.MODEL_FILE, broken)
    broken.with_suffix(".json").write_text(meta)
    monkeypatch.setenv("CX_VOICE_MODEL", str(broken))
    with pytest.raises(model.ModelError, match=why):
        model.load()
