"""Slack and Teams incoming webhooks beside Telegram: each agency's chat of ``org.yaml`` gets its
new cases and its answer feed, and the outbox accepts a chat URL only when org.yaml names it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import Engine

from cx import store
from cx.loop import cases, feed, notify
from cx.store.outbox import RecipientRefused
from tests.support.receivers import Receiver, receiver


def with_chats(root: Path, chats: dict[str, dict[str, str]]) -> None:
    raw = yaml.safe_load((root / "org.yaml").read_text(encoding="utf-8"))
    for region in raw["regions"]:
        for country in region["countries"]:
            for agency in country["agencies"]:
                if agency["name"] in chats:
                    agency["chat"] = chats[agency["name"]]
    (root / "org.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")


@pytest.fixture
def chats(root: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("CX_WEBHOOKS_ALLOW_LOCAL", "1")
    monkeypatch.setenv("CX_DATA_DIR", str(root))
    for key in ("CX_TELEGRAM_CHAT_ID", "CX_HELPDESK"):
        monkeypatch.delenv(key, raising=False)
    with receiver() as slack, receiver() as teams:
        with_chats(
            root,
            {
                "Madrid": {"kind": "slack", "url": f"{slack.url}/services/T0/B0/xyz"},
                "Paris": {"kind": "teams", "url": f"{teams.url}/webhookb2/abc"},
            },
        )
        yield slack, teams


def answer(response_id: str, agency: str, country: str, nps: int) -> dict[str, Any]:
    return {
        "response_id": response_id,
        "nps": nps,
        "agency": agency,
        "country": country,
        "region": "Europe",
        "wave": "2024-Q1",
        "customer_id": "C1",
        "comment": "Nobody answered, write to ana@correo.es",
        "themes": [],
    }


def test_each_agency_chat_gets_its_cases_and_feed(
    sqlite_engine: Engine, root: Path, chats: tuple[Receiver, Receiver]
) -> None:
    slack, teams = chats
    at = datetime(2024, 3, 1, 10, tzinfo=UTC)
    with store.session(sqlite_engine) as s:
        cases.open_case(s, response=answer("m1", "Madrid", "ES", 1), reason="t", actor="rules")
        cases.open_case(s, response=answer("p1", "Paris", "FR", 2), reason="t", actor="rules")
        feed.post_answer(s, answer("m2", "Madrid", "ES", 3), at=at)
        feed.post_answer(s, answer("p2", "Paris", "FR", 4), at=at)
        s.commit()
    counts = notify.deliver_pending(sqlite_engine, notify.NotifySettings.from_env(root))
    assert counts["sent"] == 4, counts
    slack_texts = [r.json()["text"] for r in slack.accepted()]
    teams_texts = [r.json()["text"] for r in teams.accepted()]
    assert all(r.path == "/services/T0/B0/xyz" for r in slack.accepted())
    assert sorted(t.split("\n")[0] for t in slack_texts) == [
        "Negative rating at Madrid: NPS 3",
        "New complaint CX-000001 at Madrid: NPS 1",
    ]
    assert sorted(t.split("\n")[0] for t in teams_texts) == [
        "Negative rating at Paris: NPS 4",
        "New complaint CX-000002 at Paris: NPS 2",
    ]
    assert not any("ana@correo.es" in t for t in slack_texts + teams_texts)  # masked


def test_a_chat_url_not_in_org_yaml_is_refused(
    sqlite_engine: Engine, chats: tuple[Receiver, Receiver]
) -> None:
    slack, _ = chats
    with store.session(sqlite_engine) as s:
        with pytest.raises(RecipientRefused, match="org.yaml"):
            store.enqueue(
                s,
                channel="slack",
                recipient=f"{slack.url}/services/OTHER",
                subject="x",
                body="y",
                dedupe_key="k1",
                agency="Madrid",
            )
        with pytest.raises(RecipientRefused):  # Madrid's chat may not hear about Paris
            store.enqueue(
                s,
                channel="slack",
                recipient=f"{slack.url}/services/T0/B0/xyz",
                subject="x",
                body="y",
                dedupe_key="k2",
                region="Europe",
                country="FR",
                agency="Paris",
            )
