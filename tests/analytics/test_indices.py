"""Support and criticality indices on tiny literal frames, with hand-computed expectations.

Wilson 95 % score interval of a rate p = x / n (z = 1.96, z² = 3.8416):
centre = (p + z²/2n) / (1 + z²/n), half = z·sqrt(p(1 − p)/n + z²/4n²) / (1 + z²/n).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from cx.analytics import indices
from cx.analytics.indices import IndexConfig, IndicesError, ManualServed
from cx.core.filters import Filters
from cx.core.scope import Scope

GEO = {
    "Madrid": ("Europe", "ES"),
    "Sevilla": ("Europe", "ES"),
    "Valencia": ("Europe", "ES"),
    "Paris": ("Europe", "FR"),
}


def answers(agency: str, wave: str, scores: list[int], channel: str = "email", **extra: object):
    region, country = GEO[agency]
    return [
        {
            "wave": wave,
            "region": region,
            "country": country,
            "agency": agency,
            "channel": channel,
            "nps": s,
            "excluded": bool(extra.get("excluded", False)),
            "csat": extra.get("csat"),
        }
        for s in scores
    ]


def frame(*parts: list[dict[str, object]]) -> pl.LazyFrame:
    rows = [r for p in parts for r in p]
    return pl.LazyFrame(
        rows,
        schema={
            "wave": pl.String,
            "region": pl.String,
            "country": pl.String,
            "agency": pl.String,
            "channel": pl.String,
            "nps": pl.Int64,
            "excluded": pl.Boolean,
            "csat": pl.Int64,
        },
    )


def fieldwork(root: Path, rows: list[tuple[str, str, str, int]]) -> Path:
    """``fieldwork.parquet`` of (wave, agency, channel, customers_served) rows."""
    pl.DataFrame(
        {
            "wave": [r[0] for r in rows],
            "region": [GEO[r[1]][0] for r in rows],
            "country": [GEO[r[1]][1] for r in rows],
            "agency": [r[1] for r in rows],
            "channel": [r[2] for r in rows],
            "customers_served": [r[3] for r in rows],
            "invitations": [0 for _ in rows],
        }
    ).write_parquet(root / "fieldwork.parquet")
    return root


def manual(agency: str, month: str, served: int) -> ManualServed:
    region, country = GEO[agency]
    return ManualServed(region, country, agency, month, served)


def row(df: pl.DataFrame, agency: str) -> dict[str, object]:
    return df.filter(pl.col("agency") == agency).row(0, named=True)


# 40 answers in Madrid, 2026-Q1: 12 promoters, 20 passives, 8 detractors, and 3 excluded promoters.
MADRID = frame(
    answers("Madrid", "2026-Q1", [10] * 12 + [8] * 20 + [3] * 8),
    answers("Madrid", "2026-Q1", [10, 10, 9], excluded=True),
)


def test_support_and_criticality_are_counts_per_1000_served_with_wilson_intervals(
    tmp_path: Path,
) -> None:
    """Madrid served 1,000 customers (600 e-mail + 400 sms rows of the fieldwork file).

    Support: 12 / 1000 = 0.012 -> 12.0 per 1,000. z²/n = 0.0038416, so
    centre = (0.012 + 0.0019208) / 1.0038416 = 0.013868,
    half = 1.96 · sqrt(0.012 · 0.988 / 1000 + 3.8416 / 4e6) / 1.0038416 = 0.006990:
    [6.878, 20.857] per 1,000.
    Criticality: 8 / 1000 = 0.008 -> 8.0; centre = 0.0099208 / 1.0038416 = 0.009883,
    half = 1.96 · sqrt(0.008 · 0.992 / 1000 + 9.604e-7) / 1.0038416 = 0.005824: [4.059, 15.707].
    Response rate: 40 / 1000 = 0.04 (the 3 excluded answers are out of every count).
    """
    root = fieldwork(
        tmp_path, [("2026-Q1", "Madrid", "email", 600), ("2026-Q1", "Madrid", "sms", 400)]
    )
    df = indices.indices(MADRID, Scope.world(), Filters(wave="2026-Q1"), root=root)
    assert df.columns == ["agency", "wave", *indices.COLUMNS]
    r = row(df, "Madrid")
    assert (r["served"], r["responses"], r["positives"], r["negatives"]) == (1000, 40, 12, 8)
    assert r["support_index"] == pytest.approx(12.0)
    assert (r["support_low"], r["support_high"]) == (
        pytest.approx(6.8776, abs=1e-3),
        pytest.approx(20.8575, abs=1e-3),
    )
    assert r["criticality_index"] == pytest.approx(8.0)
    assert (r["criticality_low"], r["criticality_high"]) == (
        pytest.approx(4.0591, abs=1e-3),
        pytest.approx(15.7065, abs=1e-3),
    )
    assert r["response_rate"] == pytest.approx(0.04)
    assert r["served_source"] == "fieldwork"
    assert r["suppressed"] is False and r["low_count"] is False and r["note"] is None
    assert (r["support_rank"], r["criticality_rank"]) == (1, 1)


def test_the_scalar_twin_gives_the_same_interval() -> None:
    lo, hi = indices.wilson_scalar(12, 1000)
    assert (1000 * lo, 1000 * hi) == (
        pytest.approx(6.8776, abs=1e-3),
        pytest.approx(20.8575, abs=1e-3),
    )
    # no positive at all: the interval starts at 0 and still has a width (unlike Wald's)
    lo, hi = indices.wilson_scalar(0, 200)
    assert lo == 0.0 and 1000 * hi == pytest.approx(18.846, abs=1e-3)


def test_the_configured_channels_restrict_both_the_answers_and_the_served_count(
    tmp_path: Path,
) -> None:
    """Only QR answers: 6 positives and 2 negatives of 10 answers, out of 400 served by QR.

    Support 6 / 400 = 0.015 -> 15.0, Wilson [6.892, 32.335]; criticality 2 / 400 = 0.005 ->
    5.0, Wilson [1.372, 18.045]; response rate 10 / 400 = 0.025.
    """
    lf = frame(
        answers("Madrid", "2026-Q1", [10] * 6 + [7, 7] + [1, 2], channel="qr"),
        answers("Madrid", "2026-Q1", [0] * 30, channel="email"),
    )
    root = fieldwork(
        tmp_path, [("2026-Q1", "Madrid", "qr", 400), ("2026-Q1", "Madrid", "email", 5000)]
    )
    cfg = IndexConfig(channels=("qr",))
    r = row(
        indices.indices(lf, Scope.world(), Filters(wave="2026-Q1"), root=root, config=cfg), "Madrid"
    )
    assert (r["served"], r["responses"], r["positives"], r["negatives"]) == (400, 10, 6, 2)
    assert r["support_index"] == pytest.approx(15.0)
    assert r["support_low"] == pytest.approx(6.8922, abs=1e-3)
    assert r["support_high"] == pytest.approx(32.3351, abs=1e-3)
    assert r["criticality_low"] == pytest.approx(1.3722, abs=1e-3)
    assert r["criticality_high"] == pytest.approx(18.0453, abs=1e-3)
    assert r["response_rate"] == pytest.approx(0.025)
    assert r["low_count"] is True  # 10 answers < 30: shown, marked, never ranked
    assert r["support_rank"] is None and "low count, not ranked" in r["note"]


def test_positives_and_negatives_may_come_from_another_rating(tmp_path: Path) -> None:
    lf = frame(
        answers("Madrid", "2026-Q1", [5] * 30, csat=5),
        answers("Madrid", "2026-Q1", [5] * 10, csat=1),
    )
    root = fieldwork(tmp_path, [("2026-Q1", "Madrid", "email", 2000)])
    cfg = IndexConfig(indices.Band("csat", 4, 5), indices.Band("csat", 1, 2))
    r = row(
        indices.indices(lf, Scope.world(), Filters(wave="2026-Q1"), root=root, config=cfg), "Madrid"
    )
    assert (r["positives"], r["negatives"]) == (30, 10)
    assert (r["support_index"], r["criticality_index"]) == (pytest.approx(15.0), pytest.approx(5.0))


def test_fewer_than_5_answers_show_only_the_counts(tmp_path: Path) -> None:
    lf = frame(answers("Sevilla", "2026-Q1", [10, 10, 2, 3]), MADRID.collect().to_dicts())
    root = fieldwork(
        tmp_path, [("2026-Q1", "Sevilla", "email", 900), ("2026-Q1", "Madrid", "email", 1000)]
    )
    df = indices.indices(lf, Scope.world(), Filters(wave="2026-Q1"), root=root)
    r = row(df, "Sevilla")
    assert (r["served"], r["responses"], r["suppressed"]) == (900, 4, True)
    hidden = ["positives", "negatives", "support_index", "support_low", "support_high"]
    hidden += ["criticality_index", "criticality_low", "criticality_high", "support_rank"]
    assert [r[c] for c in hidden] == [None] * len(hidden)
    assert r["note"].startswith("fewer than 5 answers: counts only")
    assert r["response_rate"] == pytest.approx(4 / 900)  # a ratio of two counts that are shown
    assert df["agency"].to_list() == ["Madrid", "Sevilla"]  # ranked first, unranked last


def test_a_channel_filter_hides_a_cell_whose_complement_would_be_revealed(tmp_path: Path) -> None:
    """40 Madrid answers, 37 by e-mail and 3 by SMS: filtering e-mail leaves a complement of 3."""
    lf = frame(
        answers("Madrid", "2026-Q1", [10] * 12 + [8] * 17 + [3] * 8),
        answers("Madrid", "2026-Q1", [10, 10, 10], channel="sms"),
    )
    root = fieldwork(
        tmp_path, [("2026-Q1", "Madrid", "email", 1000), ("2026-Q1", "Madrid", "sms", 90)]
    )
    f = Filters(wave="2026-Q1", channels=("email",))
    r = row(indices.indices(lf, Scope.world(), f, root=root), "Madrid")
    assert (r["responses"], r["suppressed"], r["support_index"]) == (37, True, None)


def test_a_spanish_manager_never_sees_french_agencies_nor_their_counts(tmp_path: Path) -> None:
    lf = frame(MADRID.collect().to_dicts(), answers("Paris", "2026-Q1", [0] * 50))
    root = fieldwork(
        tmp_path, [("2026-Q1", "Madrid", "email", 1000), ("2026-Q1", "Paris", "email", 800)]
    )
    # even a manual count of Paris handed in by mistake stays out: it goes through restrict too
    by_hand = (manual("Paris", "2026-01", 999), manual("Valencia", "2026-02", 700))
    es = Scope.parse("country:ES")
    df = indices.indices(lf, es, Filters(wave="2026-Q1"), root=root, manual=by_hand)
    assert df["agency"].to_list() == ["Madrid", "Valencia"]
    total = indices.indices(
        lf, es, Filters(wave="2026-Q1"), root=root, manual=by_hand, by=("wave",)
    )
    assert total.row(0, named=True)["responses"] == 40  # Paris' 50 answers are nowhere
    assert indices.indices(lf, Scope(), Filters(wave="2026-Q1"), root=root).is_empty()


def test_the_till_count_wins_then_the_manual_months_of_the_wave(tmp_path: Path) -> None:
    """Madrid: till 1,000 (its manual 5,000 is ignored). Sevilla: no till row; January 300 +
    February 300 + March 400 = 1,000 (April is in another wave). Valencia: a till count of 0,
    so its manual 2026-02 (600) counts, and the wave's two other months are said to be missing."""
    lf = frame(
        MADRID.collect().to_dicts(),
        answers("Sevilla", "2026-Q1", [10] * 12 + [8] * 20 + [3] * 8),
        answers("Valencia", "2026-Q1", [10] * 6 + [8] * 30),
    )
    root = fieldwork(
        tmp_path, [("2026-Q1", "Madrid", "email", 1000), ("2026-Q1", "Valencia", "email", 0)]
    )
    by_hand = (
        manual("Madrid", "2026-02", 5000),
        manual("Sevilla", "2026-01", 300),
        manual("Sevilla", "2026-02", 300),
        manual("Sevilla", "2026-03", 400),
        manual("Sevilla", "2026-04", 9999),
        manual("Valencia", "2026-02", 600),
    )
    df = indices.indices(lf, Scope.world(), Filters(wave="2026-Q1"), root=root, manual=by_hand)
    madrid, sevilla, valencia = (row(df, a) for a in ("Madrid", "Sevilla", "Valencia"))
    assert (madrid["served"], madrid["served_source"]) == (1000, "fieldwork")
    assert (sevilla["served"], sevilla["served_source"], sevilla["note"]) == (1000, "manual", None)
    assert sevilla["support_index"] == pytest.approx(12.0)  # same answers as Madrid, same served
    assert sevilla["support_low"] == pytest.approx(madrid["support_low"])
    assert (valencia["served"], valencia["served_source"]) == (600, "manual")
    assert valencia["support_index"] == pytest.approx(10.0)
    assert "manual count lacks 2 month(s) of the wave" in valencia["note"]
    # the same answers, one wave split by month: each month gets only its own entry
    monthly = indices.indices(
        lf.with_columns(wave=pl.lit("2026-02")),
        Scope.world(),
        Filters(wave="2026-02"),
        root=root,
        manual=by_hand,
    )
    assert row(monthly, "Sevilla")["served"] == 300


def test_a_weekly_wave_gets_no_manual_count(tmp_path: Path) -> None:
    lf = frame(answers("Sevilla", "2026-W05", [10] * 40))
    by_hand = (manual("Sevilla", "2026-01", 3000), manual("Sevilla", "2026-02", 3000))
    r = row(
        indices.indices(lf, Scope.world(), Filters(wave="2026-W05"), root=tmp_path, manual=by_hand),
        "Sevilla",
    )
    assert (r["served"], r["support_index"], r["note"]) == (None, None, "no customers-served count")


def test_no_served_count_or_fewer_served_than_answers_give_no_index(tmp_path: Path) -> None:
    lf = frame(MADRID.collect().to_dicts(), answers("Sevilla", "2026-Q1", [10] * 40))
    root = fieldwork(tmp_path, [("2026-Q1", "Sevilla", "email", 30)])
    df = indices.indices(lf, Scope.world(), Filters(wave="2026-Q1"), root=root)
    madrid, sevilla = row(df, "Madrid"), row(df, "Sevilla")
    assert (madrid["served"], madrid["support_index"], madrid["response_rate"]) == (
        None,
        None,
        None,
    )
    assert madrid["note"] == "no customers-served count"
    assert (sevilla["served"], sevilla["support_index"]) == (30, None)
    assert "fewer customers served than answers" in sevilla["note"]
    assert sevilla["low_count"] is True  # 30 served < 100


def test_a_wider_cell_has_a_served_count_only_when_every_agency_in_it_has_one(
    tmp_path: Path,
) -> None:
    lf = frame(MADRID.collect().to_dicts(), answers("Sevilla", "2026-Q1", [10] * 40))
    root = fieldwork(tmp_path, [("2026-Q1", "Madrid", "email", 1000)])
    spain = indices.indices(lf, Scope.world(), Filters(wave="2026-Q1"), root=root, by=("country",))
    assert spain.row(0, named=True)["served"] is None and spain["support_index"][0] is None
    root = fieldwork(
        tmp_path, [("2026-Q1", "Madrid", "email", 1000), ("2026-Q1", "Sevilla", "sms", 1000)]
    )
    spain = indices.indices(lf, Scope.world(), Filters(wave="2026-Q1"), root=root, by=("country",))
    r = spain.row(0, named=True)
    assert (r["served"], r["positives"], r["support_index"]) == (2000, 52, pytest.approx(26.0))


def test_ranks_are_per_wave_best_first_and_skip_low_counts(tmp_path: Path) -> None:
    """Q1: Madrid 12 / 1000, Sevilla 30 / 1000 positives; Valencia served 80 (< 100): low count.
    Q2: only Madrid, ranked 1 in its own wave."""
    lf = frame(
        MADRID.collect().to_dicts(),
        answers("Sevilla", "2026-Q1", [10] * 30 + [1] * 2),
        answers("Valencia", "2026-Q1", [10] * 40),
        answers("Madrid", "2026-Q2", [10] * 40),
    )
    root = fieldwork(
        tmp_path,
        [
            ("2026-Q1", "Madrid", "email", 1000),
            ("2026-Q1", "Sevilla", "email", 1000),
            ("2026-Q1", "Valencia", "email", 80),
            ("2026-Q2", "Madrid", "email", 1000),
        ],
    )
    df = indices.indices(lf, Scope.world(), Filters(), root=root)
    got = df.select("wave", "agency", "support_rank", "criticality_rank", "low_count").rows()
    assert got == [
        ("2026-Q1", "Sevilla", 1, 1, False),  # 2 negatives per 1,000 against Madrid's 8
        ("2026-Q1", "Madrid", 2, 2, False),
        ("2026-Q1", "Valencia", None, None, True),
        ("2026-Q2", "Madrid", 1, 1, False),
    ]


def test_unknown_groupings_and_bad_configurations_are_refused(tmp_path: Path) -> None:
    with pytest.raises(IndicesError, match="unknown --by column 'segment'"):
        indices.indices(MADRID, Scope.world(), Filters(), root=tmp_path, by=("segment",))
    bad = tmp_path / "bad.yaml"
    for text, message in (
        (
            "positives: {column: nps, min: 9, max: 10}\nnegatives: {column: nps, min: 0, max: 9}",
            "overlap",
        ),
        (
            "positives: {column: comment, min: 1, max: 2}\nnegatives: {column: nps, min: 0, max: 6}",
            "not a rating",
        ),
        (
            "positives: {column: nps, min: 10, max: 9}\nnegatives: {column: nps, min: 0, max: 6}",
            "above max",
        ),
        (
            "positives: {column: nps, min: 9, max: 10}\nnegatives: {column: nps, min: 0, max: 6}\nchannels: [pigeon]",
            "channels must be",
        ),
    ):
        bad.write_text(text, encoding="utf-8")
        with pytest.raises(IndicesError, match=message):
            indices.load_config(bad)
    assert indices.load_config() == IndexConfig()  # the packaged file says the defaults
    no_channel = MADRID.drop("channel")
    with pytest.raises(IndicesError, match="no channel column"):
        indices.indices(
            no_channel,
            Scope.world(),
            Filters(),
            root=tmp_path,
            config=IndexConfig(channels=("qr",)),
        )


def test_the_takeaway_names_the_most_critical_agency(tmp_path: Path) -> None:
    lf = frame(
        MADRID.collect().to_dicts(),
        answers("Sevilla", "2026-Q1", [10] * 30 + [1] * 30),
    )
    root = fieldwork(
        tmp_path, [("2026-Q1", "Madrid", "email", 1000), ("2026-Q1", "Sevilla", "email", 1000)]
    )
    f = Filters(wave="2026-Q1")
    df = indices.indices(lf, Scope.world(), f, root=root)
    total = indices.indices(lf, Scope.world(), f, root=root, by=("wave",))
    text = indices.takeaway(df, total)
    assert text.startswith("Sevilla has the highest criticality index of 2026-Q1: 30.0 negative")
    assert "against 19.0 for the whole scope" in text  # (8 + 30) / 2000
