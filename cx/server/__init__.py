"""The one server's parts: its route groups and middleware, assembled by ``app.py`` (the module
that builds Streamlit's ``st.App`` beside the dashboards script ``dashboard.py``).

Each capability that answers HTTP adds its route group to :data:`ROUTE_GROUPS`: sign-in, the
survey pages (the REST API after them). :func:`check` runs before the server starts serving;
:func:`start_workers` starts the background work (answer loop and fold, outbox sender).
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from typing import Any

from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from cx.capture import links, posters, surveys
from cx.core import keys, org, users
from cx.core.data import data_dir
from cx.server import api, hooks, signin, survey, workers

ROUTE_GROUPS: dict[str, list[BaseRoute]] = {
    "signin": list(signin.ROUTES),
    "survey": list(survey.ROUTES),
    "api": api.ROUTES,
    "hooks": hooks.ROUTES,
}


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


def no_delay() -> int:
    """Turn Nagle's algorithm off on this process's listening TCP sockets; the connections they
    accept inherit it (Linux). Streamlit binds its socket without naming the protocol, so
    asyncio does not set ``TCP_NODELAY`` on accepted connections: every response after the
    first on a kept-alive connection then waited for the client's delayed ACK (≈ 40 ms; 2.6 ms
    → 44 ms per survey page). Returns how many sockets were changed."""
    changed = 0
    fds = Path("/proc/self/fd")
    for entry in fds.iterdir() if fds.is_dir() else ():
        try:
            copy = os.dup(int(entry.name))
        except (ValueError, OSError):
            continue
        try:
            sock = socket.socket(fileno=copy)
        except OSError:  # not a socket
            os.close(copy)
            continue
        with sock:
            try:
                if (
                    sock.family in (socket.AF_INET, socket.AF_INET6)
                    and sock.type == socket.SOCK_STREAM
                    and sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
                ):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    changed += 1
            except OSError:
                continue
    return changed


def start_workers() -> object:
    """The capture worker of the data folder, in a child process (``CX_CAPTURE_WORKER=thread``:
    a thread of this process instead, e.g. where processes cannot be started; ``off``: none, for
    the replicas of a deployment whose one worker runs elsewhere as
    ``python -m cx.server.workers --data DIR``)."""
    mode = os.environ.get("CX_CAPTURE_WORKER", "process")
    if mode == "off":
        return None
    if mode == "thread":
        return workers.capture(data_dir(), signin.engine())
    return workers.spawn(data_dir())


DEMO_AGENCY = "Madrid"


def prepare_capture(root: Path | None = None) -> str | None:
    """Make sure a survey exists (the default one on a new folder); on the demo, write the QR
    poster of Madrid's counter (``<data>/posters/madrid-qr.pdf``) and say where to answer."""
    root = root or data_dir()
    try:
        survey = surveys.ensure_default(root)
    except (surveys.SurveyError, OSError) as exc:  # the dashboards still start
        return f"the survey pages cannot open: {exc}"
    if not users.demo_mode(root):
        return None
    organisation = org.load(root)
    if organisation.agency(DEMO_AGENCY) is None:
        return None
    url = links.absolute_url(links.open_link(survey.id, DEMO_AGENCY, "qr"))
    poster = root / "posters" / "madrid-qr.pdf"
    if not poster.exists():
        posters.write(url, poster, agency=DEMO_AGENCY, languages=("es", "en"))
    return f"survey of the {DEMO_AGENCY} agency: {url} (QR poster: {poster})"
