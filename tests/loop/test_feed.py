"""The team chat feed: answers posted per agency mode (a real fake Bot API on loopback), staff
comments on negative ratings, and the "commented within 24 h" figure, hand-computed."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from cx import store
from cx.core import org
from cx.core.scope import Scope
from cx.core.users import User
from cx.loop import feed, notify
from cx.loop.notify import NotifySettings
from cx.store import AuditLog, Notification
from cx.store.models import RatingComment, SurveyAnswer
from cx.store.outbox import RecipientRefused
from tests.loop.test_notify import FakeTelegram
from tests.support.apptest import demo_user

T0 = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
MADRID = {"region": "Europe", "country": "ES", "agency": "Madrid"}
PARIS = {"region": "Europe", "country": "FR", "agency": "Paris"}
PARIS_ADVISOR = User(
    username="paris.advisor",
    name="Inès Moreau (Paris advisor)",
    email="paris.advisor@cx-demo.example",
    roles=("advisor",),
    scope=Scope.parse("agency:Paris"),
)


@pytest.fixture(autouse=True)
def no_configured_chat(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CX_TELEGRAM_CHAT_ID", "CX_TELEGRAM_SCOPE", "CX_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def organisation(root: Path) -> org.Org:
    return org.load(root)


def answer_row(rid: str, nps: int, where: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {"response_id": rid, "wave": "2026-10", "nps": nps, **where, **extra}


def land(engine: Engine, row: dict[str, Any], at: datetime) -> None:
    """An answer as the survey pages store it."""
    with store.session(engine) as s:
        s.add(
            SurveyAnswer(
                response_id=row["response_id"],
                survey_id="s1",
                wave=row["wave"],
                row=json.dumps(row),
                received_at=at,
                region=row["region"],
                country=row["country"],
                agency=row["agency"],
            )
        )


def outbox(engine: Engine) -> list[Notification]:
    with store.session(engine) as s:
        return list(s.exec(select(Notification).order_by(Notification.id)))  # type: ignore[arg-type]


# ---------------------------------------------------------------- settings


def test_managers_of_the_agency_set_its_feed_and_others_are_refused(
    engine: Engine, organisation: org.Org
) -> None:
    with store.session(engine) as s:
        feed.set_feed(
            s, demo_user("es.manager"), "Madrid", "all", "-1001", organisation=organisation
        )
    with store.session(engine) as s:
        row = feed.feed_mode(s, "Madrid")
        assert row is not None and (row.mode, row.chat_id, row.updated_by) == (
            "all",
            "-1001",
            "es.manager",
        )
        [audit] = s.exec(select(AuditLog).where(AuditLog.action == "feed.set")).all()
        assert (audit.entity_id, audit.agency, audit.country) == ("Madrid", "Madrid", "ES")
        assert feed.feed_mode(s, "Paris") is None
    refusals = [
        (demo_user("paris.manager"), "Madrid", "all", "", feed.FeedForbidden, "does not manage"),
        (demo_user("madrid.advisor"), "Madrid", "all", "", feed.FeedForbidden, "may not change"),
        (demo_user("madrid.manager"), "Madrid", "loud", "", feed.FeedError, "unknown feed mode"),
        (demo_user("madrid.manager"), "Madrid", "all", "x; y", feed.FeedError, "not a Telegram"),
        (demo_user("ceo"), "Atlantis", "all", "", feed.FeedError, "unknown agency"),
    ]
    for user, agency, mode, chat, error, words in refusals:
        with store.session(engine) as s, pytest.raises(error, match=words):
            feed.set_feed(s, user, agency, mode, chat, organisation=organisation)
    with store.session(engine) as s:
        row = feed.feed_mode(s, "Madrid")
        assert row is not None and row.mode == "all"  # nothing changed by the refusals
        table = feed.feeds(s, Scope.parse("country:ES"), organisation)
    assert table.filter(pl.col("agency") == "Madrid").row(0, named=True)["mode"] == "all"
    assert set(table["agency"]) == {"Madrid", "Barcelona", "Valencia", "Sevilla"}
    assert table.filter(pl.col("agency") == "Sevilla")["mode"].item() == feed.DEFAULT_MODE


# ---------------------------------------------------------------- posting


def test_each_mode_posts_what_it_says_once_with_the_low_scores_masked_comment_and_link(
    engine: Engine, organisation: org.Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CX_TELEGRAM_CHAT_ID", "-100")
    monkeypatch.setenv("CX_PUBLIC_URL", "https://cx.example.org/")
    with store.session(engine) as s:
        feed.set_feed(s, demo_user("ceo"), "Paris", "off", "", organisation=organisation)
        feed.set_feed(s, demo_user("ceo"), "Lyon", "all", "-3003", organisation=organisation)
    lyon = {"region": "Europe", "country": "FR", "agency": "Lyon"}
    detractor = answer_row(
        "r-neg",
        3,
        MADRID,
        attr_cleanliness=2,
        attr_waiting_time=4,
        attr_staff_attitude=5,
        comment="Dirty office, call me on 612 345 678 or ana@correo.es",
    )
    with store.session(engine) as s:
        posted = feed.post_answer(s, detractor, at=T0)  # Madrid: no setting, negatives → -100
        assert feed.post_answer(s, detractor, at=T0) is None  # once per answer
        assert feed.post_answer(s, answer_row("r-pro", 9, MADRID), at=T0) is None  # not negative
        assert feed.post_answer(s, answer_row("r-off", 1, PARIS), at=T0) is None  # Paris is off
        promoter = feed.post_answer(s, answer_row("r-lyon", 10, lyon), at=T0)  # Lyon: all
    assert posted is not None and promoter is not None
    [madrid, lyon_row] = outbox(engine)
    assert (madrid.channel, madrid.recipient, madrid.agency, madrid.dedupe_key) == (
        "telegram",
        "-100",
        "Madrid",
        "feed:r-neg",
    )
    assert madrid.subject == "Negative rating at Madrid: NPS 3"
    assert madrid.body.startswith("Answered 01 Oct 2026, 08:00 UTC.\n")
    assert "Low scores: Cleanliness 2/10, Waiting time 4/10" in madrid.body
    assert "Staff attitude" not in madrid.body  # 5 is not below 5
    assert "612 345 678" not in madrid.body and "ana@correo.es" not in madrid.body
    assert "Dirty office" in madrid.body
    assert (
        "Comment it on Case management: https://cx.example.org/case-dashboard?rating=r-neg"
        in madrid.body
    )
    assert (lyon_row.recipient, lyon_row.subject) == ("-3003", "New rating at Lyon: NPS 10")
    assert "Comment it" not in lyon_row.body


def test_no_chat_or_a_chat_scoped_elsewhere_posts_nothing(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with store.session(engine) as s:
        assert feed.post_answer(s, answer_row("r1", 0, MADRID), at=T0) is None  # no chat at all
    monkeypatch.setenv("CX_TELEGRAM_CHAT_ID", "-100")
    monkeypatch.setenv("CX_TELEGRAM_SCOPE", "country:FR")
    with store.session(engine) as s:
        assert feed.post_answer(s, answer_row("r1", 0, MADRID), at=T0) is None
        assert feed.post_answer(s, answer_row("r2", 0, PARIS), at=T0) is not None
    assert [n.agency for n in outbox(engine)] == ["Paris"]


@pytest.fixture
def telegram() -> Iterator[str]:
    FakeTelegram.posts, FakeTelegram.fail_next = [], 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeTelegram)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_negative_answer_goes_out_to_the_agency_chat_and_never_to_another_agency_chat(
    engine: Engine, organisation: org.Org, telegram: str
) -> None:
    with store.session(engine) as s:
        feed.set_feed(
            s, demo_user("ceo"), "Madrid", "negatives", "-1001", organisation=organisation
        )
        feed.set_feed(s, demo_user("ceo"), "Paris", "all", "-2002", organisation=organisation)
    with store.session(engine) as s:
        assert feed.post_answer(s, answer_row("r7", 2, MADRID, comment="Nadie me atendió"), at=T0)
        directory = feed.chat_scopes(s)
        assert directory == {
            "telegram:-1001": Scope.parse("agency:Madrid"),
            "telegram:-2002": Scope.parse("agency:Paris"),
        }
        with pytest.raises(RecipientRefused, match="may not receive data about agency Madrid"):
            store.enqueue(
                s,
                channel="telegram",
                recipient="-2002",
                subject="x",
                body="y",
                dedupe_key="leak",
                directory=directory,
                **MADRID,
            )
        settings = NotifySettings(
            telegram_token="123:abc", telegram_api=telegram, directory=directory
        )
    now = datetime.now(UTC) + timedelta(seconds=1)
    assert notify.deliver_pending(engine, settings, now=now)["sent"] == 1
    [(path, body)] = FakeTelegram.posts
    assert path == "/bot123:abc/sendMessage" and body["chat_id"] == "-1001"
    assert body["text"].startswith("Negative rating at Madrid: NPS 2")
    assert "Nadie me atendió" in body["text"]
    assert "http://localhost:8501/case-dashboard?rating=r7" in body["text"]


# ---------------------------------------------------------------- comments and the 24 h figure


def seed_negatives(engine: Engine) -> None:
    """Madrid: 5 negatives (3 commented within 24 h, 1 after 30 h, 1 never) and a promoter;
    Paris: 1 negative rated 2 h before ``T0 + 3 days``, not yet commented."""
    for i, nps in enumerate([0, 3, 6, 5, 2, 9], start=1):
        comment = "Me llamaron al 612 345 678" if i == 5 else f"comentario {i}"
        land(engine, answer_row(f"m{i}", nps, MADRID, comment=comment), T0)
    land(engine, answer_row("p1", 4, PARIS, comment="Attente"), T0 + timedelta(days=3, hours=-2))
    advisor, manager = demo_user("madrid.advisor"), demo_user("madrid.manager")
    for rid, user, after in [
        ("m1", advisor, timedelta(hours=2)),
        ("m1", manager, timedelta(hours=40)),  # a second comment: the first one counts
        ("m2", advisor, timedelta(hours=10)),
        ("m3", manager, timedelta(hours=23, minutes=59)),
        ("m4", advisor, timedelta(hours=30)),
    ]:
        with store.session(engine) as s:
            feed.comment_rating(s, user, rid, f"Llamado por {user.username}", now=T0 + after)


def test_negatives_commented_within_24_hours_per_agency(engine: Engine) -> None:
    seed_negatives(engine)
    now = T0 + timedelta(days=3)
    with store.session(engine) as s:
        world = feed.negatives_commented(s, Scope.world(), now=now)
        madrid_only = feed.negatives_commented(s, Scope.parse("agency:Madrid"), now=now)
        nothing = feed.negatives_commented(s, Scope(), now=now)
    assert world.to_dicts() == [
        {
            "country": "ES",
            "agency": "Madrid",
            "negatives": 5,
            "commented_in_time": 3,
            "commented_late": 1,
            "uncommented_overdue": 1,
            "pending": 0,
            "share": 60.0,
        },
        {
            "country": "FR",
            "agency": "Paris",
            "negatives": 1,
            "commented_in_time": 0,
            "commented_late": 0,
            "uncommented_overdue": 0,
            "pending": 1,  # still within its 24 h: not counted against Paris yet
            "share": None,
        },
    ]
    assert madrid_only["agency"].to_list() == ["Madrid"] and nothing.is_empty()
    assert feed.takeaway(world) == (
        "60 % of negative ratings commented within 24 h (3 of 5); 1 still uncommented past 24 h."
    )
    assert feed.takeaway(nothing).startswith("No negative rating in your scope")
    # A day later Paris's rating is overdue: 0 of 1 commented in time.
    with store.session(engine) as s:
        later = feed.negatives_commented(
            s, Scope.parse("agency:Paris"), now=now + timedelta(days=1)
        )
    assert later.select("uncommented_overdue", "pending", "share").row(0) == (1, 0, 0.0)


def test_uncommented_ratings_are_listed_oldest_first_masked_with_their_age(engine: Engine) -> None:
    seed_negatives(engine)
    now = T0 + timedelta(days=3)
    with store.session(engine) as s:
        listed = feed.uncommented(s, Scope.world(), now=now)
        madrid = feed.uncommented(s, Scope.parse("agency:Madrid"), now=now)
    assert listed.select("response_id", "agency", "nps", "hours", "overdue").rows() == [
        ("m5", "Madrid", 2, 72.0, True),
        ("p1", "Paris", 4, 2.0, False),
    ]
    assert listed["comment"][0] == "Me llamaron al [phone]"
    assert listed["rated_at"][0] == T0
    assert madrid["response_id"].to_list() == ["m5"]


def test_only_staff_of_the_agency_comment_a_rating_and_the_text_is_kept_as_given(
    engine: Engine,
) -> None:
    land(engine, answer_row("m1", 1, MADRID), T0)
    refused = [
        (PARIS_ADVISOR, "a comment", feed.FeedForbidden, "does not exist in your scope"),
        (demo_user("paris.manager"), "a comment", feed.FeedForbidden, "in your scope"),
        (demo_user("analyst"), "a comment", feed.FeedForbidden, "may not comment"),
        (demo_user("madrid.advisor"), "   ", feed.FeedError, "empty"),
        (demo_user("madrid.advisor"), "x" * 1001, feed.FeedError, "at most 1000"),
    ]
    for user, text, error, words in refused:
        with store.session(engine) as s, pytest.raises(error, match=words):
            feed.comment_rating(s, user, "m1", text)
    with store.session(engine) as s:
        assert s.exec(select(RatingComment)).all() == []
        with pytest.raises(feed.FeedForbidden):
            feed.comment_rating(s, demo_user("madrid.advisor"), "no-such-rating", "hello")
    text = "<script>alert(1)</script> called back, " + "y" * 961  # 1000 characters: the limit
    with store.session(engine) as s:
        feed.comment_rating(s, demo_user("madrid.teleop"), "m1", text, now=T0 + timedelta(hours=1))
    with store.session(engine) as s:
        [saved] = feed.rating_comments(s, Scope.parse("agency:Madrid"), "m1")
        assert (saved.text, saved.author, saved.nps, saved.rated_at) == (
            text,
            "madrid.teleop",
            1,
            T0,
        )
        assert saved.agency == "Madrid" and len(saved.text) == 1000
        assert feed.rating_comments(s, Scope.parse("agency:Paris"), "m1") == []
