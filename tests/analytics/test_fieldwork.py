"""Fieldwork monitoring: rates, pace against target and lagging agencies, hand-computed and scoped."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cx import charts
from cx.analytics import fieldwork
from cx.core import data
from cx.core.filters import Filters
from cx.core.scope import Scope

WAVE = "2026-Q1"  # 90 days: 1 January to 31 March


def _responses(
    agency: str, country: str, channel: str, n: int, last_day: date
) -> list[dict[str, object]]:
    rows = []
    for i in range(n):
        day = last_day if i == 0 else date(2026, 1, 10)
        rows.append(
            {
                "response_id": f"{agency}-{channel}-{i}",
                "wave": WAVE,
                "region": "Europe",
                "country": country,
                "agency": agency,
                "channel": channel,
                "nps": 8,
                "excluded": i == 1,
                "responded_at": datetime(day.year, day.month, day.day, 12),
            }
        )
    return rows


@pytest.fixture
def world(tmp_path: Path) -> tuple[pl.LazyFrame, str]:
    fw = pl.DataFrame(
        {
            "wave": [WAVE] * 4,
            "region": ["Europe"] * 4,
            "country": ["ES", "ES", "ES", "FR"],
            "agency": ["A", "A", "B", "C"],
            "channel": ["email", "sms", "email", "email"],
            "customers_served": [1500, 300, 1200, 600],
            "invitations": [1000, 200, 1000, 500],
            "delivered": [900, 200, 800, 500],
            "target_responses": [100, 20, 100, 50],
        }
    )
    fw.write_parquet(tmp_path / "fieldwork.parquet")
    rows = (
        _responses("A", "ES", "email", 90, date(2026, 2, 14))
        + _responses("A", "ES", "sms", 20, date(2026, 1, 10))
        + _responses("B", "ES", "email", 40, date(2026, 2, 14))
        + _responses("C", "FR", "email", 50, date(2026, 2, 14))
    )
    frame = (
        pl.DataFrame(rows).with_columns(pl.col("responded_at").dt.replace_time_zone("UTC")).lazy()
    )
    return frame, str(tmp_path)


def test_agency_rates_attainment_and_the_lagging_agency(world: tuple[pl.LazyFrame, str]) -> None:
    frame, root = world
    df = fieldwork.agency_progress(frame, Scope.world(), Filters(wave=WAVE), root=root)
    rows = {r["agency"]: r for r in df.iter_rows(named=True)}
    # A: 110 responses / 1100 delivered; B: 40 / 800; C: 50 / 500. Scope: 200 / 2400.
    assert rows["A"]["response_rate"] == pytest.approx(0.10)
    assert rows["B"]["response_rate"] == pytest.approx(0.05)
    assert rows["A"]["delivery_rate"] == pytest.approx(1100 / 1200)
    assert rows["A"]["attainment"] == pytest.approx(110 / 120)
    assert rows["B"]["expected"] == pytest.approx(0.5)  # 14 February = day 45 of 90
    # B's 5 % is under 0.75 x 8.33 % = 6.25 %: lagging, listed first.
    assert df["agency"].to_list()[0] == "B"
    assert [r["agency"] for r in df.iter_rows(named=True) if r["lagging"]] == ["B"]


def test_an_agency_behind_its_expected_pace_lags_even_with_a_normal_rate(
    world: tuple[pl.LazyFrame, str],
) -> None:
    frame, root = world
    # Only C in scope: its own rate is the scope rate, but 50 of a target of 50 is fine; shrink responses.
    few = frame.filter(
        ~(
            (pl.col("agency") == "C")
            & (pl.col("response_id").str.extract(r"(\d+)$").cast(pl.Int64) >= 15)
        )
    )
    df = fieldwork.agency_progress(few, Scope.parse("agency:C"), Filters(wave=WAVE), root=root)
    row = df.row(0, named=True)
    assert row["attainment"] == pytest.approx(15 / 50)  # 0.30 < 0.8 x 0.5 expected
    assert row["lagging"] is True


def test_channel_rates_and_the_channel_filter(world: tuple[pl.LazyFrame, str]) -> None:
    frame, root = world
    df = fieldwork.channel_rates(frame, Scope.world(), Filters(wave=WAVE), root=root)
    rows = {r["channel"]: r for r in df.iter_rows(named=True)}
    assert rows["email"]["response_rate"] == pytest.approx(180 / 2200)
    assert rows["email"]["delivery_rate"] == pytest.approx(2200 / 2500)
    assert rows["sms"]["response_rate"] == pytest.approx(0.10)
    only_sms = fieldwork.summary(
        frame, Scope.world(), Filters(wave=WAVE, channels=("sms",)), root=root
    )
    assert only_sms.select("responses", "delivered").row(0) == (20, 200)


def test_everything_is_computed_inside_the_scope(world: tuple[pl.LazyFrame, str]) -> None:
    frame, root = world
    es = fieldwork.agency_progress(frame, Scope.parse("country:ES"), Filters(wave=WAVE), root=root)
    assert sorted(es["agency"].to_list()) == ["A", "B"]
    assert es["scope_rate"][0] == pytest.approx(150 / 1900)
    summary = fieldwork.summary(frame, Scope.parse("country:FR"), Filters(wave=WAVE), root=root)
    assert summary.select("responses", "invitations", "lagging").row(0) == (50, 500, 0)
    nothing = fieldwork.summary(frame, Scope(), Filters(wave=WAVE), root=root)
    assert nothing["responses"][0] == 0


def test_daily_progress_spreads_the_target_evenly_and_stops_at_the_last_response(
    world: tuple[pl.LazyFrame, str],
) -> None:
    frame, root = world
    df = fieldwork.daily_progress(frame, Scope.world(), Filters(wave=WAVE), root=root)
    assert df.height == 90
    assert df["target_cumulative"][0] == pytest.approx(3.0) and df["target_cumulative"][
        -1
    ] == pytest.approx(270.0)
    by_day = {r["day"]: r for r in df.iter_rows(named=True)}
    assert by_day[date(2026, 1, 10)]["responses"] == 197
    assert by_day[date(2026, 2, 14)]["cumulative"] == 200
    assert by_day[date(2026, 2, 15)]["cumulative"] is None
    chart = charts.daily_progress_chart(df).to_dict()
    series = {v["series"] for v in chart["data"]["values"]}
    assert series == {"Responses", "Target (even pace)"}


def test_takeaway_sentence_names_rate_pace_and_laggards(world: tuple[pl.LazyFrame, str]) -> None:
    frame, root = world
    summary = fieldwork.summary(frame, Scope.world(), Filters(wave=WAVE), root=root)
    text = fieldwork.takeaway(summary, WAVE)
    assert text == (
        "Wave 2026-Q1: 200 responses from 2,400 delivered invitations (8.3 % response rate), "
        "74 % of the target with 50 % of the wave elapsed; B lags behind."
    )


def test_rate_chart_marks_lagging_agencies_in_the_alarm_colour(
    world: tuple[pl.LazyFrame, str],
) -> None:
    frame, root = world
    df = fieldwork.agency_progress(frame, Scope.world(), Filters(wave=WAVE), root=root)
    spec = charts.rate_chart(df, "agency", "Agency").to_dict()
    values = (
        {v["entity"]: v for v in spec["datasets"][next(iter(spec["datasets"]))]}
        if "datasets" in spec
        else {v["entity"]: v for v in spec["data"]["values"]}
    )
    assert values["B"]["status"] == "lagging" and values["B"]["pct"] == 5.0
    assert spec["layer"][0]["encoding"]["color"]["scale"]["range"][1] == "#d73027"


def test_missing_fieldwork_file_is_a_clear_error(
    tmp_path: Path, world: tuple[pl.LazyFrame, str]
) -> None:
    frame, _ = world
    with pytest.raises(
        fieldwork.FieldworkError, match="no fieldwork file; import one with cx import-fieldwork"
    ):
        fieldwork.summary(frame, Scope.world(), Filters(wave=WAVE), root=str(tmp_path / "empty"))


def test_the_demo_plants_leeds_as_the_only_lagging_agency(demo_root: Path) -> None:
    frame = data.scan_responses(demo_root)
    for wave in ("2025-Q1", "2026-Q3"):
        df = fieldwork.agency_progress(
            frame, Scope.world(), Filters(wave=wave), root=str(demo_root)
        )
        assert df.filter("lagging")["agency"].to_list() == ["Leeds"]


FUNNEL_FILTERS = [
    Filters(wave="2026-Q3"),
    Filters(wave="2026-Q2", channels=("email", "sms")),
    Filters(wave="2025-Q1", channels=("in_person",), segments=("Premium",)),  # segment: not here
]


@pytest.mark.parametrize("scope", ["world", "region:Latin America", "country:ES", "agency:Madrid"])
@pytest.mark.parametrize(
    "filters", FUNNEL_FILTERS, ids=lambda f: f"{f.wave}-{'-'.join(f.channels) or 'all'}"
)
def test_funnel_counts_and_rows_give_identical_fieldwork_answers(
    demo_root: Path, responses: pl.LazyFrame, scope: str, filters: Filters
) -> None:
    counts = fieldwork.funnel_counts(responses).lazy()
    root = str(demo_root)
    for fn in (
        fieldwork.summary,
        fieldwork.agency_progress,
        fieldwork.channel_rates,
        fieldwork.daily_progress,
    ):
        from_rows = fn(responses, Scope.parse(scope), filters, root=root)
        from_counts = fn(counts, Scope.parse(scope), filters, root=root)
        assert not from_rows.is_empty()
        assert_frame_equal(from_rows, from_counts)


def test_funnel_counts_keep_excluded_answers_and_the_latest_answer_of_each_day() -> None:
    rows = pl.LazyFrame(
        _responses("Madrid", "ES", "email", 3, date(2026, 2, 14))
        + _responses("Lyon", "FR", "sms", 2, date(2026, 1, 10))
    )
    counts = fieldwork.funnel_counts(rows).sort("agency", "responded_at")
    # Lyon: both answers on 10 January (one excluded) make one cell of 2;
    # Madrid: 14 February (1) and 10 January (2, one excluded)
    assert counts.select("agency", "responses").rows() == [
        ("Lyon", 2),
        ("Madrid", 2),
        ("Madrid", 1),
    ]
    assert counts["responded_at"].max() == datetime(2026, 2, 14, 12)
