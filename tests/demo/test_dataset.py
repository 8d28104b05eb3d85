"""The demo dataset: deterministic, the size and shape the README promises, and its stories findable."""

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cx.analytics import overview
from cx.core import data, metrics
from cx.core.filters import Filters
from cx.core.scope import Scope
from cx.demo.dataset import generate


def test_same_seed_gives_identical_data() -> None:
    a, b = generate(4_000, seed=7), generate(4_000, seed=7)
    for name in a:
        assert_frame_equal(a[name], b[name])
    assert not generate(4_000, seed=8)["responses"].equals(a["responses"])


def test_demo_has_the_promised_shape(demo_root: Path, responses: pl.LazyFrame) -> None:
    df = responses.collect()
    assert data.list_waves(demo_root) == [
        "2024-Q4",
        "2025-Q1",
        "2025-Q2",
        "2025-Q3",
        "2025-Q4",
        "2026-Q1",
        "2026-Q2",
        "2026-Q3",
    ]
    per_wave = df.group_by("wave").len()["len"]
    assert per_wave.min() >= 24_000 and per_wave.max() <= 26_000
    assert df["region"].n_unique() >= 3 and df["country"].n_unique() >= 6
    assert {"ES", "FR"} <= set(df["country"]) and {"Madrid", "Paris"} <= set(df["agency"])
    assert df.group_by("country").agg(pl.col("agency").n_unique())["agency"].min() >= 4
    assert 6 <= len(data.attributes(df.columns)) <= 10
    langs = (
        df.filter(pl.col("comment").is_not_null())
        .group_by("country")
        .agg(pl.col("language").first())
    )
    assert dict(langs.iter_rows()) == {
        "ES": "es",
        "MX": "es",
        "AR": "es",
        "FR": "fr",
        "GB": "en",
        "US": "en",
        "RU": "ru",
    }
    assert df["response_id"].n_unique() == df.height
    for column in ("segment", "weight", "advisor_id", "channel", "touchpoint", "csat", "city"):
        assert df[column].null_count() < df.height
    assert (demo_root / "crm" / "transactions.parquet").exists() and (
        demo_root / "fieldwork.parquet"
    ).exists()
    assert (demo_root / "org.yaml").exists()


def _attr_mean(df: pl.DataFrame, attr: str) -> float:
    return df.select(metrics.attribute_mean(attr)).item()


def test_story_madrid_cleanliness_falls_over_the_last_waves(responses: pl.LazyFrame) -> None:
    madrid = responses.filter((pl.col("agency") == "Madrid") & ~pl.col("excluded")).collect()
    by_wave = [
        _attr_mean(madrid.filter(pl.col("wave") == w), "attr_cleanliness")
        for w in ("2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3")
    ]
    assert by_wave == sorted(by_wave, reverse=True)
    assert by_wave[0] - by_wave[-1] > 1.5


def test_story_marseille_is_significantly_below_its_french_peers(responses: pl.LazyFrame) -> None:
    table = overview.breakdown(
        responses, Scope.parse("country:FR"), Filters(wave="2026-Q3"), "agency"
    )
    assert table["agency"][-1] == "Marseille"
    marseille, next_worst = table.row(-1, named=True), table.row(-2, named=True)
    assert (
        metrics.z_scalar(
            marseille["nps"], marseille["nps_moe"], next_worst["nps"], next_worst["nps_moe"]
        )
        > 1.96
    )


def test_story_app_login_complaints_spike_in_2026_q2(responses: pl.LazyFrame) -> None:
    share = (
        responses.filter(pl.col("comment").is_not_null())
        .group_by("wave")
        .agg(
            pl.col("comment")
            .str.contains("(?i)log ?in|connecter|login|войти|залогин")
            .mean()
            .alias("share")
        )
        .collect()
    )
    shares = dict(share.iter_rows())
    assert shares["2026-Q2"] > 2.5 * max(v for w, v in shares.items() if w != "2026-Q2")


def test_story_young_segment_diverges(responses: pl.LazyFrame) -> None:
    trend = overview.kpis(responses, Scope.world(), Filters(), ["segment", "wave"]).filter(
        pl.col("wave").is_in(["2024-Q4", "2026-Q3"])
    )
    young = dict(trend.filter(pl.col("segment") == "Young").select("wave", "nps").iter_rows())
    retail = dict(trend.filter(pl.col("segment") == "Retail").select("wave", "nps").iter_rows())
    assert young["2024-Q4"] - young["2026-Q3"] > 15
    assert abs(retail["2024-Q4"] - retail["2026-Q3"]) < 6


@pytest.mark.parametrize("rows", [1_000, 12_345])
def test_row_count_is_exact(rows: int) -> None:
    assert generate(rows, comments=False)["responses"].height == rows
