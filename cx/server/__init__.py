"""The one server's parts: its route groups and middleware, assembled by ``app.py`` (the module
that builds Streamlit's ``st.App`` beside the dashboards script ``dashboard.py``).

Each capability that answers HTTP adds its route group to :data:`ROUTE_GROUPS`: sign-in now,
survey pages and the REST API after it. :func:`check` runs before the server starts serving.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from cx.core import keys
from cx.server import signin

ROUTE_GROUPS: dict[str, list[BaseRoute]] = {"signin": list(signin.ROUTES)}


def routes() -> list[BaseRoute]:
    return [route for group in ROUTE_GROUPS.values() for route in group]


def middleware() -> list[Middleware]:
    return [Middleware(signin.SessionGate)]


def secrets() -> dict[str, Any] | None:
    """The secrets of ``CX_SECRETS_FILE`` handed to Streamlit (``st.login`` reads its ``[auth]``);
    None: Streamlit reads its own ``.streamlit/secrets.toml``."""
    return keys.read_secrets() if os.environ.get("CX_SECRETS_FILE") else None


def check() -> None:
    """Refuse to start with a weak signing key: one line, exit status 2."""
    try:
        keys.signing_key()
    except keys.KeyProblem as exc:
        print(f"cx: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
