"""Scripted faults: what ``FakePlateRecognizer.fail_next`` queues."""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Literal

from aiohttp import web

from .constants import (
    BAD_GATEWAY_BODY,
    GARBAGE_BODY,
    GATEWAY_TIMEOUT_BODY,
    INVALID_TOKEN_BODY,
    NOT_FOUND_BODY,
    PAYLOAD_TOO_LARGE_BODY,
    SERVER_ERROR_BODY,
    SERVICE_UNAVAILABLE_BODY,
    WRONG_SHAPE_BODY,
    throttled_body,
)

type FaultKind = int | Literal["garbage", "drop", "timeout-ish", "wrong-shape"]
type Endpoint = Literal["plate-reader", "statistics", "info", "any"]

SPECIAL_FAULTS: frozenset[str] = frozenset({"garbage", "drop", "timeout-ish", "wrong-shape"})
ENDPOINTS: frozenset[str] = frozenset({"plate-reader", "statistics", "info", "any"})

# Default bodies per status: what the real service or its proxy answers.
_DEFAULT_BODIES: dict[int, Any] = {
    403: INVALID_TOKEN_BODY,
    404: NOT_FOUND_BODY,
    413: PAYLOAD_TOO_LARGE_BODY,
    429: throttled_body(1),
    500: SERVER_ERROR_BODY,
    502: BAD_GATEWAY_BODY,
    503: SERVICE_UNAVAILABLE_BODY,
    504: GATEWAY_TIMEOUT_BODY,
}


def dump_json(body: Any) -> bytes:
    """Compact JSON, as Django REST framework renders it."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON answer."""
    return web.Response(
        status=status, body=dump_json(body), content_type="application/json", headers=headers
    )


def html_response(status: int, text: str) -> web.Response:
    """An HTML page, as a proxy or Django's error handler sends."""
    return web.Response(status=status, text=text, content_type="text/html")


@dataclass(frozen=True, slots=True)
class Fault:
    """One queued fault; ``body``/``content_type`` None mean the kind's default."""

    kind: FaultKind
    endpoint: Endpoint
    body: Any = None
    content_type: str | None = None

    @property
    def label(self) -> str:
        """How the fault is named in ``RecordedRequest.fault``."""
        return str(self.kind)

    def response(self) -> web.Response:
        """The HTTP answer for a status, ``garbage`` or ``wrong-shape`` fault."""
        if self.kind == "garbage":
            body = GARBAGE_BODY if self.body is None else self.body
            return self._custom(200, body, self.content_type or "application/json")
        if self.kind == "wrong-shape":
            return self._custom(200, WRONG_SHAPE_BODY if self.body is None else self.body)
        assert isinstance(self.kind, int)
        status = self.kind
        if self.body is None:
            body = _DEFAULT_BODIES.get(status, {"detail": HTTPStatus(status).phrase})
            headers = {"Retry-After": "1"} if status == 429 else None
            if isinstance(body, str):
                return html_response(status, body)
            return json_response(status, body, headers)
        return self._custom(status, self.body)

    def _custom(self, status: int, body: Any, content_type: str | None = None) -> web.Response:
        content_type = content_type or self.content_type
        if isinstance(body, bytes):
            return web.Response(
                status=status, body=body, content_type=content_type or "application/octet-stream"
            )
        if isinstance(body, str):
            return web.Response(status=status, text=body, content_type=content_type or "text/html")
        return web.Response(
            status=status, body=dump_json(body), content_type=content_type or "application/json"
        )


class FaultQueue:
    """Faults in the order they were scripted; each endpoint takes its own in order."""

    def __init__(self) -> None:
        self._queue: deque[Fault] = deque()
        # run_in_thread() serves from another thread while the test thread scripts faults.
        self._lock = threading.Lock()

    def add(self, fault: Fault, times: int) -> None:
        """Queue ``fault`` for the next ``times`` matching requests."""
        if isinstance(fault.kind, int):
            if not 400 <= fault.kind <= 599:
                raise ValueError(f"fault status must be 4xx or 5xx, got {fault.kind}")
        elif fault.kind not in SPECIAL_FAULTS:
            raise ValueError(f"unknown fault {fault.kind!r}; use a status or {SPECIAL_FAULTS}")
        if fault.endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {fault.endpoint!r}; use one of {ENDPOINTS}")
        if times < 1:
            raise ValueError(f"times must be at least 1, got {times}")
        with self._lock:
            self._queue.extend([fault] * times)

    def take(self, endpoint: Endpoint) -> Fault | None:
        """Remove and return the first fault for ``endpoint`` (or for any endpoint)."""
        with self._lock:
            for index, fault in enumerate(self._queue):
                if fault.endpoint in (endpoint, "any"):
                    del self._queue[index]
                    return fault
        return None

    def __len__(self) -> int:
        return len(self._queue)

    def clear(self) -> None:
        """Drop every queued fault."""
        with self._lock:
            self._queue.clear()
