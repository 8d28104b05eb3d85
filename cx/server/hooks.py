"""Webhooks other systems call on us: ``POST /hooks/helpdesk``, the helpdesk's signed update of a
ticket (Zendesk: ``X-Zendesk-Webhook-Signature`` = base64(HMAC-SHA256(secret, timestamp + body))
with ``X-Zendesk-Webhook-Signature-Timestamp``).

A verified callback about a solved ticket resolves the case, a closed one closes it, with the
ticket's comment as the note, through :mod:`cx.loop.cases` as the ``helpdesk`` system user (scope:
the case's agency). A bad or missing signature answers 401 and changes nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from cx import store
from cx.core.scope import Scope
from cx.core.users import User
from cx.loop import cases, helpdesk
from cx.server.signin import engine as store_engine
from cx.store.models import Case

MAX_BODY = 64 * 1024


def system_user(case: Any) -> User:
    """The helpdesk acting on one case: a case worker whose scope is the case's place."""
    place = (
        f"agency:{case.agency}"
        if case.agency
        else f"country:{case.country}"
        if case.country
        else f"region:{case.region}"
        if case.region
        else "world"
    )
    return User(
        username=helpdesk.SYSTEM_USER,
        name="Helpdesk",
        email="",
        roles=("advisor",),
        scope=Scope.parse(place),
    )


def apply_callback(engine: Engine, callback: helpdesk.Callback) -> dict[str, Any]:
    """Bring the case in line with the ticket's status; what was done, for the answer."""
    with store.session(engine) as s:
        case_id = helpdesk.case_of(s, callback)
        case = None if case_id is None else s.get(Case, case_id)
        if case is None or case.id is None:
            raise helpdesk.HelpdeskError("no case for this ticket")
        action = helpdesk.STATUS_ACTIONS.get(callback.status)
        done: list[str] = []
        user = system_user(case)
        note = callback.comment or f"{callback.status.capitalize()} in the helpdesk"
        if action is not None and case.status in cases.OPEN_STATUSES:
            if not case.solution:
                case = cases.record_solution(
                    s, user, case.id, expected_version=case.version, solution=note
                )
                done.append("solution")
            assert case.id is not None
            case = cases.resolve(s, user, case.id, expected_version=case.version, note=note)
            done.append("resolved")
        if action == "close" and case.status == "resolved":
            assert case.id is not None
            case = cases.close(s, user, case.id, expected_version=case.version, note=note)
            done.append("closed")
        assert case.id is not None
        helpdesk.record_status(s, case.id, callback.status)
        s.commit()
        return {"case": case.id, "status": case.status, "done": done}


async def helpdesk_hook(request: Request) -> Response:
    settings = helpdesk.HelpdeskSettings.from_env()
    if settings is None:
        return JSONResponse({"error": "no helpdesk is configured"}, status_code=404)
    body = await request.body()
    if len(body) > MAX_BODY:
        return JSONResponse({"error": "body too large"}, status_code=413)
    if not helpdesk.verified(
        settings.secret,
        request.headers.get("x-zendesk-webhook-signature-timestamp"),
        body,
        request.headers.get("x-zendesk-webhook-signature"),
    ):
        return JSONResponse({"error": "bad or missing signature"}, status_code=401)
    try:
        callback = helpdesk.parse_callback(body)
        done = await run_in_threadpool(apply_callback, store_engine(), callback)
    except (helpdesk.HelpdeskError, cases.CaseError) as exc:
        return JSONResponse({"error": str(exc)}, status_code=422)
    except store.StaleEdit as exc:
        return JSONResponse({"error": str(exc)}, status_code=409)
    return JSONResponse(done)


ROUTES: list[BaseRoute] = [Route("/hooks/helpdesk", helpdesk_hook, methods=["POST"])]
