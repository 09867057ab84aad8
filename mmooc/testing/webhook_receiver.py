"""A real HTTP server on 127.0.0.1 that receives outgoing webhooks, for the tests.

It keeps every request it is sent and answers from a script: `answers` holds what to do with
the next requests (an HTTP status, or HANG: keep the connection open without answering until
the test ends), then `default` for the rest.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HANG = "hang"


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class WebhookReceiver:
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.answers: list[int | str] = []
        self.default: int | str = 200
        self.released = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802  (the name http.server calls)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                answer = receiver._record(Request(self.path, dict(self.headers.items()), body))
                if answer == HANG:
                    receiver.released.wait(30)
                    return
                assert isinstance(answer, int)
                self.send_response(answer)
                if 300 <= answer < 400:
                    self.send_header("Location", "http://example.org/elsewhere")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _record(self, request: Request) -> int | str:
        with self._lock:
            self.requests.append(request)
            return self.answers.pop(0) if self.answers else self.default

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/in"

    def events(self) -> list[dict[str, Any]]:
        return [r.json for r in self.requests]

    def start(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()
