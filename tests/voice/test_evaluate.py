"""``python -m cx.voice.evaluate FILE.jsonl``: the labelled-set format and hand-checked figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cx.voice import evaluate

LINES = [
    {
        "id": "1",
        "language": "en",
        "text": "The staff were rude",
        "themes": ["staff_attitude"],
        "polarity": "negative",
        "theme_polarity": {"staff_attitude": "negative"},
    },
    {
        "id": "2",
        "language": "en",
        "text": "Lovely clean branch",
        "themes": ["cleanliness", "billing"],
        "polarity": "positive",
        "theme_polarity": {"cleanliness": "positive"},
    },
    {
        "id": "3",
        "language": "es",
        "text": "Quería información",
        "themes": [],
        "polarity": "neutral",
        "theme_polarity": {},
    },
]


def write(tmp_path: Path, lines: list[object]) -> Path:
    path = tmp_path / "set.jsonl"
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n")
    return path


def test_figures_per_language_and_theme_hand_checked(tmp_path: Path) -> None:
    report = evaluate.evaluate(evaluate.read_set(write(tmp_path, LINES)))
    en = report["languages"]["en"]
    # gold: staff_attitude, cleanliness, billing; found: staff_attitude, cleanliness -> P 1, R 2/3
    assert en["themes_micro"] == {"precision": 1.0, "recall": 0.667, "f1": 0.8, "support": 3}
    assert en["per_theme"]["billing"]["recall"] == 0.0
    assert en["sentiment"]["sign_accuracy"] == 1.0 and en["sentiment"]["zero_share"] == 0.0
    assert en["sentiment"]["theme_polarity_accuracy"] == 1.0
    assert report["languages"]["es"]["sentiment"]["polar_comments"] == 0
    assert report["languages"]["all"]["comments"] == 3


def test_main_prints_one_json_object_and_rejects_a_malformed_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert evaluate.main([str(write(tmp_path, LINES))]) == 0
    assert set(json.loads(capsys.readouterr().out)["languages"]) == {"en", "es", "all"}
    bad = write(tmp_path, [{**LINES[0], "polarity": "pos"}])
    assert evaluate.main([str(bad)]) == 2
    assert "polarity 'pos'" in capsys.readouterr().err
