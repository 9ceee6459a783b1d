"""The fake Plate Recognizer Snapshot API server (cloud or on-premise flavour)."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import re
import sys
import time
from collections.abc import Awaitable, Callable, Collection
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Literal, Self

from aiohttp import web

from .constants import (
    DEFAULT_TOKEN,
    DEFAULT_TOTAL_CALLS,
    HANG_SECONDS,
    INFO_PATH,
    INVALID_TOKEN_BODY,
    LICENSE_KEY,
    NO_CREDITS_BODY,
    NOT_FOUND_BODY,
    ONPREM_MISSING_CAMERA_ID,
    PAYLOAD_TOO_LARGE_BODY,
    PLATE_READER_PATH,
    SDK_VERSION,
    SERVER_ERROR_BODY,
    STATISTICS_PATH,
    method_not_allowed_body,
    throttled_body,
)
from .faults import Endpoint, Fault, FaultKind, FaultQueue, html_response, json_response
from .form import BadRequest, parse_content_type
from .ratelimit import SlidingWindowLimiter
from .records import RecordedRequest
from .shapes import (
    Result,
    apply_engine_config,
    cloud_body,
    cloud_timestamp,
    default_results,
    info_body,
    onprem_body,
    onprem_timestamp,
    statistics_body,
    to_plate_mode,
    to_vehicle_mode,
)
from .validation import image_extension, validate_request

type Mode = Literal["cloud", "onprem"]
type Responder = Callable[[RecordedRequest], list[Result] | Awaitable[list[Result]]]

_TOKEN_RE = re.compile(r"^Token (\S+)$")
_CORS_PREFLIGHT_HEADERS = (
    "accept, accept-encoding, authorization, content-type, dnt, origin, user-agent, "
    "x-csrftoken, x-requested-with"
)
# The filename prefix code: 36**5 five-character codes, visited in a scrambled order by a
# multiplier coprime with 36 so consecutive requests get unalike codes like "7M83K".
_CODE_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_CODE_SPACE = 36**5


def _filename_code(serial: int) -> str:
    value = (serial * 2654435761) % _CODE_SPACE
    chars = []
    for _ in range(5):
        value, digit = divmod(value, 36)
        chars.append(_CODE_ALPHABET[digit])
    return "".join(chars)


class FakePlateRecognizer:
    """A strict, fast stand-in for the Snapshot API, served over real HTTP on 127.0.0.1.

    Usage (inside any running asyncio loop)::

        async with FakePlateRecognizer() as fake:           # cloud, token "test-token"
            r = await client.post(fake.url + "/v1/plate-reader/", ...)
            assert fake.requests[-1].regions == ["gb"]

    Endpoints: ``POST /v1/plate-reader/`` in both modes; ``GET /v1/statistics/`` in cloud
    mode; ``GET /info/`` in on-premise mode; each also without its trailing slash.
    Anything else answers 404 ``{"detail":"Not found."}``.

    Order of checks on the recognition endpoint (the real service's layers, outermost
    first): scripted fault, 413 (the proxy's size limit), 403 invalid token (cloud),
    405 for a method other than POST, 403 no credits (``calls >= total_calls``), 429 throttle
    (cloud, ``rate_limit``), 400 validation, then the responder and 200.  ``delay`` is
    waited before every answer, errors included, on every endpoint.

    Attributes (all may be changed between requests, also from another thread when the
    server runs in ``run_in_thread``):
        mode: ``"cloud"`` or ``"onprem"`` (fixed at construction).
        tokens: the accepted API tokens (cloud); on-premise ignores ``Authorization``.
        requests: every request to the recognition endpoint except CORS preflights.
        calls: successful (200) recognition calls; statistics and ``/info/`` report it.
        total_calls: the quota; at ``calls >= total_calls`` recognition answers 403 with
            ``NO_CREDITS_BODY`` (both modes: the SDK licence has a quota too).
        rate_limit: cloud lookups per second per token, None for unlimited.  Counted over a
            sliding window of requests admitted by the throttle (a 400 still used a slot,
            as with Django REST framework's throttles).
        max_upload_bytes: request bodies larger than this get 413; None for no limit.
        delay: seconds to wait before each answer (a slow server).
        hang_seconds: how long a ``"timeout-ish"`` fault holds the request (or until stop).
        clock: the throttle's clock, ``time.monotonic`` by default; a test may put its own
            (``fake.clock = lambda: now[0]``) to move time without sleeping, so that a
            throttling test does not depend on how fast the machine sends requests.
        responder: ``(RecordedRequest) -> list[plate-mode result]`` (or an awaitable of
            it); None for ``default_results``.  It sees only valid requests.  If it raises,
            the client gets a 500 and the exception is appended to ``errors``.
        statistics_requests, info_requests: how many times those endpoints were hit.
        errors: exceptions raised by the responder.
    """

    def __init__(
        self,
        *,
        mode: Mode = "cloud",
        tokens: Collection[str] = (DEFAULT_TOKEN,),
        total_calls: int = DEFAULT_TOTAL_CALLS,
        calls: int = 0,
        rate_limit: float | None = None,
        max_upload_bytes: int | None = None,
        delay: float = 0.0,
        responder: Responder | None = None,
        sdk_version: str = SDK_VERSION,
        license_key: str = LICENSE_KEY,
    ) -> None:
        if mode not in ("cloud", "onprem"):
            raise ValueError(f"mode must be 'cloud' or 'onprem', got {mode!r}")
        if isinstance(tokens, str):
            raise TypeError("tokens must be a collection of strings, not one string")
        self.mode: Mode = mode
        self.tokens: set[str] = set(tokens)
        self.total_calls = total_calls
        self.calls = calls
        self.rate_limit = rate_limit
        self.max_upload_bytes = max_upload_bytes
        self.delay = delay
        self.hang_seconds = HANG_SECONDS
        self.clock: Callable[[], float] = time.monotonic
        self.responder = responder
        self.sdk_version = sdk_version
        self.license_key = license_key
        self.requests: list[RecordedRequest] = []
        self.statistics_requests = 0
        self.info_requests = 0
        self.errors: list[BaseException] = []
        self._faults = FaultQueue()
        self._limiter = SlidingWindowLimiter()
        self._serial = 0
        self._runner: web.AppRunner | None = None
        self._stopping: asyncio.Event | None = None
        self._url: str | None = None

    # --- lifecycle -------------------------------------------------------------------

    async def start(self, port: int = 0) -> None:
        """Serve on 127.0.0.1 in the running event loop; ``port`` 0 picks a free one."""
        if self._runner is not None:
            raise RuntimeError("FakePlateRecognizer is already started")
        # Bodies are size-checked by the handler (to answer the API's 413), not by aiohttp.
        app = web.Application(client_max_size=sys.maxsize)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=2.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, "127.0.0.1", port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        bound_port = runner.addresses[0][1]
        self._stopping = asyncio.Event()
        self._runner = runner
        self._url = f"http://127.0.0.1:{bound_port}"

    async def stop(self) -> None:
        """Release hung requests, close every connection and the listening socket.

        ``url`` keeps naming the now closed port, handy to test "connection refused".
        """
        if self._stopping is not None:
            self._stopping.set()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """Base URL without trailing slash, e.g. ``http://127.0.0.1:41234``."""
        if self._url is None:
            raise RuntimeError("FakePlateRecognizer is not started")
        return self._url

    @property
    def recognition_url(self) -> str:
        """``url`` + ``/v1/plate-reader/``."""
        return self.url + PLATE_READER_PATH

    @property
    def statistics_url(self) -> str:
        """``url`` + ``/v1/statistics/`` (cloud mode)."""
        return self.url + STATISTICS_PATH

    @property
    def info_url(self) -> str:
        """``url`` + ``/info/`` (on-premise mode)."""
        return self.url + INFO_PATH

    # --- scripting -------------------------------------------------------------------

    def fail_next(
        self,
        status: FaultKind,
        times: int = 1,
        body: Any = None,
        *,
        content_type: str | None = None,
        endpoint: Endpoint = "plate-reader",
    ) -> None:
        """Make the next ``times`` requests to ``endpoint`` fail; faults queue in order.

        ``status`` is an HTTP status (4xx/5xx) or one of:
            ``"garbage"``: 200 with a non-JSON body labelled ``application/json``;
            ``"wrong-shape"``: 200 with JSON of the wrong shape (``WRONG_SHAPE_BODY``);
            ``"drop"``: the connection is closed without any response;
            ``"timeout-ish"``: no answer for ``hang_seconds`` (or until ``stop()``), then
            the connection is closed.
        ``body`` replaces the default body: dict/list are sent as JSON, str as text/html,
        bytes as application/octet-stream, unless ``content_type`` says otherwise.  Default
        bodies are the real ones: 403 ``INVALID_TOKEN_BODY`` (pass
        ``body=NO_CREDITS_BODY`` for the other 403), 413/502/503/504 nginx pages, 429
        ``throttled_body(1)`` with ``Retry-After: 1``, 500 Django's error page.
        ``endpoint`` is ``"plate-reader"``, ``"statistics"``, ``"info"`` or ``"any"``.
        A faulted request is recorded (``RecordedRequest.fault``) but does not count as a
        call nor use a rate-limit slot.
        """
        self._faults.add(Fault(status, endpoint, body, content_type), times)

    @property
    def pending_faults(self) -> int:
        """How many scripted faults are still queued."""
        return len(self._faults)

    @property
    def last_request(self) -> RecordedRequest:
        """The most recent recognition request."""
        if not self.requests:
            raise LookupError("the fake has received no recognition request")
        return self.requests[-1]

    def reset(self) -> None:
        """Forget requests, calls, faults, throttle history and errors."""
        self.requests.clear()
        self.calls = 0
        self.statistics_requests = 0
        self.info_requests = 0
        self.errors.clear()
        self._faults.clear()
        self._limiter.reset()

    # --- HTTP ------------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        # The real API answers with or without the trailing slash (see its curl example).
        key = path[:-1] if path.endswith("/") and len(path) > 1 else path
        if key == "/v1/plate-reader":
            return await self._plate_reader(request)
        if key == "/v1/statistics" and self.mode == "cloud":
            self.statistics_requests += 1
            return await self._status_endpoint(request, "statistics")
        if key == "/info" and self.mode == "onprem":
            self.info_requests += 1
            return await self._status_endpoint(request, "info")
        await self._pause()
        return json_response(404, NOT_FOUND_BODY)

    async def _plate_reader(self, request: web.Request) -> web.StreamResponse:
        if request.method == "OPTIONS":
            return self._preflight(request)
        rec = RecordedRequest(
            method=request.method,
            path=request.path,
            headers={name.lower(): value for name, value in request.headers.items()},
            token=self._token_of(request),
            content_type=parse_content_type(request.headers.get("Content-Type"))[0],
            query=request.query_string,
            received_at=time.time(),
        )
        self.requests.append(rec)
        body = await request.read()
        rec.body_size = len(body)
        # Parse before the fault and auth checks so even refused requests are recorded
        # in full; the problem is only reported at its turn in the check order.
        problem: str | None = None
        if request.method == "POST":
            try:
                validate_request(rec, request.headers.get("Content-Type"), body)
            except BadRequest as exc:
                problem = str(exc)

        fault = self._faults.take("plate-reader")
        if fault is not None:
            rec.fault = fault.label
            response = await self._fault_response(fault)
        else:
            response = await self._recognize(rec, problem)
            await self._pause()
        if response is None:
            return self._drop(request)
        rec.status = response.status
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response

    async def _recognize(self, rec: RecordedRequest, problem: str | None) -> web.Response:
        if self.max_upload_bytes is not None and rec.body_size > self.max_upload_bytes:
            return html_response(413, PAYLOAD_TOO_LARGE_BODY)
        if not self._authorized(rec.token):
            return json_response(403, INVALID_TOKEN_BODY)
        if rec.method != "POST":
            return json_response(
                405, method_not_allowed_body(rec.method), {"Allow": "POST, OPTIONS"}
            )
        if self.calls >= self.total_calls:
            return json_response(403, NO_CREDITS_BODY)
        if self.mode == "cloud" and self.rate_limit is not None:
            assert rec.token is not None  # _authorized() demands one in cloud mode
            wait = self._limiter.check(rec.token, self.rate_limit, self.clock())
            if wait is not None:
                return json_response(429, throttled_body(wait), {"Retry-After": str(wait)})
        if problem is not None:
            rec.error = problem
            return json_response(400, {"error": problem})
        try:
            body = await self._answer(rec)
        except Exception as exc:
            # A broken responder is a test bug: keep it visible, answer like Django would.
            self.errors.append(exc)
            rec.error = f"responder failed: {exc!r}"
            return html_response(500, SERVER_ERROR_BODY)
        self.calls += 1
        rec.response = body
        return json_response(200, body)

    async def _answer(self, rec: RecordedRequest) -> Result:
        produced = (self.responder or default_results)(rec)
        results = await produced if inspect.isawaitable(produced) else produced
        config = rec.config or {}
        results = apply_engine_config(results, config, rec.regions)
        mmc = rec.mmc is True
        vehicle_mode = config.get("detection_mode") == "vehicle"
        shaped = (
            to_vehicle_mode(results, mmc=mmc) if vehicle_mode else to_plate_mode(results, mmc=mmc)
        )
        now = datetime.now(UTC)
        filename = self._base_filename(rec)
        if self.mode == "cloud":
            self._serial += 1
            return cloud_body(
                shaped,
                vehicle_mode=vehicle_mode,
                filename=f"{now:%H%M}_{_filename_code(self._serial)}_{filename}",
                camera_id=rec.camera_id,
                timestamp=rec.timestamp or cloud_timestamp(now),
            )
        return onprem_body(
            shaped,
            calls=self.calls + 1,  # this call included, as the SDK reports it
            max_calls=self.total_calls,
            filename=filename,
            camera_id=rec.camera_id or ONPREM_MISSING_CAMERA_ID,
            timestamp=rec.timestamp or onprem_timestamp(now),
        )

    @staticmethod
    def _base_filename(rec: RecordedRequest) -> str:
        if rec.filename:
            return rec.filename
        extension = image_extension(rec.upload or b"") or "jpg"
        return f"upload.{extension}"

    async def _status_endpoint(
        self, request: web.Request, endpoint: Literal["statistics", "info"]
    ) -> web.StreamResponse:
        await request.read()
        fault = self._faults.take(endpoint)
        if fault is not None:
            response = await self._fault_response(fault)
            return self._drop(request) if response is None else response
        await self._pause()
        if not self._authorized(self._token_of(request)):
            return json_response(403, INVALID_TOKEN_BODY)
        if request.method != "GET":
            return json_response(405, method_not_allowed_body(request.method), {"Allow": "GET"})
        if endpoint == "statistics":
            return json_response(
                200,
                statistics_body(
                    calls=self.calls, total_calls=self.total_calls, now=datetime.now(UTC)
                ),
            )
        return json_response(
            200,
            info_body(
                calls=self.calls,
                total_calls=self.total_calls,
                version=self.sdk_version,
                license_key=self.license_key,
            ),
        )

    async def _fault_response(self, fault: Fault) -> web.Response | None:
        """The fault's answer, or None when the connection must be dropped instead."""
        if fault.kind == "timeout-ish":
            await self._sleep(self.hang_seconds)
            return None
        await self._pause()
        if fault.kind == "drop":
            return None
        return fault.response()

    @staticmethod
    def _drop(request: web.Request) -> web.StreamResponse:
        transport = request.transport
        if transport is not None:
            transport.close()
        # Never sent: aiohttp finds the transport closing and gives up quietly.
        return web.Response(status=204)

    @staticmethod
    def _preflight(request: web.Request) -> web.Response:
        # django-cors-headers' answer with CORS_ALLOW_ALL_ORIGINS.
        requested = request.headers.get("Access-Control-Request-Headers")
        return web.Response(
            status=200,
            headers={
                "Access-Control-Allow-Origin": "*",
                "Access-Control-Allow-Methods": "POST, OPTIONS",
                "Access-Control-Allow-Headers": requested or _CORS_PREFLIGHT_HEADERS,
                "Access-Control-Max-Age": "86400",
            },
        )

    @staticmethod
    def _token_of(request: web.Request) -> str | None:
        match = _TOKEN_RE.match(request.headers.get("Authorization", ""))
        return match.group(1) if match else None

    def _authorized(self, token: str | None) -> bool:
        # On-premise has no authentication at all: any header is tolerated.
        return self.mode == "onprem" or (token is not None and token in self.tokens)

    async def _pause(self) -> None:
        if self.delay > 0:
            await self._sleep(self.delay)

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake at once when the server stops so stop() is never slow."""
        assert self._stopping is not None
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stopping.wait()
