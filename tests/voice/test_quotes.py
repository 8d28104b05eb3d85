"""The report's quotes: each text once, each about the theme it illustrates (its main theme, named
outside another concept such as "waiting room"), on tiny literal frames."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from cx.core.filters import Filters
from cx.core.scope import Scope
from cx.voice import verbatims

F = Filters(wave="2026-Q1")


def frame(rows: list[dict[str, object]]) -> pl.LazyFrame:
    base = {"region": "Europe", "country": "GB", "agency": "London", "wave": "2026-Q1"}
    return pl.LazyFrame(
        [
            {
                **base,
                "language": "en",
                "weight": 1.0,
                "excluded": False,
                **r,
                "response_id": f"r{i:04d}",
                # the newest first: row 0 is the latest answer
                "responded_at": datetime(2026, 2, 1, 10, 59 - i, tzinfo=UTC),
            }
            for i, r in enumerate(rows)
        ]
    ).with_columns(pl.col("nps").cast(pl.Int64))


WAIT = "We waited an hour to be seen."
ROOM = "There was rubbish all over the waiting room."
ROOM_AND_WAIT = "Rubbish everywhere in the waiting room. And we waited an hour to be seen!"
MOSTLY_DIRT = "The toilets were filthy and disgusting. The queue was long."


def test_a_comment_is_quoted_once_even_when_many_customers_wrote_it() -> None:
    rows = [
        {"nps": 2, "comment": WAIT},
        {"nps": 3, "comment": "we waited an HOUR to be seen"},  # same words, other case/punctuation
        {"nps": 1, "comment": WAIT},
        {"nps": 0, "comment": "The queue took forever, nobody at the desks."},
        {"nps": 9, "comment": "Lovely staff."},
    ]
    found = verbatims.quotes(frame(rows), Scope.world(), F, "waiting_time", limit=4)
    assert found["comment"].to_list() == [WAIT, "The queue took forever, nobody at the desks."]
    plain = verbatims.verbatims(
        frame(rows), Scope.world(), F, theme="waiting_time", score_band="detractor"
    )
    assert plain.height == 4  # the explorer lists every answer; only the quotes are distinct


def test_a_comment_that_repeats_a_quoted_one_with_more_words_is_not_quoted_again() -> None:
    longer = WAIT + " Nobody apologised."
    rows = [
        {"nps": 2, "comment": WAIT},
        {"nps": 1, "comment": longer},
        {"nps": 0, "comment": "The queue took forever, nobody at the desks."},
        {"nps": 9, "comment": "Lovely staff."},
        {"nps": 10, "comment": "Great advice."},  # five answers: the cell is not suppressed
    ]
    found = verbatims.quotes(frame(rows), Scope.world(), F, "waiting_time", limit=4)
    assert found["comment"].to_list() == [WAIT, "The queue took forever, nobody at the desks."]


def test_the_waiting_room_is_not_a_wait() -> None:
    rows = [{"nps": 2, "comment": ROOM}, {"nps": 1, "comment": ROOM_AND_WAIT}] + [
        {"nps": 9, "comment": "Fine."}
    ] * 4
    found = verbatims.quotes(frame(rows), Scope.world(), F, "waiting_time")
    assert found["comment"].to_list() == [ROOM_AND_WAIT]  # the hour's wait, not the room
    room = verbatims.quotes(frame(rows), Scope.world(), F, "cleanliness")
    assert ROOM in room["comment"].to_list()


def test_a_comment_about_the_theme_alone_comes_before_one_about_more() -> None:
    both = "The queue took forever. The prices are far too high."
    rows = [{"nps": 1, "comment": both}, {"nps": 2, "comment": WAIT}] + [
        {"nps": 9, "comment": "Fine."}
    ] * 4
    found = verbatims.quotes(frame(rows), Scope.world(), F, "waiting_time")
    assert found["comment"].to_list()[0] == WAIT


def test_the_rule_reads_the_text_not_only_the_tags() -> None:
    # Whatever the tagger says, a comment whose only "waiting" is the waiting room does not name the wait.
    texts = pl.DataFrame(
        {
            "comment": [
                ROOM,
                "Había basura en la sala de espera.",
                ROOM_AND_WAIT,
                "La espera fue eterna.",
            ]
        }
    )
    assert texts.select(verbatims.names_theme("waiting_time"))["comment"].to_list() == [
        False,
        False,
        True,
        True,
    ]


def test_comments_mostly_about_the_theme_come_before_those_mostly_about_another() -> None:
    tagged = pl.DataFrame(
        {
            "theme_polarity": [-0.3, -0.9, -0.5],
            "theme_sentiment": [[-0.3, -0.9], [-0.3, -0.9], [-0.5, -0.5]],
        }
    )
    assert tagged.select(verbatims.is_main_theme())["theme_polarity"].to_list() == [
        False,
        True,
        True,
    ]
    # The newest comment is mostly about the toilets (its wait is the milder complaint).
    rows = [{"nps": 1, "comment": MOSTLY_DIRT}, {"nps": 2, "comment": WAIT}] + [
        {"nps": 9, "comment": "Fine."}
    ] * 4
    first = verbatims.quotes(frame(rows), Scope.world(), F, "waiting_time", limit=1)
    assert first["comment"].to_list() == [WAIT]
    both = verbatims.quotes(frame(rows), Scope.world(), F, "waiting_time", limit=4)
    assert both["comment"].to_list() == [WAIT, MOSTLY_DIRT]
    dirt = verbatims.quotes(frame(rows), Scope.world(), F, "cleanliness")
    assert dirt["comment"].to_list() == [MOSTLY_DIRT]
