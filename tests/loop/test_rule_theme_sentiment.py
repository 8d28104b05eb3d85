"""``theme_sentiment('<theme id>')`` in the rule language: the polarity of one theme in the
comment, null (never matching) when the comment does not mention the theme."""

from __future__ import annotations

import polars as pl
import pytest

from cx.loop import rule_language
from cx.loop.rule_language import RuleError, parse_rule

COMMENTS = [
    "Staff were lovely but the queue took ages",  # staff +, waiting -
    "No queue at all, served straight away",  # waiting +
    "The app keeps crashing",  # no waiting theme
]


def matching(rule: str) -> list[int]:
    frame = pl.LazyFrame({"i": [0, 1, 2], "comment": COMMENTS, "language": ["en"] * 3})
    parsed = parse_rule(rule)
    rows = rule_language.with_themes(frame, parsed)
    cond = rule_language.rule_expr(parsed, rows.collect_schema().names())
    return rows.filter(cond).collect()["i"].to_list()


def test_negative_waiting_polarity_matches_only_the_comment_complaining_about_waiting() -> None:
    assert matching("theme_sentiment('waiting_time') < 0") == [0]
    assert matching("theme_sentiment('waiting_time') > 0") == [1]
    # the same comment is positive about the staff
    assert matching("theme_sentiment('staff_attitude') > 0 AND sentiment < 0") == [0]


def test_absent_theme_is_null_and_never_matches() -> None:
    assert matching("theme_sentiment('waiting_time') IS NULL") == [2]
    assert 2 not in matching("NOT theme_sentiment('waiting_time') >= 0")


def test_pre_tagged_frames_without_per_theme_polarity_are_tagged_again() -> None:
    frame = pl.LazyFrame(
        {"comment": COMMENTS, "themes": [[], [], []], "sentiment": [0.0, 0.0, 0.0]}
    )
    out = rule_language.with_themes(frame, parse_rule("theme_sentiment('digital') < 0"))
    assert "theme_sentiment" in out.collect_schema().names()


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("theme_sentiment('waitingtime') < 0", "unknown theme 'waitingtime'"),
        ("theme_sentiment(waiting_time) < 0", "takes one theme id in quotes"),
        ("theme_sentiment < 0", r"write theme_sentiment\('theme_id'\)"),
        ("theme_sentiment('price') = 'bad'", "cannot compare number with text"),
        ("upper('x') = 'X'", "function calls are not allowed"),
    ],
)
def test_bad_calls_are_rejected_with_a_reason(rule: str, message: str) -> None:
    with pytest.raises(RuleError, match=message):
        matching(rule)
