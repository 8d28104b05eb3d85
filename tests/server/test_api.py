"""The REST API over real HTTP against the running server (each endpoint, every refusal, the
ingest that folds into the wave and fires the routing rules), and a property test in process:
a token of any scope, on any endpoint, filter or page cursor, never sees a row outside it."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import col, select
from standardwebhooks import Webhook
from starlette.testclient import TestClient

from cx import store
from cx.capture import surveys
from cx.core import data, keys, scope
from cx.core.filters import Filters
from cx.core.scope import Scope
from cx.improve import plans
from cx.loop import alerts, cases, helpdesk, webhooks
from cx.server import api
from cx.store import tokens
from cx.store.models import SurveyAnswer
from tests.server.test_api_fuzz import small_waves
from tests.support.apptest import demo_user
from tests.support.browser import streamlit_server
from tests.support.datadir import write_org, write_waves
from tests.support.frames import routing_answers
from tests.support.net import free_port
from tests.support.receivers import FakeZendesk, Receiver, fake_zendesk, receiver
from tests.support.wait import wait_until

RATE = 30  # a minute per token on the module's server: each test makes its own tokens


def answer(rid: str, **values: Any) -> dict[str, Any]:
    """One data-contract response of Madrid in 2026-Q3 (``wave`` left to the server)."""
    return {
        "response_id": rid,
        "responded_at": "2026-09-20T10:00:00+00:00",
        "customer_id": "C0000099",
        "region": "Europe",
        "country": "ES",
        "agency": "Madrid",
        "channel": "email",
        "nps": 9,
        **values,
    }


# ---------------------------------------------------------------- the running server


class Server:
    """The module's server: its URL and store, and tokens made in this process (same key);
    the webhook receiver subscribed to it and the fake Zendesk its cases go to."""

    def __init__(
        self, url: str, engine: Engine, hooks: Receiver, zendesk: FakeZendesk, secret: str
    ) -> None:
        self.url, self.engine = url, engine
        self.hooks, self.zendesk, self.secret = hooks, zendesk, secret

    def token(self, name: str, scope: str = "world", role: str = "admin") -> str:
        with store.session(self.engine) as s:
            return tokens.create(s, name, scope, role, by=tokens.SHELL)

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=f"{self.url}/api/v1", headers=headers, timeout=30)

    def stored(self, *ids: str) -> list[str]:
        with store.session(self.engine) as s:
            found = select(SurveyAnswer.response_id).where(col(SurveyAnswer.response_id).in_(ids))
            return sorted(s.exec(found))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = write_waves(write_org(tmp_path_factory.mktemp("api") / "data"), routing_answers())
    surveys.ensure_default(root)
    engine = store.init(store.make_engine(f"sqlite:///{root / 'cx.db'}"))
    first = routing_answers().row(0, named=True)  # Madrid, NPS 2: the case the tests work
    with store.session(engine) as s:
        cases.open_case(s, response=first, reason="test", actor="test")
        s.commit()
    with receiver() as hooks, fake_zendesk() as zendesk, pytest.MonkeyPatch.context() as mp:
        mp.setenv("CX_WEBHOOKS_ALLOW_LOCAL", "1")
        with store.session(engine) as s:
            sub = webhooks.add(
                s, url=hooks.url, events=["response.created", "case.opened"], actor="test"
            )
            s.commit()
            s.refresh(sub)
        env = {
            "CX_SIGNING_KEY": keys.signing_key(),  # the tokens are hashed with the server's key
            "CX_FOLD_SECONDS": "1",
            "CX_API_RATE": str(RATE),
            "DATABASE_URL": "",
            "CX_SMTP_HOST": "",
            "CX_TELEGRAM_TOKEN": "",
            "CX_WEBHOOKS_ALLOW_LOCAL": "1",  # the receiver and the helpdesk are on loopback
            "CX_HELPDESK": "zendesk",
            "CX_ZENDESK_URL": zendesk.url,
            "CX_ZENDESK_EMAIL": zendesk.email,
            "CX_ZENDESK_TOKEN": zendesk.token,
            "CX_HELPDESK_SECRET": HELPDESK_SECRET,
        }
        yield from _serving(root, engine, env, hooks, zendesk, sub.secret)
    engine.dispose()


HELPDESK_SECRET = "zendesk-signing-secret-of-the-test-server"


def _serving(
    root: Any,
    engine: Engine,
    env: dict[str, str],
    hooks: Receiver,
    zendesk: FakeZendesk,
    secret: str,
) -> Iterator[Server]:
    with streamlit_server(root, free_port(), env) as url:

        def up() -> bool:
            try:
                return httpx.get(f"{url}/api/v1/health", timeout=30).status_code == 200
            except httpx.HTTPError:
                return False

        assert wait_until(up, 90, 0.3), "the API did not answer"
        yield Server(url, engine, hooks, zendesk, secret)


def test_each_endpoint_answers_a_world_token(server: Server) -> None:
    token = server.token("everything")
    assert httpx.get(f"{server.url}/api/v1/health").json() == {"status": "ok"}
    doc = httpx.get(f"{server.url}/api/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.") and {"/kpis", "/responses", "/cases/{case_id}"} <= set(
        doc["paths"]
    )
    with server.client(token) as c:
        kpis = c.get("/kpis", params={"by": "agency", "wave": "2026-Q3"})
        assert kpis.status_code == 200
        assert {r["agency"]: r["n"] for r in kpis.json()} == {
            "Madrid": 3,
            "Barcelona": 2,
            "Paris": 2,
        }
        page = c.get("/responses", params={"limit": 5}).json()
        assert len(page["items"]) == 5 and page["next_cursor"]
        rest = c.get("/responses", params={"limit": 5, "cursor": page["next_cursor"]}).json()
        assert rest["next_cursor"] is None
        ids = [r["response_id"] for r in page["items"] + rest["items"]]
        assert sorted(ids) == [f"r{i}" for i in range(8)]
        assert c.get("/alerts").status_code == 200
        found = c.get("/cases").json()
        assert [x["response_id"] for x in found] == ["r0"]
        one = c.get(f"/cases/{found[0]['id']}").json()
        assert one["agency"] == "Madrid" and one["events"]
        assert c.get("/plans").json() == []
        assert c.get("/cases/999999").status_code == 404


def test_missing_unknown_and_revoked_tokens_get_401(server: Server) -> None:
    token = server.token("soon-revoked")
    with server.client(token) as c:
        assert c.get("/plans").status_code == 200
    with store.session(server.engine) as s:
        tokens.revoke(s, "soon-revoked", by=tokens.SHELL)
    for bad in (None, "cxt_" + "x" * 43, token):
        with server.client(bad) as c:
            r = c.get("/kpis")
            assert r.status_code == 401, bad
            assert r.headers["www-authenticate"].startswith("Bearer")
            assert set(r.json()) == {"error"}


def test_a_post_outside_the_tokens_scope_or_role_is_refused_and_stores_nothing(
    server: Server,
) -> None:
    with server.client(server.token("paris-only", "agency:Paris")) as c:
        r = c.post("/responses", json=[answer("scope-1")])
        assert r.status_code == 403 and "outside the token's scope" in r.json()["error"]
    with server.client(server.token("ceo-reader", "world", "ceo")) as c:
        r = c.post("/responses", json=answer("scope-2"))
        assert r.status_code == 403 and "may not post" in r.json()["error"]
    assert server.stored("scope-1", "scope-2") == []


def test_too_many_calls_get_429_with_retry_after(server: Server) -> None:
    with server.client(server.token("busy")) as c:
        statuses = [c.get("/plans").status_code for _ in range(RATE)]
        assert statuses == [200] * RATE
        r = c.get("/plans")
        assert r.status_code == 429
        assert 1 <= int(r.headers["retry-after"]) <= 61
    with server.client(server.token("calm")) as c:  # per token: another one still passes
        assert c.get("/plans").status_code == 200


def test_a_stale_case_patch_gets_409(server: Server) -> None:
    with server.client(server.token("case-worker", "world", "advisor")) as c:
        case = next(x for x in c.get("/cases").json() if x["response_id"] == "r0")
        change = {"version": case["version"], "action": "classify", "importance": "high"}
        r = c.patch(f"/cases/{case['id']}", json=change)
        assert r.status_code == 200, r.text
        assert r.json()["version"] == case["version"] + 1 and r.json()["importance"] == "high"
        stale = c.patch(f"/cases/{case['id']}", json={**change, "importance": "low"})
        assert stale.status_code == 409 and "error" in stale.json()
        assert c.get(f"/cases/{case['id']}").json()["importance"] == "high"


def test_posting_the_same_response_twice_stores_it_once(server: Server) -> None:
    item = answer("twice-1", responded_at="2026-05-10T09:00:00Z", nps=10)  # 2026-Q2
    with server.client(server.token("poster")) as c:
        first = c.post("/responses", json=item)
        assert first.status_code == 201 and first.json() == {"stored": ["twice-1"], "existing": []}
        again = c.post("/responses", json=[item])
        assert again.status_code == 200 and again.json() == {"stored": [], "existing": ["twice-1"]}
    assert server.stored("twice-1") == ["twice-1"]


def test_a_bad_batch_names_each_bad_item_and_stores_nothing(server: Server) -> None:
    batch = [
        answer("bad-0"),
        answer("bad-1", nps=11),
        answer("bad-2", agency=None),
        answer("bad-3", colour="blue"),
    ]
    with server.client(server.token("sloppy")) as c:
        r = c.post("/responses", json=batch)
    assert r.status_code == 422
    errors = r.json()["errors"]
    assert all(set(e) == {"index", "field", "reason"} for e in errors)
    assert {(e["index"], e["field"]) for e in errors} >= {(2, "agency"), (3, "colour")}
    with server.client(server.token("sloppy-2")) as c:
        r = c.post("/responses", json=batch[:2])
    assert r.status_code == 422
    [error] = r.json()["errors"]
    assert error["index"] == 1 and error["field"] == "nps" and error["reason"]
    assert server.stored(*(b["response_id"] for b in batch)) == []


def test_a_posted_detractor_reaches_the_kpis_and_opens_a_case(server: Server) -> None:
    rid = "api-detractor-1"
    with server.client(server.token("crm")) as c:
        r = c.post("/responses", json=answer(rid, nps=2, comment="Dirty and slow, call me"))
        assert r.status_code == 201, r.text

        def madrid_n() -> int:
            rows = c.get("/kpis", params={"by": "agency", "wave": "2026-Q3"}).json()
            return next(x["n"] for x in rows if x["agency"] == "Madrid")

        assert wait_until(lambda: madrid_n() == 4, 60, 2.5), "not folded within a minute"

        def case_of() -> dict[str, Any] | None:
            found = c.get("/cases", params={"agency": "Madrid"}).json()
            return next((x for x in found if x["response_id"] == rid), None)

        case = wait_until(case_of, 30, 2.5)
    assert case is not None and case["nps"] == 2 and case["agency"] == "Madrid"


def test_a_posted_detractor_is_signed_to_the_webhook_and_its_helpdesk_ticket_closes_the_case(
    server: Server,
) -> None:
    """Over real HTTP against the running server: the answer posted by the API reaches the
    subscribed receiver as a verifiable Standard Webhooks event, its case becomes a Zendesk
    ticket, and Zendesk's signed callback to ``/hooks/helpdesk`` resolves the case."""
    rid = "api-detractor-helpdesk"
    with server.client(server.token("crm-helpdesk")) as c:
        posted = c.post("/responses", json=answer(rid, nps=1, comment="Nobody called me back"))
        assert posted.status_code == 201, posted.text

        def event() -> dict[str, Any] | None:
            for got in server.hooks.accepted():
                payload = Webhook(server.secret).verify(got.body, got.headers)
                if payload["type"] == "response.created" and payload["data"]["response_id"] == rid:
                    return payload
            return None

        assert wait_until(event, 60, 0.5), "no verifiable response.created event within a minute"

        def case_of() -> dict[str, Any] | None:
            found = c.get("/cases", params={"agency": "Madrid"}).json()
            return next((x for x in found if x["response_id"] == rid), None)

        case = wait_until(case_of, 60, 1.0)
        assert case is not None
        number = f"CX-{case['id']:06d}"
        ticket = wait_until(
            lambda: next(
                (k for k, t in server.zendesk.tickets.items() if t["external_id"] == number), None
            ),
            60,
            0.5,
        )
        assert ticket is not None, "no Zendesk ticket for the case within a minute"
        body = json.dumps({"ticket_id": ticket, "status": "solved", "comment": "Called back"})
        stamp = str(int(time.time()))
        headers = {
            "X-Zendesk-Webhook-Signature": helpdesk.signature(
                HELPDESK_SECRET, stamp, body.encode()
            ),
            "X-Zendesk-Webhook-Signature-Timestamp": stamp,
            "Content-Type": "application/json",
        }
        forged = httpx.post(
            f"{server.url}/hooks/helpdesk",
            content=body,
            headers={**headers, "X-Zendesk-Webhook-Signature": "bm90IGl0"},
            timeout=30,
        )
        assert forged.status_code == 401
        called = httpx.post(
            f"{server.url}/hooks/helpdesk", content=body, headers=headers, timeout=30
        )
        assert called.status_code == 200, called.text
        after = c.get(f"/cases/{case['id']}").json()
    assert after["status"] == "resolved" and after["solution"] == "Called back"


# ---------------------------------------------------------------- scope: a property, in process


SCOPES = (
    "world",
    "region:Europe",
    "region:Latin America",
    "country:ES",
    "country:FR",
    "country:MX",
    "agency:Madrid",
    "agency:Paris",
    "agency:Buenos Aires",
    "agency:Moscow",
)
AGENCIES = (None, "Madrid", "Paris", "Lyon", "Buenos Aires", "Chicago")
WAVES = (None, "2026-Q2", "2026-Q3")


@pytest.fixture(scope="module")
def scoped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """The API in process on 96 answers over every demo agency, with a case for each
    detractor, plans in four places and a token per scope of :data:`SCOPES`."""
    root = write_waves(write_org(tmp_path_factory.mktemp("scoped") / "data"), small_waves())
    saved = {k: os.environ.get(k) for k in ("CX_DATA_DIR", "CX_API_RATE", "DATABASE_URL")}
    os.environ.update({"CX_DATA_DIR": str(root), "CX_API_RATE": "1000000"})
    os.environ.pop("DATABASE_URL", None)
    engine = store.init(store.make_engine(store.database_url(root)))
    frame = data.scan_responses(root).collect()
    ceo = demo_user("ceo")
    with store.session(engine) as s:
        for row in frame.filter(pl.col("nps") <= 6).iter_rows(named=True):
            cases.open_case(s, response=row, reason="test", actor="test")
        for where in ({"agency": "Madrid"}, {"agency": "Paris"}, {"country": "MX"}, {}):
            plans.create_plan(
                s, user=ceo, title=f"Plan {where}", owner="ceo", due_date=date(2026, 12, 1), **where
            )
        s.commit()
        made = {
            sc: tokens.create(s, f"t{i}", sc, "admin", by=tokens.SHELL)
            for i, sc in enumerate(SCOPES)
        }
    with TestClient(api.app, base_url="http://test") as client:
        yield client, made
    engine.dispose()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def places(spec: str) -> pl.DataFrame:
    """The (region, country, agency) rows the scope holds: the pre-filtered data."""
    frame = data.scan_responses(data.data_dir())
    return scope.restrict(frame, Scope.parse(spec)).collect()


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(
    spec=st.sampled_from(SCOPES),
    endpoint=st.sampled_from(("kpis", "responses", "cases", "alerts", "plans")),
    agency=st.sampled_from(AGENCIES),
    wave=st.sampled_from(WAVES),
    limit=st.integers(1, 40),
)
def test_a_token_never_sees_a_row_outside_its_scope(
    scoped: tuple[TestClient, dict[str, str]],
    spec: str,
    endpoint: str,
    agency: str | None,
    wave: str | None,
    limit: int,
) -> None:
    client, made = scoped
    headers = {"Authorization": f"Bearer {made[spec]}"}
    mine = places(spec)
    agencies, countries = set(mine["agency"]), set(mine["country"])
    if endpoint == "kpis":
        params = {"by": "agency", **({"wave": wave} if wave else {})}
        rows = client.get("/kpis", params=params, headers=headers).json()
        chosen = wave or "2026-Q3"
        expected = mine.filter(pl.col("wave") == chosen).group_by("agency").len().rows()
        assert {(r["agency"], r["n"]) for r in rows} == set(expected)
    elif endpoint == "responses":
        params: dict[str, Any] = {"limit": limit}
        params |= {k: v for k, v in (("agency", agency), ("wave", wave)) if v}
        seen: list[str] = []
        while True:
            r = client.get("/responses", params=params, headers=headers)
            assert r.status_code == 200, r.text
            page = r.json()
            assert len(page["items"]) <= limit
            assert all(x["agency"] in agencies for x in page["items"])
            seen += [x["response_id"] for x in page["items"]]
            if not page["next_cursor"]:
                break
            params["cursor"] = page["next_cursor"]
        want = mine.filter(
            (pl.col("agency") == agency) if agency else pl.lit(True),
            (pl.col("wave") == wave) if wave else pl.lit(True),
        )
        assert seen == want.sort("responded_at", "response_id")["response_id"].to_list()
    elif endpoint == "cases":
        params = {"agency": agency} if agency else {}
        rows = client.get("/cases", params=params, headers=headers).json()
        want = mine.filter(
            pl.col("nps") <= 6, (pl.col("agency") == agency) if agency else pl.lit(True)
        )
        assert sorted(x["response_id"] for x in rows) == sorted(want["response_id"])
    elif endpoint == "alerts":
        rows = client.get("/alerts", params={"wave": wave} if wave else {}, headers=headers).json()
        expected = alerts.detect(
            data.scan_responses(data.data_dir()), Scope.parse(spec), Filters(wave=wave)
        )
        assert len(rows) == expected.height
        for x in rows:
            assert x["country"] in countries
            assert x["level"] != "agency" or x["entity"] in agencies
    else:
        rows = client.get("/plans", headers=headers).json()
        assert all(
            (p["agency"] in agencies)
            if p["agency"]
            else (p["country"] in countries)
            if p["country"]
            else spec == "world"
            for p in rows
        )
        with store.session(api.engine()) as s:
            assert len(rows) == len(plans.list_plans(s, Scope.parse(spec)))


def test_comments_and_case_notes_leave_the_api_masked(
    scoped: tuple[TestClient, dict[str, str]],
) -> None:
    client, made = scoped
    headers = {"Authorization": f"Bearer {made['world']}"}
    items = client.get("/responses", params={"limit": 500}, headers=headers).json()["items"]
    said = [i["comment"] for i in items if i.get("comment")]
    assert len(said) == 48 and all("612 345" not in c and "[phone]" in c for c in said)
    engine = store.make_engine(store.database_url(data.data_dir()))
    with store.session(engine) as s:
        worker = tokens.create(s, "advisor-notes", "world", "advisor", by=tokens.SHELL)
    engine.dispose()
    headers = {"Authorization": f"Bearer {worker}"}
    case = client.get("/cases", headers=headers).json()[0]
    note = "Customer asked to be written to at ana.lopez@example.com or called on 612 345 678"
    patched = client.patch(
        f"/cases/{case['id']}",
        json={"version": case["version"], "action": "call", "outcome": "reached", "note": note},
        headers=headers,
    )
    assert patched.status_code == 200, patched.text
    events = client.get(f"/cases/{case['id']}", headers=headers).json()["events"]
    text = repr([e["detail"] for e in events])
    assert "ana.lopez@example.com" not in text and "612 345 678" not in text
    assert "[email]" in text
