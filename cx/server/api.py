"""The REST API (``/api/v1``): a FastAPI app mounted beside the dashboards on the one server.

Every call but ``/health`` and ``/openapi.json`` carries ``Authorization: Bearer <token>``
(:mod:`cx.store.tokens`); the token's scope goes through the one scope function, its role
through the domain's own checks (a case is changed as the pseudo-user ``token:<name>``).
Each authenticated call is rate-limited per token and written to the audit trail in the same
transaction that resolves the token. Errors are one JSON line, never a traceback.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import polars as pl
from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Mount

from cx import store
from cx.analytics import overview, rfm
from cx.capture import answers
from cx.core import data, keys, privacy, scope, settings
from cx.core.data import OPTIONAL, REQUIRED
from cx.core.filters import Filters
from cx.core.roles import DATA_ADMINS
from cx.core.scope import Scope
from cx.core.users import User
from cx.improve import plans
from cx.ingest import validate
from cx.ingest.formats import Source
from cx.ingest.mapping import Mapping
from cx.loop import alerts, cases
from cx.server import signin
from cx.server.limits import Limiter
from cx.store import tokens
from cx.store.models import SurveyAnswer

MAX_ITEMS = 10_000
MAX_BODY = 32 * 1024 * 1024
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
DEFAULT_RATE = 600
CURSOR_PURPOSE = "api-cursor"
CONTRACT = (*REQUIRED, *OPTIONAL)


class Problem(Exception):
    """A refused request: its status, one line, and headers (``WWW-Authenticate``, ``Retry-After``)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


# ---------------------------------------------------------------- schemas (the OpenAPI document)


class ErrorOut(BaseModel):
    error: str


class ItemError(BaseModel):
    index: int
    field: str
    reason: str


class ErrorsOut(BaseModel):
    errors: list[ItemError]


class HealthOut(BaseModel):
    status: Literal["ok"]


class ResponsesPage(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: str | None


class StoredOut(BaseModel):
    stored: list[str]
    existing: list[str]


class CasePatch(BaseModel):
    """One case action (those of :mod:`cx.loop.cases`), with the ``version`` the client read."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1, le=2**31)
    action: Literal["call", "classify", "solution", "forward", "resolve", "close"]
    outcome: Literal["reached", "no_answer", "voicemail", "wrong_number"] | None = None
    note: str = Field(default="", max_length=4000)
    importance: Literal["low", "normal", "high", "critical"] | None = None
    topic: str | None = Field(default=None, max_length=100)
    solution: str | None = Field(default=None, max_length=4000)
    to: str | None = Field(default=None, max_length=100)


_SCALAR: dict[str, Any] = {"type": ["string", "number", "integer", "boolean", "null"]}
RESPONSE_ITEM: dict[str, Any] = {
    "type": "object",
    "description": "A data-contract row; `wave` is optional (the quarter of `responded_at`).",
    "required": [c for c in REQUIRED if c not in ("wave", "region", "country")],
    "properties": {c: _SCALAR for c in CONTRACT},
    "patternProperties": {"^attr_[a-z0-9_]+$": _SCALAR},
    "additionalProperties": False,
}
POST_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "oneOf": [
                    RESPONSE_ITEM,
                    {"type": "array", "items": RESPONSE_ITEM, "minItems": 1, "maxItems": MAX_ITEMS},
                ]
            }
        }
    },
}


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {
        400: "Bad parameter",
        401: "Missing, unknown or revoked token",
        403: "Outside the token's scope or role",
        404: "Not found in the token's scope",
        409: "Stale version or a change the case's status does not allow",
        413: "Body too large",
        422: "Invalid input",
        429: "Rate limit reached (see Retry-After)",
        500: "Internal error",
    }
    return {c: {"model": ErrorOut, "description": text[c]} for c in codes}


AUTH_ERRORS = (400, 401, 403, 422, 429, 500)

app = FastAPI(
    title="CX Review API",
    version="1.0.0",
    description="Scoped read access to the CX Review data, case actions and response ingest.",
    openapi_url="/openapi.json",
    docs_url=None,
    redoc_url=None,
)
bearer = HTTPBearer(auto_error=False, description="A token made by `cx tokens create`")
ROUTES: list[BaseRoute] = [Mount("/api/v1", app=app)]


# ---------------------------------------------------------------- errors: one JSON line


@app.exception_handler(Problem)
async def _problem(_request: Request, exc: Problem) -> JSONResponse:
    return JSONResponse({"error": str(exc)}, status_code=exc.status, headers=exc.headers)


@app.exception_handler(StarletteHTTPException)
async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    headers = dict(exc.headers or {})
    if exc.status_code == 405:  # every method of the path, not only those of one route
        path = request.scope.get("path", "")
        methods = {
            m
            for r in app.routes
            if isinstance(r, APIRoute) and r.path_regex.match(path)
            for m in r.methods or ()
        }
        headers["Allow"] = ", ".join(sorted(methods))
    return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=headers)


def _where(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "request"


@app.exception_handler(RequestValidationError)
async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    message = f"{_where(first.get('loc', ()))}: {first.get('msg', 'invalid')}"
    return JSONResponse({"error": " ".join(message.split())[:300]}, status_code=422)


@app.exception_handler(Exception)
async def _bug(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(
        {"error": f"internal error ({exc.__class__.__name__}); it has been logged"},
        status_code=500,
    )


# ---------------------------------------------------------------- the caller: token, rate, audit


@dataclass(frozen=True)
class Caller:
    name: str
    scope: Scope
    role: str

    @property
    def actor(self) -> str:
        return f"token:{self.name}"

    def user(self) -> User:
        """The pseudo-user the domain checks (role and scope) when the token changes something."""
        return User(
            username=self.actor, name=self.actor, email="", roles=(self.role,), scope=self.scope
        )


app.state.limiter = Limiter(DEFAULT_RATE)


def rate() -> int:
    """Calls one token may make per minute (``CX_API_RATE``, default 600)."""
    return settings.whole("CX_API_RATE", DEFAULT_RATE, minimum=1)


def engine() -> Engine:
    return signin.engine()


def root() -> Path:
    return data.data_dir()


def caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    """The live token of the request (401 otherwise), within its rate (429), audited."""
    challenge = {"WWW-Authenticate": 'Bearer realm="cx"'}
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Problem(401, "missing token: send Authorization: Bearer <token>", challenge)
    with store.session(engine()) as s:
        found = tokens.resolve(s, credentials.credentials.strip())
        if found is None:
            raise Problem(401, "unknown or revoked token", challenge)
        who = Caller(found.name, tokens.scope_of(found), found.role)
        wait = request.app.state.limiter.take(who.name, rate())
        if wait is not None:
            raise Problem(
                429,
                f"rate limit of {rate()} requests a minute reached",
                {"Retry-After": str(max(1, math.ceil(wait)))},
            )
        store.audit(
            s,
            actor=who.actor,
            action=f"api.{request.method} {request.url.path}",
            entity="api_token",
            entity_id=who.name,
            detail={"query": str(request.url.query)[:500]},
        )
        s.commit()
    return who


Authed = Annotated[Caller, Depends(caller)]


# ---------------------------------------------------------------- JSON of frames and records


def _plain(value: Any) -> Any:
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def rows_of(df: pl.DataFrame) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in row.items()} for row in df.iter_rows(named=True)]


def record(model: Any, json_fields: tuple[str, ...] = ()) -> dict[str, Any]:
    out = {k: _plain(v) for k, v in model.model_dump().items()}
    for name in json_fields:
        if isinstance(out.get(name), str):
            with contextlib.suppress(ValueError):
                out[name] = json.loads(out[name])
    return out


def _masked(value: Any) -> Any:
    """Every text inside ``value`` (an event's detail: notes, solutions) with personal data masked:
    what an advisor typed may hold the customer's number or address."""
    if isinstance(value, str):
        return privacy.mask_text(value)
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def _list(text: str | None) -> tuple[str, ...]:
    return tuple(sorted({v.strip() for v in (text or "").split(",") if v.strip()}))


def _wave(frame: pl.LazyFrame, wave: str | None) -> str | None:
    if wave is None:
        return None
    known = overview.waves(frame)
    if wave not in known:
        raise Problem(400, f"unknown wave {wave[:40]!r}; waves are {', '.join(known)}")
    return wave


Text = Annotated[str | None, Query(max_length=200)]


# ---------------------------------------------------------------- reads


@app.get("/health", response_model=HealthOut, tags=["meta"])
def health() -> dict[str, str]:
    """Whether the API answers (no token needed)."""
    return {"status": "ok"}


@app.get(
    "/kpis", response_model=list[dict[str, Any]], responses=_errors(*AUTH_ERRORS), tags=["data"]
)
def kpis(
    who: Authed,
    by: Text = None,
    wave: Text = None,
    channel: Text = None,
    touchpoint: Text = None,
    segment: Text = None,
) -> list[dict[str, Any]]:
    """The rows of ``cx kpis``: NPS, its margin of error, shares and CSAT, grouped by ``by``."""
    frame = data.scan_responses(root())
    columns = [c.strip() for c in (by or "").split(",") if c.strip()]
    if "rfm_tier" in columns:
        frame = rfm.with_rfm_tier(frame, root())
    chosen = _wave(frame, wave)
    if chosen is None and "wave" not in columns:
        known = overview.waves(frame)
        chosen = known[-1] if known else None
    f = Filters(
        wave=chosen, channels=_list(channel), touchpoints=_list(touchpoint), segments=_list(segment)
    )
    try:
        df = overview.kpis(frame, who.scope, f, columns)
    except KeyError as exc:
        raise Problem(400, str(exc.args[0]).replace("--by", "by")) from None
    keep = [
        *columns,
        *("n", "promoters", "passives", "detractors", "nps", "nps_moe", "low_base", "csat"),
    ]
    return rows_of(df.select([c for c in dict.fromkeys(keep) if c in df.columns]))


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def make_cursor(at: datetime, response_id: str, query: str) -> str:
    """An opaque cursor: the last row's (responded_at, response_id) and the query it pages, signed."""
    return keys.seal(
        {"t": at.isoformat(), "i": response_id, "q": query}, CURSOR_PURPOSE, mac_chars=32
    )


def read_cursor(cursor: str, query: str) -> tuple[datetime, str]:
    body = keys.unseal(cursor, CURSOR_PURPOSE, mac_chars=32)
    if body is None:
        raise Problem(400, "bad cursor: use the next_cursor of the previous page as it is")
    try:
        at = datetime.fromisoformat(body["t"])
        rid = str(body["i"])
        same = body["q"] == query
    except (ValueError, KeyError, TypeError):
        raise Problem(400, "bad cursor") from None
    if not same:
        raise Problem(400, "this cursor belongs to another query or token; start again without it")
    return at, rid


def _since(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise Problem(400, f"since {text[:40]!r} is not an ISO date or date-time") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


@app.get("/responses", response_model=ResponsesPage, responses=_errors(*AUTH_ERRORS), tags=["data"])
def list_responses(
    who: Authed,
    wave: Text = None,
    agency: Text = None,
    since: Text = None,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> dict[str, Any]:
    """Responses inside the token's scope, oldest first, comments masked; page with ``next_cursor``."""
    frame = data.scan_responses(root())
    query = _digest(who.name, str(who.scope), wave or "", agency or "", since or "", str(limit))
    chosen = _wave(frame, wave)
    after = _since(since)
    rows = scope.restrict(frame, who.scope)
    if chosen is not None:
        rows = rows.filter(pl.col("wave") == chosen)
    if agency:
        rows = rows.filter(pl.col("agency") == agency)
    if after is not None:
        rows = rows.filter(pl.col("responded_at") >= after)
    if cursor:
        at, rid = read_cursor(cursor, query)
        rows = rows.filter(
            (pl.col("responded_at") > at)
            | ((pl.col("responded_at") == at) & (pl.col("response_id") > rid))
        )
    names = rows.collect_schema().names()
    keep = [c for c in names if c in CONTRACT or c.startswith(data.ATTR_PREFIX)]
    page = rows.select(keep).sort("responded_at", "response_id").head(limit + 1).collect()
    if "comment" in page.columns:
        page = page.with_columns(privacy.mask_pii(pl.col("comment")).alias("comment"))
    more = page.height > limit
    page = page.head(limit)
    nxt = None
    if more:
        last = page.row(page.height - 1, named=True)
        nxt = make_cursor(last["responded_at"], str(last["response_id"]), query)
    return {"items": rows_of(page), "next_cursor": nxt}


@app.get(
    "/alerts", response_model=list[dict[str, Any]], responses=_errors(*AUTH_ERRORS), tags=["loop"]
)
def list_alerts(who: Authed, wave: Text = None) -> list[dict[str, Any]]:
    """The alerts of the token's scope at ``wave`` (default: the latest)."""
    frame = data.scan_responses(root())
    df = alerts.detect(frame, who.scope, Filters(wave=_wave(frame, wave)))
    return rows_of(df)


CASE_JSON = ("scores", "themes")


@app.get(
    "/cases", response_model=list[dict[str, Any]], responses=_errors(*AUTH_ERRORS), tags=["loop"]
)
def list_cases(who: Authed, status: Text = None, agency: Text = None) -> list[dict[str, Any]]:
    """Cases inside the token's scope, most urgent first; comments are stored masked."""
    wanted = _list(status)
    bad = [w for w in wanted if w not in cases.STATUSES]
    if bad:
        raise Problem(
            400, f"unknown status {bad[0][:40]!r}; statuses are {', '.join(cases.STATUSES)}"
        )
    with store.session(engine()) as s:
        found = cases.list_cases(s, who.scope, status=list(wanted) if wanted else None)
        return [record(c, CASE_JSON) for c in found if not agency or c.agency == agency]


CaseId = Annotated[int, Query(ge=1, le=2**62)]


def _case_out(s: Session, who: Caller, case_id: int) -> dict[str, Any]:
    case = cases.get_case(s, who.scope, case_id)
    if case is None:
        raise Problem(404, f"no case {case_id} in the token's scope")
    out = record(case, CASE_JSON)
    out["events"] = [
        {**event, "detail": _masked(event.get("detail"))}
        for event in (record(e, ("detail",)) for e in cases.case_events(s, who.scope, case_id))
    ]
    return out


@app.get(
    "/cases/{case_id}",
    response_model=dict[str, Any],
    responses=_errors(*AUTH_ERRORS, 404),
    tags=["loop"],
)
def get_case(who: Authed, case_id: int) -> dict[str, Any]:
    """One case of the token's scope with its event log (404 outside the scope)."""
    if not 1 <= case_id <= 2**62:
        raise Problem(404, f"no case {case_id} in the token's scope")
    with store.session(engine()) as s:
        return _case_out(s, who, case_id)


def _act(s: Session, user: User, case_id: int, change: CasePatch) -> None:
    v = change.version
    if change.action == "call":
        cases.log_call(
            s,
            user,
            case_id,
            expected_version=v,
            outcome=change.outcome or "reached",
            note=change.note,
        )
    elif change.action == "classify":
        cases.classify(
            s,
            user,
            case_id,
            expected_version=v,
            importance=change.importance or "normal",
            topic=change.topic,
        )
    elif change.action == "solution":
        cases.record_solution(s, user, case_id, expected_version=v, solution=change.solution or "")
    elif change.action == "forward":
        cases.forward(s, user, case_id, expected_version=v, to=change.to or "", note=change.note)
    elif change.action == "resolve":
        cases.resolve(s, user, case_id, expected_version=v, note=change.note)
    else:
        cases.close(s, user, case_id, expected_version=v, note=change.note)


@app.patch(
    "/cases/{case_id}",
    response_model=dict[str, Any],
    responses=_errors(*AUTH_ERRORS, 404, 409),
    tags=["loop"],
)
def patch_case(who: Authed, case_id: int, change: CasePatch) -> dict[str, Any]:
    """One case action as the pseudo-user ``token:<name>``; a stale ``version`` gives 409."""
    if not 1 <= case_id <= 2**62:
        raise Problem(404, f"no case {case_id} in the token's scope")
    with store.session(engine()) as s:
        try:
            _act(s, who.user(), case_id, change)
            s.commit()
        except store.StaleEdit as exc:
            s.rollback()
            raise Problem(409, str(exc)) from None
        except cases.CaseForbidden as exc:
            s.rollback()
            raise Problem(403, str(exc)) from None
        except cases.CaseError as exc:
            s.rollback()
            status = 404 if "does not exist" in str(exc) else 409
            raise Problem(status, " ".join(str(exc).split())[:300]) from None
        except ValueError as exc:
            s.rollback()
            raise Problem(400, " ".join(str(exc).split())[:300]) from None
        return _case_out(s, who, case_id)


@app.get(
    "/plans", response_model=list[dict[str, Any]], responses=_errors(*AUTH_ERRORS), tags=["improve"]
)
def list_plans(who: Authed) -> list[dict[str, Any]]:
    """Action plans inside the token's scope, soonest due first."""
    with store.session(engine()) as s:
        return [record(p) for p in plans.list_plans(s, who.scope)]


# ---------------------------------------------------------------- ingest


FIELD_OF_RULE = {
    "duplicate response_id in file": "response_id",
    "response_id in another wave": "response_id",
    "country not ISO": "country",
    "agency region mismatch": "region",
    "agency country mismatch": "country",
    "wave mismatch": "wave",
}


def _field_of(rule: str) -> str:
    if rule in FIELD_OF_RULE:
        return FIELD_OF_RULE[rule]
    head = rule.split(" ")[0]
    return head if head in CONTRACT or head.startswith(data.ATTR_PREFIX) else "agency"


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def shape_errors(items: list[Any]) -> list[dict[str, Any]]:
    """What the frame cannot hold: non-objects, unknown fields, nested values."""
    errors: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            errors.append({"index": i, "field": "item", "reason": "each item is a JSON object"})
            continue
        for name, value in item.items():
            if name not in CONTRACT and not (
                name.startswith(data.ATTR_PREFIX) and len(name) > len(data.ATTR_PREFIX)
            ):
                errors.append(
                    {"index": i, "field": str(name)[:60], "reason": "not a data-contract column"}
                )
            elif isinstance(value, dict | list):
                errors.append(
                    {"index": i, "field": name, "reason": "must be text, a number or null"}
                )
        for name in ("response_id", "responded_at", "customer_id", "agency", "nps"):
            if item.get(name) is None:
                errors.append({"index": i, "field": name, "reason": f"{name} is empty"})
    return errors


def _wave_column(frame: pl.DataFrame) -> pl.DataFrame:
    """Each item's wave: given, else the quarter of its ``responded_at`` (as
    :func:`cx.capture.surveys.wave_of` with the quarterly cadence)."""
    at = validate.as_datetime("responded_at", pl.String())
    quarter = pl.format("{}-Q{}", at.dt.year(), at.dt.quarter())
    given = pl.col("wave") if "wave" in frame.columns else pl.lit(None, pl.String)
    return frame.with_columns(_wave=pl.coalesce(given, quarter))


def check_items(
    items: list[dict[str, Any]], who: Caller, base: Path
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """``(errors, rows, existing ids)``: validated with the file importer's rules, per wave."""
    names = list(dict.fromkeys(n for item in items for n in item))
    frame = pl.DataFrame(
        {n: [_text(item.get(n)) for item in items] for n in names},
        schema={n: pl.String for n in names},
    ).with_row_index("_index")
    frame = _wave_column(frame)
    ids = frame["response_id"].drop_nulls().unique().to_list()
    existing = existing_ids(base, ids)
    errors: list[dict[str, Any]] = []
    bad_wave = frame.filter(pl.col("_wave").is_null())
    for row in bad_wave.iter_rows(named=True):
        errors.append(
            {
                "index": row["_index"],
                "field": "responded_at",
                "reason": "responded_at is not a date/time",
            }
        )
    fresh = frame.filter(
        pl.col("_wave").is_not_null() & ~pl.col("response_id").is_in(list(existing))
    )
    organisation = validate.org_frame(base)
    mapping = Mapping(survey="api", columns={n: n for n in names if n != "wave"})
    rows: list[dict[str, Any]] = []
    for wave in fresh["_wave"].unique().sort().to_list():
        group = fresh.filter(pl.col("_wave") == wave)
        try:
            data.wave_period(wave)
        except data.DataError as exc:
            errors += [{"index": i, "field": "wave", "reason": str(exc)} for i in group["_index"]]
            continue
        mapped = group.select([n for n in names if n != "wave"])
        index = group["_index"]
        good, bad, _places = validate.validate_rows(
            mapped, Source(mapped, "api"), mapping, wave, "append", base, organisation
        )
        for row in bad.select("_row", "_rule", "_reason").iter_rows(named=True):
            errors.append(
                {
                    "index": int(index[row["_row"] - 1]),
                    "field": _field_of(row["_rule"]),
                    "reason": row["_reason"],
                }
            )
        outside = good.filter(~scope.predicate(who.scope))
        if outside.height:
            first = outside.row(0, named=True)
            raise Problem(
                403,
                f"response {first['response_id']!r} of agency {first['agency']!r} is outside the token's scope",
            )
        rows += rows_of(good)
    return sorted(errors, key=lambda e: (e["index"], e["field"])), rows, sorted(existing)


def existing_ids(base: Path, ids: list[str]) -> set[str]:
    """Which ids the store (answers not folded yet) or the wave files hold already."""
    if not ids:
        return set()
    found: set[str] = set()
    with store.session(engine()) as s:
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            found |= set(
                s.exec(
                    select(SurveyAnswer.response_id).where(col(SurveyAnswer.response_id).in_(chunk))
                )
            )
    files = data.wave_files(base)
    if files:
        held = (
            data.scan_files(files)
            .select(pl.col("response_id").cast(pl.String))
            .filter(pl.col("response_id").is_in(ids))
            .unique()
            .collect()
        )
        found |= set(held["response_id"].to_list())
    return found


def ingest(body: bytes, who: Caller) -> JSONResponse:
    if who.role not in DATA_ADMINS:
        raise Problem(403, f"role {who.role} may not post responses ({', '.join(DATA_ADMINS)})")
    try:
        parsed = json.loads(body)
    except ValueError:
        return JSONResponse(
            {"errors": [{"index": 0, "field": "body", "reason": "the body is not JSON"}]},
            status_code=422,
        )
    items = parsed if isinstance(parsed, list) else [parsed]
    if not items:
        return JSONResponse(
            {"errors": [{"index": 0, "field": "body", "reason": "no response given"}]},
            status_code=422,
        )
    if len(items) > MAX_ITEMS:
        reason = f"{len(items)} responses in one request; at most {MAX_ITEMS}"
        return JSONResponse(
            {"errors": [{"index": MAX_ITEMS, "field": "body", "reason": reason}]}, status_code=422
        )
    errors = shape_errors(items)
    if errors:
        return JSONResponse({"errors": errors[:1000]}, status_code=422)
    found, rows, existing = check_items(items, who, root())
    if found:
        return JSONResponse({"errors": found[:1000]}, status_code=422)
    try:
        stored, already = (
            answers.accept_rows(engine(), rows, source=f"api:{who.name}") if rows else ([], [])
        )
    except answers.AnswerRefused as exc:  # the same ids posted at once by another request
        raise Problem(exc.status, str(exc)) from None
    every = sorted({*existing, *already})
    return JSONResponse({"stored": stored, "existing": every}, status_code=201 if stored else 200)


@app.post(
    "/responses",
    responses={
        200: {"model": StoredOut, "description": "Every response was stored already"},
        201: {"model": StoredOut, "description": "Stored (the new ids) and skipped (existing)"},
        422: {"model": ErrorsOut, "description": "Nothing stored: the bad items"},
        **_errors(400, 401, 403, 409, 413, 429, 500),
    },
    status_code=201,
    response_model=StoredOut,
    openapi_extra={"requestBody": POST_BODY},
    tags=["data"],
)
async def post_responses(request: Request, who: Authed) -> JSONResponse:
    """Store one response or a list (≤ 10,000), all or nothing, idempotent on ``response_id``."""
    body = await request.body()
    if len(body) > MAX_BODY:
        raise Problem(413, f"the body is larger than {MAX_BODY // (1024 * 1024)} MB")
    work: Callable[[], JSONResponse] = lambda: ingest(body, who)  # noqa: E731
    return await run_in_threadpool(work)
