"""Small HTTP stand-ins served from a thread: Frigate's snapshot API and a gate.

They use `http.server` (no event loop to share with the test) and are stopped, their
threads joined, before the test ends: the Home Assistant pytest plugin fails a test that
leaves a thread behind.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        return json.loads(self.body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = True  # server_close() joins the request threads


class RecordingServer:
    """Serves `respond(request) -> (status, content_type, body)`; records every request."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def respond(self, request: Request) -> tuple[int, str, bytes]:
        return 200, "application/json", b'{"ok": true}'

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError(f"{self.name} is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                request = Request(
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    dict(self.headers.items()),
                    self.rfile.read(length) if length else b"",
                )
                with owner._lock:
                    owner.requests.append(request)
                status, content_type, body = owner.respond(request)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name=self.name
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(10)
        self._server = self._thread = None

    def received(self, method: str | None = None, path: str | None = None) -> list[Request]:
        with self._lock:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method) and (path is None or r.path == path)
            ]

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class FrigateStub(RecordingServer):
    """Frigate's HTTP API as the bridge uses it: version, event snapshots, latest frames,
    and the write-backs (`POST /api/events/<id>/sub_label`, `.../recognized_license_plate`).
    """

    def __init__(self, image: bytes, version: str = "0.15.1-e2e") -> None:
        super().__init__("frigate-stub")
        self.image = image
        self.version = version

    def respond(self, request: Request) -> tuple[int, str, bytes]:
        if request.path == "/api/version":
            return 200, "text/plain", self.version.encode()
        if request.path.endswith("/snapshot.jpg") or request.path.endswith("/latest.jpg"):
            return 200, "image/jpeg", self.image
        if request.method == "POST" and request.path.startswith("/api/events/"):
            return 200, "application/json", b'{"success": true, "message": "ok"}'
        return 404, "application/json", b'{"message": "not found"}'


class Gate(RecordingServer):
    """The HTTP endpoint that stands in for a gate controller: answers 200, records."""

    def __init__(self) -> None:
        super().__init__("gate")
