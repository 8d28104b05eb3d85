"""The live funnel: hand-counted from a handful of invitations, events and answers; scoped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest
from sqlalchemy import Engine

from cx import store
from cx.capture import funnel
from cx.charts.fieldwork import funnel_chart
from cx.core.filters import Filters
from cx.core.scope import Scope
from cx.store.models import Invitation, Notification, SurveyAnswer, SurveyEvent

Q4 = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
Q3 = datetime(2026, 9, 10, 9, 0, tzinfo=UTC)
MADRID = {"region": "Europe", "country": "ES", "agency": "Madrid"}
PARIS = {"region": "Europe", "country": "FR", "agency": "Paris"}
ROW = ("wave", "agency", "channel", "kind", "invited", "sent", "opened", "started", "completed")


def _inv(
    n: int, geo: dict[str, str], *, channel: str = "email", at: datetime = Q4, steps: int = 0
) -> Invitation:
    times = {
        f"{s}_at": at + timedelta(hours=i + 1)
        for i, s in enumerate(("opened", "started", "completed")[:steps])
    }
    return Invitation(
        id=n,
        token_hash=f"h{n}",
        survey_id="experience",
        customer_id=f"C{n}",
        channel=channel,
        created_at=at,
        expires_at=at + timedelta(days=14),
        **times,
        **geo,
    )


def _mail(n: int, status: str, geo: dict[str, str]) -> Notification:
    return Notification(recipient=f"c{n}@x.es", dedupe_key=f"invitation:{n}", status=status, **geo)


def _event(event: str, channel: str, geo: dict[str, str], **kw: Any) -> SurveyEvent:
    return SurveyEvent(at=Q4, survey_id="experience", channel=channel, event=event, **geo, **kw)


def _answer(
    n: int, channel: str, geo: dict[str, str], invitation_id: int | None = None
) -> SurveyAnswer:
    return SurveyAnswer(
        response_id=f"R{n}",
        survey_id="experience",
        wave="2026-Q4",
        channel=channel,
        invitation_id=invitation_id,
        received_at=Q4 + timedelta(hours=5),
        **geo,
    )


@pytest.fixture
def filled(engine: Engine) -> Engine:
    with store.session(engine) as s:
        s.add_all(
            [
                _inv(1, MADRID, steps=3),
                _inv(2, MADRID, steps=1),
                _inv(3, MADRID),
                _inv(4, PARIS, steps=2),
                _inv(5, MADRID, channel="sms", at=Q3),
                _mail(1, "sent", MADRID),
                _mail(2, "sent", MADRID),
                _mail(3, "pending", MADRID),
                _mail(4, "sent", PARIS),
                *[_event("opened", "qr", MADRID) for _ in range(3)],
                *[_event("started", "qr", MADRID) for _ in range(2)],
                _event("completed", "qr", MADRID),
                _event(
                    "opened", "email", MADRID, invitation_id=1
                ),  # an invitation's: not counted twice
                _event("opened", "in_person", PARIS),
                _event("started", "in_person", PARIS),
                _answer(1, "qr", MADRID),
                _answer(2, "in_person", PARIS),
                _answer(3, "email", MADRID, invitation_id=1),  # counted by its invitation
            ]
        )
    return engine


def _rows(df: pl.DataFrame) -> list[tuple[Any, ...]]:
    return [tuple(r[k] for k in ROW) for r in df.iter_rows(named=True)]


def test_the_funnel_per_wave_agency_and_channel(filled: Engine) -> None:
    with store.session(filled) as s:
        df = funnel.funnel(s, Scope.world(), Filters())
    assert _rows(df) == [
        ("2026-Q3", "Madrid", "sms", "personal", 1, 0, 0, 0, 0),
        ("2026-Q4", "Madrid", "email", "personal", 3, 2, 2, 1, 1),
        ("2026-Q4", "Madrid", "qr", "open", None, None, 3, 2, 1),
        ("2026-Q4", "Paris", "email", "personal", 1, 1, 1, 1, 0),
        ("2026-Q4", "Paris", "in_person", "open", None, None, 1, 1, 1),
    ]
    madrid = df.filter(pl.col("agency") == "Madrid", pl.col("channel") == "email").row(
        0, named=True
    )
    assert madrid["open_rate"] == pytest.approx(2 / 3)
    assert madrid["completion_rate"] == pytest.approx(1 / 2)
    assert madrid["response_rate"] == pytest.approx(1 / 3)
    qr = df.filter(pl.col("channel") == "qr").row(0, named=True)
    assert qr["open_rate"] is None and qr["completion_rate"] == pytest.approx(1 / 3)


def test_a_country_user_sees_only_their_country(filled: Engine) -> None:
    with store.session(filled) as s:
        df = funnel.funnel(s, Scope.parse("country:FR"), Filters())
        assert funnel.has_activity(s, Scope.parse("country:FR"))
        assert not funnel.has_activity(s, Scope.parse("agency:Sevilla"))
        assert not funnel.has_activity(s, Scope())
        empty = funnel.funnel(s, Scope(), Filters())
    assert set(df["agency"]) == {"Paris"} and "Madrid" not in df["agency"].to_list()
    assert _rows(df) == [
        ("2026-Q4", "Paris", "email", "personal", 1, 1, 1, 1, 0),
        ("2026-Q4", "Paris", "in_person", "open", None, None, 1, 1, 1),
    ]
    assert empty.is_empty() and empty.columns == df.columns


def test_the_wave_and_channel_filters(filled: Engine) -> None:
    with store.session(filled) as s:
        q4 = funnel.funnel(s, Scope.world(), Filters(wave="2026-Q4"))
        email = funnel.funnel(s, Scope.world(), Filters(channels=("email",)))
        november = funnel.funnel(s, Scope.world(), Filters(wave="2026-11"))
        monthly = funnel.funnel(s, Scope.world(), Filters(), cadence="month")
    assert set(q4["wave"]) == {"2026-Q4"} and q4.height == 4
    assert set(email["channel"]) == {"email"} and email["invited"].to_list() == [3, 1]
    assert _rows(november) == [("2026-11", *r[1:]) for r in _rows(q4)]
    assert sorted(set(monthly["wave"])) == ["2026-09", "2026-11"]


def test_totals_and_stages_for_the_screen(filled: Engine) -> None:
    with store.session(filled) as s:
        df = funnel.funnel(s, Scope.world(), Filters(wave="2026-Q4"))
    by_channel = {
        (r["channel"], r["kind"]): r for r in funnel.totals(df, "channel").iter_rows(named=True)
    }
    assert (
        by_channel["email", "personal"]["invited"],
        by_channel["email", "personal"]["completed"],
    ) == (4, 1)
    assert by_channel["qr", "open"]["invited"] is None and by_channel["qr", "open"]["opened"] == 3
    by_agency = {
        (r["agency"], r["kind"]): r for r in funnel.totals(df, "agency").iter_rows(named=True)
    }
    assert sorted(by_agency) == [
        ("Madrid", "open"),
        ("Madrid", "personal"),
        ("Paris", "open"),
        ("Paris", "personal"),
    ]
    madrid = by_agency["Madrid", "personal"]
    assert (madrid["invited"], madrid["opened"], madrid["open_rate"]) == (
        3,
        2,
        pytest.approx(2 / 3),
    )
    assert (
        by_agency["Madrid", "open"]["open_rate"] is None
    )  # visits are never divided by invitations
    long = funnel.stages(df, "channel")
    assert long.filter(pl.col("channel") == "email")["stage"].to_list() == list(funnel.STAGES)
    assert long.filter(pl.col("channel") == "qr")["stage"].to_list() == [
        "opened",
        "started",
        "completed",
    ]
    spec = funnel_chart(long).to_dict()
    assert spec["layer"][0]["encoding"]["x"]["sort"] == list(funnel.STAGES)
    assert spec["layer"][0]["encoding"]["xOffset"]["field"] == "group"
    values = spec["data"]["values"]
    assert {"group": "email", "stage": "invited", "count": 4} in values
