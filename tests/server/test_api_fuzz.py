"""Fuzz the REST API from its own OpenAPI document (schemathesis, in process over ASGI): no
server error, every response (status, content type, body) as the document says.

Kept fast (seconds, not a minute): the fuzzed document is the app's own with every array of a
request body capped at :data:`FUZZ_ITEMS` items (``maxItems``, fuzzing only: the served document
keeps 10,000, so a capped case is still a valid one), and schemathesis runs its examples and
fuzzing phases (positive and negative data, :data:`EXAMPLES` each per operation) without the
coverage phase, whose hundreds of boundary cases cost most of the time and found nothing the
fuzzing phase does not.
"""

from __future__ import annotations

import copy
import os
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import positive_data_acceptance

from cx import store
from cx.demo.dataset import GEOGRAPHY
from cx.server import api
from cx.store import tokens
from tests.support.datadir import write_org, write_waves

FUZZ_ITEMS = 3
EXAMPLES = 12


def small_waves(n: int = 96) -> pl.DataFrame:
    """``n`` answers over every demo agency and two waves (deterministic)."""
    places = [(r, c, a) for r, cs in GEOGRAPHY.items() for c, ags in cs.items() for a in ags]
    start = datetime(2026, 5, 1, tzinfo=UTC)
    rows = []
    for i in range(n):
        region, country, agency = places[i % len(places)]
        at = start + timedelta(days=(i * 3) % 120, hours=i % 7)
        rows.append(
            {
                "response_id": f"r{i:04d}",
                "wave": f"{at.year}-Q{(at.month - 1) // 3 + 1}",
                "responded_at": at,
                "customer_id": f"C{i % 40:05d}",
                "region": region,
                "country": country,
                "agency": agency,
                "channel": ["email", "sms", "web", "qr"][i % 4],
                "touchpoint": ["purchase", "support", None][i % 3],
                "nps": (i * 7) % 11,
                "csat": 1 + i % 5,
                "attr_cleanliness": (i * 3) % 11,
                "comment": f"comment {i}: call me on +34 612 345 {i % 10}78" if i % 2 else None,
                "segment": ["Retail", "Business"][i % 2],
            }
        )
    return pl.DataFrame(rows)


@pytest.fixture(scope="module")
def fuzz_token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = write_waves(write_org(tmp_path_factory.mktemp("fuzz") / "data"), small_waves())
    saved = {k: os.environ.get(k) for k in ("CX_DATA_DIR", "CX_API_RATE", "DATABASE_URL")}
    os.environ.update({"CX_DATA_DIR": str(root), "CX_API_RATE": "100000"})
    os.environ.pop("DATABASE_URL", None)
    with store.session(store.init(store.make_engine(store.database_url(root)))) as s:
        token = tokens.create(s, "fuzz", "world", "admin", by=tokens.SHELL)
    yield token
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def capped(node: object, items: int = FUZZ_ITEMS) -> object:
    """``node`` with every array's ``maxItems`` lowered to ``items`` (a copy)."""
    if isinstance(node, dict):
        out = {k: capped(v, items) for k, v in node.items()}
        if out.get("type") == "array":
            out["maxItems"] = min(int(out.get("maxItems", items)), items)
        return out
    if isinstance(node, list):
        return [capped(v, items) for v in node]
    return node


def fuzz_document() -> dict[str, object]:
    """The served OpenAPI document with the request bodies' arrays capped (fuzzing only)."""
    doc = copy.deepcopy(api.app.openapi())
    for operations in doc["paths"].values():
        for operation in operations.values():
            if "requestBody" in operation:
                operation["requestBody"] = capped(operation["requestBody"])
    return doc


CONFIG = SchemathesisConfig.from_dict(
    {
        "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
        "generation": {"mode": "all", "max-examples": EXAMPLES},
    }
)
schema = schemathesis.openapi.from_dict(fuzz_document(), config=CONFIG)
schema.app = api.app
schema.location = "/openapi.json"


def test_the_fuzzed_document_is_the_served_one_with_smaller_bodies() -> None:
    served, fuzzed = api.app.openapi(), fuzz_document()
    assert fuzzed["paths"].keys() == served["paths"].keys()
    body = fuzzed["paths"]["/responses"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["oneOf"][1]["maxItems"] == FUZZ_ITEMS
    served_body = served["paths"]["/responses"]["post"]["requestBody"]["content"]
    assert served_body["application/json"]["schema"]["oneOf"][1]["maxItems"] == api.MAX_ITEMS


def operations() -> list[schemathesis.APIOperation]:
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("operation", operations(), ids=lambda op: f"{op.method.upper()} {op.path}")
def test_no_server_error_and_every_response_as_documented(
    operation: schemathesis.APIOperation, fuzz_token: str
) -> None:
    """One test per operation (its own id, so parallel workers run each one)."""
    statuses: Counter[int] = Counter()

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def check(case: schemathesis.Case) -> None:
        # A schema-valid value may still name an unknown wave or column (400): that check is off.
        response = case.call_and_validate(
            headers={"Authorization": f"Bearer {fuzz_token}"},
            excluded_checks=[positive_data_acceptance],
        )
        statuses[response.status_code] += 1
        assert response.status_code < 500, response.text

    check()
    assert sum(statuses.values()) >= 1  # the operation was really called
    print(f"fuzz {operation.method.upper()} {operation.path}: {dict(sorted(statuses.items()))}")
