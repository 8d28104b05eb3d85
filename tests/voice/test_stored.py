"""Themes and sentiment stored per wave: equal to tagging now, tagged again only where something
changed, never half-written, safe with two builders at once and on a folder that cannot be
written."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cx.core import data
from cx.core.privacy import mask_pii
from cx.voice import stored, themes

COMMENTS = {
    "2026-Q1": [
        ("r1", "El personal muy amable, pero la cola fue eterna", "es"),
        ("r2", "L'appli plante, écrivez-moi à jean.dupont@example.fr", "fr"),
        ("r3", "", "en"),
        ("r4", None, "en"),
    ],
    "2026-Q2": [
        ("r5", "Курьер опоздал на три дня", "ru"),
        ("r6", "Great value, cheaper than the others", "en"),
    ],
}


def write_wave(root: Path, wave: str, rows: list[tuple[str, str | None, str]]) -> Path:
    folder = root / "waves" / f"wave={wave}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "part-0.parquet"
    pl.DataFrame(
        {
            "response_id": [r[0] for r in rows],
            "wave": [wave] * len(rows),
            "comment": [r[1] for r in rows],
            "language": [r[2] for r in rows],
            "nps": [3] * len(rows),
        }
    ).write_parquet(path)
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for wave, rows in COMMENTS.items():
        write_wave(tmp_path, wave, rows)
    return tmp_path


def responses(root: Path) -> pl.LazyFrame:
    return data.scan_files(data.wave_files(root))


def tables(root: Path) -> list[Path]:
    return sorted((root / data.PRECOMPUTED_DIR / stored.TAGS_DIR).glob("*/*.parquet"))


def test_stored_tags_equal_tagging_the_masked_comments_now(folder: Path) -> None:
    got = stored.with_tags(responses(folder), folder).collect()
    assert got.height == 6 and got[stored.MARKER].all()
    now = themes.tag(
        responses(folder)
        .filter(pl.col("comment").str.strip_chars().str.len_chars() > 0)
        .with_columns(mask_pii(pl.col("comment")))
    ).collect()
    joined = got.join(now, on="response_id", suffix="_now")
    assert joined.height == 4  # the empty and the missing comment have no tags
    assert joined["themes"].to_list() == joined["themes_now"].to_list()
    assert_frame_equal(
        joined.select("sentiment", "theme_sentiment"),
        joined.select(
            pl.col("sentiment_now").alias("sentiment"),
            pl.col("theme_sentiment_now").alias("theme_sentiment"),
        ),
        abs_tol=1e-6,
    )
    assert got.filter(pl.col("response_id") == "r3")["themes"].to_list() == [None]
    # a frame carrying stored tags is not tagged again
    assert (
        stored.tagged(stored.with_tags(responses(folder), folder), "language")
        .collect()["themes"]
        .null_count()
        == 0
    )


def test_a_changed_wave_is_tagged_again_and_the_other_is_left_alone(folder: Path) -> None:
    stored.build(folder)
    before = {p.name.split("-")[0] + "-" + p.name.split("-")[1]: p for p in tables(folder)}
    q1 = next(p for k, p in before.items() if k.startswith("2026-Q1"))
    q2 = next(p for k, p in before.items() if k.startswith("2026-Q2"))
    q1_stamp = q1.stat().st_mtime_ns
    write_wave(folder, "2026-Q2", [*COMMENTS["2026-Q2"], ("r7", "Sucio y caro", "es")])
    counts = stored.build(folder)
    assert counts == {"2026-Q1": 2, "2026-Q2": 3}
    after = tables(folder)
    assert q1 in after and q1.stat().st_mtime_ns == q1_stamp  # not rewritten
    assert q2 not in after and len(after) == 2  # the old Q2 table is gone


def test_a_new_expression_or_model_tags_every_wave_again(
    folder: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    extra = tmp_path_factory.mktemp("engine") / "themes.yaml"
    extra.write_text("v1")
    files = stored._engine_files()
    monkeypatch.setattr(stored, "_engine_files", lambda: [*files, extra])
    stored.build(folder)
    first = {p.parent.name for p in tables(folder)}
    extra.write_text("v2: a new expression")
    stored.build(folder)
    second = {p.parent.name for p in tables(folder)}
    assert len(first) == len(second) == 1 and first != second  # the old engine's folder is gone
    assert len(tables(folder)) == 2


def test_a_folder_that_cannot_hold_the_tables_is_served_from_memory(folder: Path) -> None:
    (folder / data.PRECOMPUTED_DIR).write_text("a file where the folder should be")
    got = stored.with_tags(responses(folder), folder).collect()
    assert got.filter(pl.col("response_id") == "r5")["themes"].to_list() == [["delivery"]]


def _build(root: str) -> None:
    stored.build(Path(root))


def test_two_processes_building_at_once_leave_one_whole_table_per_wave(
    folder: Path, spawn_safe: None
) -> None:
    spawn = multiprocessing.get_context("spawn")
    builders = [spawn.Process(target=_build, args=(str(folder),)) for _ in range(2)]
    for b in builders:
        b.start()
    for b in builders:
        b.join(timeout=180)
    assert [b.exitcode for b in builders] == [0, 0]
    found = tables(folder)
    assert len(found) == 2
    assert not [p for p in found[0].parent.iterdir() if p.name.startswith(".")]  # no temp file
    assert sum(pl.read_parquet(p).height for p in found) == 4
    assert os.access(found[0], os.R_OK)
