"""A minimal OpenID Connect provider on loopback (authorization code flow with PKCE), following
the shapes of OpenID Connect Core 1.0 and Discovery 1.0: the discovery document, ``/authorize``
(signs the configured person in at once and redirects back), ``/token`` (checks the code, the
client secret and the PKCE verifier, returns an RS256 ``id_token``), ``/jwks`` and
``/userinfo``. Only for tests: the app is the relying party under test."""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

import uvicorn
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.support.net import free_port, wait_for_port

CLIENT_ID, CLIENT_SECRET = "cx-review", "client-secret-for-the-test-provider"


class Provider:
    def __init__(self, port: int, person: dict[str, Any]) -> None:
        self.issuer = f"http://127.0.0.1:{port}"
        self.person = person
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key"})
        self.codes: dict[str, dict[str, Any]] = {}
        self.tokens_issued = 0

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
                Route("/jwks", self.jwks),
                Route("/userinfo", self.userinfo),
            ]
        )

    async def discovery(self, request: Request) -> Response:
        i = self.issuer
        return JSONResponse(
            {
                "issuer": i,
                "authorization_endpoint": f"{i}/authorize",
                "token_endpoint": f"{i}/token",
                "jwks_uri": f"{i}/jwks",
                "userinfo_endpoint": f"{i}/userinfo",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "scopes_supported": ["openid", "email", "profile"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                ],
            }
        )

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        if q.get("client_id") != CLIENT_ID or q.get("response_type") != "code":
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        code = secrets.token_urlsafe(16)
        self.codes[code] = {
            "nonce": q.get("nonce"),
            "redirect_uri": q.get("redirect_uri"),
            "challenge": q.get("code_challenge"),
        }
        back = {"code": code, "state": q.get("state", "")}
        return RedirectResponse(f"{q['redirect_uri']}?{urlencode(back)}", status_code=302)

    async def token(self, request: Request) -> Response:
        form = await request.form()
        auth = request.headers.get("authorization", "")
        client = (form.get("client_id"), form.get("client_secret"))
        if auth.startswith("Basic "):
            client = tuple(base64.b64decode(auth[6:]).decode().split(":", 1))  # type: ignore[assignment]
        grant = self.codes.pop(str(form.get("code")), None)
        if client != (CLIENT_ID, CLIENT_SECRET) or grant is None:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        verifier = str(form.get("code_verifier") or "")
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
        if grant["challenge"] and digest.decode() != grant["challenge"]:
            return JSONResponse({"error": "invalid_grant", "error_description": "PKCE"}, 400)
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "sub": self.person["email"],
            "iat": now,
            "exp": now + 600,
            "nonce": grant["nonce"],
            **self.person,
        }
        id_token = jwt.encode({"alg": "RS256", "kid": "test-key"}, claims, self.key)
        self.tokens_issued += 1
        return JSONResponse(
            {
                "access_token": secrets.token_urlsafe(16),
                "token_type": "Bearer",
                "expires_in": 600,
                "id_token": id_token,
            }
        )

    async def jwks(self, request: Request) -> Response:
        return JSONResponse({"keys": [self.key.as_dict(private=False)]})

    async def userinfo(self, request: Request) -> Response:
        return JSONResponse({"sub": self.person["email"], **self.person})


@contextmanager
def oidc_provider(person: dict[str, Any]) -> Iterator[Provider]:
    """Run the provider on a free loopback port in a thread; stop it afterwards."""
    port = free_port()
    provider = Provider(port, person)
    server = uvicorn.Server(
        uvicorn.Config(provider.app(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for_port(port, timeout=30)
    try:
        yield provider
    finally:
        server.should_exit = True
        thread.join(timeout=10)
