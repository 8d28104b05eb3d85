"""Voice screen queries on tiny literal frames with hand-computed expectations: theme NPS impact,
significant changes of mention share, word frequencies, verbatims (scope, suppression, search,
masking, escaping) and theme discovery."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from cx.core.filters import Filters
from cx.core.scope import Scope
from cx.voice import discovery, verbatims

WAIT = "Esperé muchísimo en la cola"
OTHER = "El personal fue amable"


def frame(rows: list[dict[str, object]]) -> pl.LazyFrame:
    base = {
        "region": "Europe",
        "country": "ES",
        "agency": "Madrid",
        "wave": "2026-Q1",
        "language": "es",
        "weight": 1.0,
        "excluded": False,
    }
    full = [
        {
            **base,
            **r,
            "response_id": f"r{i:04d}",
            "responded_at": datetime(2026, 2, 1, 10, 0, i % 60, tzinfo=UTC),
        }
        for i, r in enumerate(rows)
    ]
    return pl.LazyFrame(full).with_columns(pl.col("nps").cast(pl.Int64))


def test_theme_summary_nps_with_without_and_impact_hand_computed() -> None:
    # 5 comments mention waiting (nps 2,3,4,9,6), 6 do not (10,10,9,8,7,5): n = 11.
    # All: 4 promoters, 5 detractors -> NPS -9.09. With: 1 P, 4 D of 5 -> -60. Without: 3 P, 1 D of 6 -> 33.33.
    rows = [{"nps": s, "comment": WAIT} for s in (2, 3, 4, 9, 6)] + [
        {"nps": s, "comment": OTHER} for s in (10, 10, 9, 8, 7, 5)
    ]
    df = verbatims.theme_summary(frame(rows), Scope.world(), Filters(wave="2026-Q1"))
    w = df.filter(pl.col("theme") == "waiting_time").row(0, named=True)
    assert (w["mentions"], w["n_comments"]) == (5, 11)
    assert w["share"] == pytest.approx(5 / 11)
    assert w["nps_with"] == pytest.approx(-60.0)
    assert w["nps_without"] == pytest.approx(100 * 2 / 6)
    assert w["nps_impact"] == pytest.approx(-100 / 11 - 100 * 2 / 6)
    assert w["detractor_share"] == pytest.approx(4 / 5)
    assert w["promoter_share"] == pytest.approx(1 / 4)
    assert w["low_base"] and not w["suppressed"]
    assert w["rank_impact"] is None  # low base: shown, never ranked
    staff = df.filter(pl.col("theme") == "staff_attitude").row(0, named=True)
    assert staff["mentions"] == 6 and not staff["suppressed"]
    assert df["theme"].to_list()[:2] == ["staff_attitude", "waiting_time"]  # by volume


def test_theme_with_fewer_than_5_mentions_has_no_score() -> None:
    rows = [{"nps": 3, "comment": WAIT}] * 4 + [{"nps": 9, "comment": OTHER}] * 10
    df = verbatims.theme_summary(frame(rows), Scope.world(), Filters(wave="2026-Q1"))
    w = df.filter(pl.col("theme") == "waiting_time").row(0, named=True)
    assert w["mentions"] == 4 and w["suppressed"]
    assert (w["nps_with"], w["nps_without"], w["nps_impact"], w["rank_volume"]) == (
        None,
        None,
        None,
        None,
    )


def test_theme_trend_marks_significant_change_by_two_proportion_z() -> None:
    # Q1: 20 of 100 mention waiting; Q2: 40 of 100 -> z = 0.2 / sqrt(0.3*0.7*0.02) = 3.086 (significant)
    # Q3: 45 of 100 -> z = 0.05 / sqrt(0.425*0.575*0.02) = 0.715 (not significant)
    rows = []
    for wave, k in (("2026-Q1", 20), ("2026-Q2", 40), ("2026-Q3", 45)):
        rows += [{"wave": wave, "nps": 5, "comment": WAIT}] * k + [
            {"wave": wave, "nps": 9, "comment": OTHER}
        ] * (100 - k)
    df = verbatims.theme_trend(frame(rows), Scope.world(), Filters(wave="2026-Q3")).filter(
        pl.col("theme") == "waiting_time"
    )
    assert df["wave"].to_list() == ["2026-Q1", "2026-Q2", "2026-Q3"]
    assert df["share"].to_list() == pytest.approx([0.2, 0.4, 0.45])
    assert df["z"].to_list()[1:] == pytest.approx([3.0861, 0.7155], abs=1e-3)
    assert df["significant"].to_list() == [False, True, False]


def test_word_frequencies_skip_stopwords_and_masked_pii_and_suppress_tiny_bases() -> None:
    rows = [{"nps": 5, "comment": "La cola, la cola y la espera. Escriban a ana@x.es"}] * 5
    df = verbatims.word_frequencies(frame(rows), Scope.world(), Filters(wave="2026-Q1"))
    assert df.row(0) == ("cola", 10)
    words = set(df["word"])
    assert "espera" in words and not words & {"la", "y", "email", "ana"}
    assert verbatims.word_frequencies(
        frame(rows[:4]), Scope.world(), Filters(wave="2026-Q1")
    ).is_empty()


def verbatim_frame() -> pl.LazyFrame:
    rows = (
        [{"nps": 3, "comment": "Cola eterna (a+ ... llamen al 612 345 678 <script>x</script>"}] * 3
        + [{"nps": 9, "comment": "Personal amable"}] * 3
        + [
            {
                "agency": "Paris",
                "country": "FR",
                "language": "fr",
                "nps": 2,
                "comment": "File d'attente énorme",
            }
        ]
        * 6
        + [{"agency": "Sevilla", "nps": 1, "comment": "Cola horrible en Sevilla"}]
        * 4  # cell of 4: never shown
    )
    return frame(rows)


def test_verbatims_follow_scope_and_never_show_cells_under_5() -> None:
    df = verbatims.verbatims(verbatim_frame(), Scope.parse("country:ES"), Filters(wave="2026-Q1"))
    assert set(df["agency"]) == {"Madrid"}
    assert df.height == 6 and df["matches"][0] == 6
    world = verbatims.verbatims(verbatim_frame(), Scope.world(), Filters(wave="2026-Q1"))
    assert set(world["agency"]) == {"Madrid", "Paris"}
    assert verbatims.verbatims(verbatim_frame(), Scope(), Filters(wave="2026-Q1")).is_empty()


def test_verbatim_search_is_literal_masked_escaped_and_highlighted() -> None:
    df = verbatims.verbatims(
        verbatim_frame(), Scope.world(), Filters(wave="2026-Q1"), search="(A+", theme="waiting_time"
    )
    assert df.height == 3
    row = df.row(0, named=True)
    assert "[phone]" in row["comment"] and "612" not in row["comment"]
    assert "<script>" not in row["comment_html"] and "&lt;script&gt;" in row["comment_html"]
    assert "<mark>Cola</mark>" in row["comment_html"] and "<mark>(a+</mark>" in row["comment_html"]
    # searching the masked digits finds nothing: search runs on the masked text
    assert verbatims.verbatims(
        verbatim_frame(), Scope.world(), Filters(wave="2026-Q1"), search="612"
    ).is_empty()


def test_verbatim_filters_sentiment_score_band_agency_and_all_waves() -> None:
    f = Filters(wave="2026-Q1")
    lf = verbatim_frame()
    assert set(verbatims.verbatims(lf, Scope.world(), f, score_band="promoter")["comment"]) == {
        "Personal amable"
    }
    assert set(verbatims.verbatims(lf, Scope.world(), f, sentiment="positive")["comment"]) == {
        "Personal amable"
    }
    assert set(verbatims.verbatims(lf, Scope.world(), f, agency="Paris")["agency"]) == {"Paris"}
    assert verbatims.verbatims(lf, Scope.world(), Filters(wave="2025-Q4")).is_empty()
    assert verbatims.verbatims(lf, Scope.world(), Filters(wave="2025-Q4"), wave="all").height == 12
    with pytest.raises(ValueError, match="unknown sentiment"):
        verbatims.verbatims(lf, Scope.world(), f, sentiment="angry")


def test_verbatim_options_list_only_agencies_in_scope() -> None:
    opts = verbatims.verbatim_options(
        verbatim_frame(), Scope.parse("country:ES"), Filters(wave="2026-Q1")
    )
    assert opts["agency"] == ["Madrid", "Sevilla"]
    assert "waiting_time" in opts["theme"] and opts["wave"][0] == "all"


def test_discovery_finds_recurring_topics_among_untagged_comments() -> None:
    rows = (
        [
            {"nps": 8, "comment": f"El parking del centro comercial {i} siempre lleno"}
            for i in range(12)
        ]
        + [
            {"nps": 4, "comment": f"La música del local muy alta, música insoportable {i}"}
            for i in range(12)
        ]
        + [{"nps": 2, "comment": WAIT}] * 5
    )
    df = discovery.candidate_themes(
        frame(rows), Scope.world(), Filters(wave="2026-Q1"), k=2, min_df=3
    )
    assert df.height == 2 and set(df["language"]) == {"es"}
    tops = [set(t) for t in df["top_terms"].to_list()]
    assert any({"parking", "lleno"} <= t for t in tops) and any("musica" in t for t in tops)
    assert sorted(df["size"].to_list()) == [12, 12]
    assert all(len(e) >= 1 for e in df["examples"].to_list())


def test_takeaways_name_the_biggest_and_costliest_theme() -> None:
    rows = [{"nps": s, "comment": WAIT} for s in [2] * 30 + [9] * 5] + [
        {"nps": 10, "comment": OTHER}
    ] * 40
    summary = verbatims.theme_summary(frame(rows), Scope.world(), Filters(wave="2026-Q1"))
    text = verbatims.themes_takeaway(summary)
    assert text.startswith(
        "Staff attitude is the most-mentioned theme (53 % of 75 comments); waiting time costs the most"
    )
    assert verbatims.verbatims_takeaway(pl.DataFrame()).startswith("No comment matches")


# ---------------------------------------------------------------- per-theme polarity and export

MIXED = "El personal muy amable, pero la cola fue eterna"  # staff +, waiting -
HAPPY_WAIT = "Sin colas, me atendieron enseguida"  # waiting +


def polarity_frame() -> pl.LazyFrame:
    rows = (
        [{"nps": 4, "comment": MIXED}] * 6
        + [{"nps": 9, "comment": HAPPY_WAIT}] * 4
        + [{"nps": 8, "comment": OTHER, "wave": "2025-Q4"}] * 5
        + [{"nps": 3, "comment": '=HYPERLINK("http://x") llamen al 612 345 678, la cola'}] * 5
        + [{"nps": 2, "comment": MIXED, "country": "FR", "agency": "Paris"}] * 5
        + [{"nps": 10, "comment": "Todo correcto, gracias"}] * 5
    )
    return frame(rows)


def test_summary_counts_each_mention_with_its_own_polarity() -> None:
    df = verbatims.theme_summary(
        polarity_frame(), Scope.parse("country:ES"), Filters(wave="2026-Q1")
    )
    wait = df.filter(pl.col("theme") == "waiting_time").row(0, named=True)
    staff = df.filter(pl.col("theme") == "staff_attitude").row(0, named=True)
    # waiting: 6 negative (MIXED) + 4 positive (HAPPY_WAIT) + 5 of the formula row (negative)
    assert wait["mentions"] == 15
    assert wait["positive_share"] == pytest.approx(4 / 15)
    assert wait["negative_share"] == pytest.approx(11 / 15)
    assert staff["positive_share"] == pytest.approx(1.0)  # the same MIXED comments


def test_polarity_trend_per_wave_hides_cells_under_5_mentions() -> None:
    df = verbatims.theme_polarity_trend(
        polarity_frame(), Scope.parse("country:ES"), Filters(wave="2026-Q1")
    )
    staff = df.filter(pl.col("theme") == "staff_attitude").sort("order")
    assert staff["wave"].to_list() == ["2025-Q4", "2026-Q1"]
    assert staff["positive_share"].to_list() == [pytest.approx(1.0), pytest.approx(1.0)]
    assert staff["net"].to_list()[1] == pytest.approx(1.0)
    small = frame([{"nps": 4, "comment": MIXED}] * 4)
    cell = verbatims.theme_polarity_trend(small, Scope.world(), Filters(wave="2026-Q1"))
    assert cell["suppressed"].all() and cell["net"].is_null().all()


def test_verbatims_filter_by_theme_and_what_was_said_about_it() -> None:
    lf, f = polarity_frame(), Filters(wave="2026-Q1")
    es = Scope.parse("country:ES")
    neg = verbatims.verbatims(lf, es, f, theme="waiting_time", polarity="negative")
    pos = verbatims.verbatims(lf, es, f, theme="waiting_time", polarity="positive")
    staff_pos = verbatims.verbatims(lf, es, f, theme="staff_attitude", polarity="positive")
    assert neg.height == 11 and (neg["theme_polarity"] < 0).all()
    assert set(pos["comment"]) == {HAPPY_WAIT}
    assert set(staff_pos["comment"]) == {MIXED}  # positive on staff although negative overall
    assert staff_pos["sentiment"].max() < 0
    with pytest.raises(ValueError, match="unknown theme polarity"):
        verbatims.verbatims(lf, es, f, theme="waiting_time", polarity="angry")


def test_export_is_scope_held_masked_and_neutralised_by_the_one_writer() -> None:
    from cx.core import export

    lf, f = polarity_frame(), Filters(wave="2026-Q1")
    rows = verbatims.verbatim_export(lf, Scope.parse("country:ES"), f, theme="waiting_time")
    assert rows.height == 15 and set(rows["agency"]) == {"Madrid"}  # Paris is out of scope
    assert "comment_html" not in rows.columns and rows.schema["themes"] == pl.String
    text = export.csv_bytes(rows).decode()
    assert "612" not in text and "[phone]" in text
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text
    assert export.xlsx_bytes(rows)[:2] == b"PK"
    assert verbatims.export_count(verbatims.verbatims(lf, Scope.parse("country:ES"), f)) == 20
    assert verbatim_export_empty()


def verbatim_export_empty() -> bool:
    return verbatims.verbatim_export(polarity_frame(), Scope(), Filters(wave="2026-Q1")).is_empty()


def test_highlighting_marks_inflected_forms_of_the_theme_words() -> None:
    rows = [{"nps": 3, "comment": "Esperamos muchísimo, esperé en la cola"}] * 5
    df = verbatims.verbatims(
        frame(rows), Scope.world(), Filters(wave="2026-Q1"), theme="waiting_time"
    )
    html = df["comment_html"][0]
    assert "<mark>Esperamos</mark>" in html and "<mark>esperé</mark>" in html
