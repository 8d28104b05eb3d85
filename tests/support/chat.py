"""A fake Telegram Bot API on loopback (the documented ``POST /bot<token>/sendMessage`` shape):
it keeps every message it accepts."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class ChatLog:
    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Lock()

    def texts(self) -> list[str]:
        with self.lock:
            return [str(body.get("text", "")) for _, body in self.posts]


@contextmanager
def fake_telegram() -> Iterator[tuple[ChatLog, str]]:
    """Serve the fake API on a free loopback port: its log and its base URL."""
    log = ChatLog()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with log.lock:
                log.posts.append((self.path, body))
                n = len(log.posts)
            out = json.dumps({"ok": True, "result": {"message_id": n}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield log, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
