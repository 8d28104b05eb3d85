"""HTTP receivers on loopback for the outgoing integrations: a webhook / Slack / Teams receiver
that records every request (it can be slow or down), and a fake Zendesk following the documented
``POST /api/v2/tickets.json`` and ``PUT /api/v2/tickets/{id}.json`` shapes."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """What the receiver got; ``status`` (e.g. 503: down) and ``delay`` set how it answers."""

    url: str = ""
    status: int = 200
    delay: float = 0.0
    answer: bytes = b"{}"
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def accepted(self) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.headers.get("x-answered") == "2xx"]


def _serve(handler: type[BaseHTTPRequestHandler]) -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@contextmanager
def receiver(delay: float = 0.0) -> Iterator[Receiver]:
    """A JSON receiver on a free loopback port that keeps every request."""
    rec = Receiver(delay=delay)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            arrived = time.monotonic()
            if rec.delay:
                time.sleep(rec.delay)
            status = rec.status
            headers["x-answered"] = "2xx" if status < 300 else str(status)
            with rec.lock:
                rec.requests.append(Request("POST", self.path, headers, body, arrived))
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(rec.answer)))
                self.end_headers()
                self.wfile.write(rec.answer)
            except OSError:  # the sender gave up (timeout)
                pass

        def log_message(self, *args: Any) -> None:
            pass

    server, rec.url = _serve(Handler)
    try:
        yield rec
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class FakeZendesk:
    url: str = ""
    email: str = "agent@cx-demo.example"
    token: str = "zd-token"
    tickets: dict[int, dict[str, Any]] = field(default_factory=dict)
    updates: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextmanager
def fake_zendesk() -> Iterator[FakeZendesk]:
    """Zendesk's Tickets API on loopback: basic auth ``email/token:token``, 201 with the ticket."""
    zd = FakeZendesk()

    class Handler(BaseHTTPRequestHandler):
        def _authorised(self) -> bool:
            expected = base64.b64encode(f"{zd.email}/token:{zd.token}".encode()).decode()
            if self.headers.get("Authorization") != f"Basic {expected}":
                self._answer(401, {"error": "Couldn't authenticate you"})
                with zd.lock:
                    zd.refused.append(self.path)
                return False
            return True

        def _answer(self, status: int, value: Any) -> None:
            out = json.dumps(value).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def _body(self) -> Any:
            return json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

        def do_POST(self) -> None:  # noqa: N802
            if self.path != "/api/v2/tickets.json":
                return self._answer(404, {"error": "InvalidEndpoint"})
            if not self._authorised():
                return None
            ticket = self._body()["ticket"]
            if not ticket.get("comment", {}).get("body"):
                return self._answer(422, {"error": "RecordInvalid"})
            with zd.lock:
                number = len(zd.tickets) + 1
                zd.tickets[number] = {"id": number, "status": "new", **ticket}
                stored = zd.tickets[number]
            return self._answer(201, {"ticket": stored})

        def do_PUT(self) -> None:  # noqa: N802
            found = re.fullmatch(r"/api/v2/tickets/(\d+)\.json", self.path)
            if found is None:
                return self._answer(404, {"error": "InvalidEndpoint"})
            if not self._authorised():
                return None
            number = int(found.group(1))
            if number not in zd.tickets:
                return self._answer(404, {"error": "RecordNotFound"})
            with zd.lock:
                zd.updates.append((number, self._body()["ticket"]))
            return self._answer(200, {"ticket": zd.tickets[number]})

        def log_message(self, *args: Any) -> None:
            pass

    server, zd.url = _serve(Handler)
    try:
        yield zd
    finally:
        server.shutdown()
        server.server_close()
