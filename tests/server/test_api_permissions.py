"""``PATCH /api/v1/cases/{id}`` refusals in process: a token acts with its role and scope through
the same domain checks as a user, so a role that does not work cases gets 403 and a case outside
the token's scope is 404 (as if it did not exist); a refused action leaves the case untouched.
``api.app`` is what the server mounts at ``/api/v1``, so the paths here are relative to it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from cx import store
from cx.loop import cases
from cx.server import api
from cx.store import tokens
from tests.support.datadir import write_org

PLACES = {
    "Madrid": {"region": "Europe", "country": "ES", "agency": "Madrid"},
    "Paris": {"region": "Europe", "country": "FR", "agency": "Paris"},
}
TOKENS = {  # name: (scope, role)
    "reader": ("world", "admin"),
    "analyst": ("world", "analyst"),
    "paris-advisor": ("agency:Paris", "advisor"),
    "madrid-advisor": ("agency:Madrid", "advisor"),
}
ACTIONS: dict[str, dict[str, Any]] = {
    "call": {"outcome": "reached"},
    "classify": {"importance": "high", "topic": "cleanliness"},
    "solution": {"solution": "refund"},
    "forward": {"to": "madrid.manager"},
    "resolve": {},
    "close": {"note": "customer satisfied"},
}
"""Every action of the endpoint, each with the fields it needs to reach the permission check."""


@pytest.fixture(scope="module")
def api_cases(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[TestClient, dict[str, int], dict[str, str]]]:
    """The API in process on a store holding one new case in Madrid and one in Paris, and a
    token per :data:`TOKENS`; the client, the case ids by agency and the tokens by name."""
    root = write_org(tmp_path_factory.mktemp("api-permissions") / "data")
    saved = {k: os.environ.get(k) for k in ("CX_DATA_DIR", "CX_API_RATE", "DATABASE_URL")}
    os.environ.update({"CX_DATA_DIR": str(root), "CX_API_RATE": "1000000"})
    os.environ.pop("DATABASE_URL", None)
    engine = store.init(store.make_engine(store.database_url(root)))
    with store.session(engine) as s:
        ids = {}
        for name, geo in PLACES.items():
            response = {"response_id": f"r-{name}", "nps": 2, "wave": "2026-Q3", **geo}
            case = cases.open_case(s, response=response, reason="nps < 6", actor="test")
            assert case is not None and case.id is not None
            ids[name] = case.id
        s.commit()
        made = {
            name: tokens.create(s, name, scope, role, by=tokens.SHELL)
            for name, (scope, role) in TOKENS.items()
        }
    with TestClient(api.app, base_url="http://test") as client:
        yield client, ids, made
    engine.dispose()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def _case(client: TestClient, token: str, case_id: int) -> dict[str, Any]:
    r = client.get(f"/cases/{case_id}", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _patch(client: TestClient, token: str, case_id: int, version: int, action: str) -> Any:
    body = {"version": version, "action": action, **ACTIONS[action]}
    return client.patch(
        f"/cases/{case_id}", json=body, headers={"Authorization": f"Bearer {token}"}
    )


@pytest.mark.parametrize(
    ("token", "status", "says"),
    [
        ("analyst", 403, "may not work complaint cases"),
        ("paris-advisor", 404, "does not exist in your scope"),
    ],
    ids=["analyst-role-403", "paris-advisor-on-madrid-404"],
)
def test_a_token_that_may_not_work_the_case_is_refused_and_the_case_is_untouched(
    api_cases: tuple[TestClient, dict[str, int], dict[str, str]],
    token: str,
    status: int,
    says: str,
) -> None:
    client, ids, made = api_cases
    before = _case(client, made["reader"], ids["Madrid"])
    for action in ACTIONS:
        r = _patch(client, made[token], ids["Madrid"], before["version"], action)
        assert (r.status_code, action) == (status, action), r.text
        assert says in r.json()["error"], r.text
    after = _case(client, made["reader"], ids["Madrid"])
    assert (after["version"], after["status"], after["assignee"], len(after["events"])) == (
        before["version"],
        before["status"],
        before["assignee"],
        len(before["events"]),
    )


def test_the_same_patch_from_a_token_of_the_cases_agency_is_done(
    api_cases: tuple[TestClient, dict[str, int], dict[str, str]],
) -> None:
    """The refusals above are about the token: the Paris advisor works its own case, and the
    Madrid advisor the Madrid one."""
    client, ids, made = api_cases
    for token, place in (("paris-advisor", "Paris"), ("madrid-advisor", "Madrid")):
        before = _case(client, made["reader"], ids[place])
        r = _patch(client, made[token], ids[place], before["version"], "call")
        assert r.status_code == 200, r.text
        assert (r.json()["version"], r.json()["attempts"]) == (before["version"] + 1, 1)
