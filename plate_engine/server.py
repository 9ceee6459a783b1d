"""The engine's HTTP server: the on-premise Snapshot API, served with aiohttp.

Endpoints: ``POST /v1/plate-reader/`` and ``GET /info/`` (each also without its trailing
slash), ``OPTIONS`` preflights on both; anything else is a JSON 404. Every answer, errors
included, carries ``Access-Control-Allow-Origin: *`` as the reference promises.

Reads run off the event loop in a bounded pool: `workers` threads share one recogniser
(its `read` is thread-safe, see its docstring; one model copy keeps memory flat), and at
most `queue` more reads may wait for a thread. A request beyond that is answered 429 at
once with the API's throttle body, so a burst costs no memory and the client retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Final, Protocol

import httpx
from aiohttp import web

from .errors import ImageDecodeError
from .fetch import FetchError, fetch_image, new_client
from .lookup import URLENCODED, Lookup, image_extension, parse_lookup, read_form
from .responses import (
    NO_CREDITS_BODY,
    NOT_FOUND_BODY,
    HttpError,
    Json,
    bad_request,
    engine_version,
    error_body,
    info_body,
    method_not_allowed_body,
    onprem_timestamp,
    read_body,
    throttled_error,
    too_large_error,
)
from .settings import EngineSettings, WebhookSettings
from .types import PlateRead, ReadOptions
from .webhooks import WebhookDispatcher

_LOGGER = logging.getLogger(__name__)

READ_PATHS: Final = ("/v1/plate-reader/", "/v1/plate-reader")
INFO_PATHS: Final = ("/info/", "/info")
_PREFLIGHT_HEADERS: Final = (
    "accept, accept-encoding, authorization, content-type, dnt, origin, user-agent, "
    "x-csrftoken, x-requested-with"
)


class Reader(Protocol):
    """What the server needs of `plate_engine.recognizer.Recognizer`."""

    def read(self, image: bytes, options: ReadOptions) -> list[PlateRead]: ...


# --- the worker pool -------------------------------------------------------------------------


class Throttled(Exception):
    """Every worker is busy and the queue is full."""


def _timed_read(
    reader: Reader, image: bytes, options: ReadOptions
) -> tuple[list[PlateRead], float]:
    start = time.perf_counter()
    reads = reader.read(image, options)
    return reads, (time.perf_counter() - start) * 1000


class InferencePool:
    """`workers` threads running reads, at most `queue` more waiting; the rest: Throttled."""

    def __init__(self, reader: Reader, *, workers: int, queue: int) -> None:
        self._reader = reader
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="plate-engine")
        self.capacity = workers + queue
        self.admitted = 0  # running + waiting; only touched on the event loop

    @property
    def full(self) -> bool:
        return self.admitted >= self.capacity

    async def read(self, image: bytes, options: ReadOptions) -> tuple[list[PlateRead], float]:
        """(reads, milliseconds spent reading); raise Throttled when full."""
        if self.full:
            raise Throttled
        loop = asyncio.get_running_loop()
        future = self._executor.submit(_timed_read, self._reader, image, options)
        self.admitted += 1

        # Released when the thread is done, not when the awaiting handler is: a
        # cancelled request must not free a slot its read still occupies.
        def release(_: Future[tuple[list[PlateRead], float]]) -> None:
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody counts any more
                loop.call_soon_threadsafe(self._release)

        future.add_done_callback(release)
        return await asyncio.wrap_future(future)

    def _release(self) -> None:
        self.admitted -= 1

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


# --- the server ----------------------------------------------------------------------------

type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json(status: int, body: Json, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(
        body, status=status, headers=headers, dumps=lambda o: json.dumps(o, separators=(",", ":"))
    )


class EngineServer:
    """The HTTP server around a recogniser. `start()` serves; `stop()` ends cleanly."""

    def __init__(
        self,
        reader: Reader,
        settings: EngineSettings | None = None,
        webhooks: WebhookSettings | None = None,
    ) -> None:
        self.settings = settings or EngineSettings()
        self.pool = InferencePool(reader, workers=self.settings.workers, queue=self.settings.queue)
        self.webhooks = WebhookDispatcher(webhooks or WebhookSettings())
        self.calls = 0  # successful reads since start-up
        self.version = engine_version()
        self._fetch_client: httpx.AsyncClient | None = None
        self._runner: web.AppRunner | None = None
        self._url: str | None = None
        self._warned: set[str] = set()

    @property
    def url(self) -> str:
        """Base URL without trailing slash, e.g. ``http://127.0.0.1:8080``."""
        if self._url is None:
            raise RuntimeError("the engine server is not started")
        return self._url

    def make_app(self) -> web.Application:
        app = web.Application(
            client_max_size=self.settings.max_upload_bytes, middlewares=[self._errors_and_cors]
        )
        for path in READ_PATHS:
            app.router.add_route("*", path, self._plate_reader)
        for path in INFO_PATHS:
            app.router.add_route("*", path, self._info)
        return app

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("the engine server is already started")
        await self.webhooks.start()
        self._fetch_client = new_client()
        runner = web.AppRunner(self.make_app(), handle_signals=False, shutdown_timeout=5.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.settings.host, self.settings.port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            await self._close_helpers()
            raise
        self._runner = runner
        port = runner.addresses[0][1]
        host = self.settings.host
        self._url = f"http://{f'[{host}]' if ':' in host else host}:{port}"

    async def stop(self) -> None:
        """Stop listening, let running requests finish, flush webhooks, join the workers."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        await self._close_helpers()

    async def _close_helpers(self) -> None:
        await self.webhooks.stop()
        client, self._fetch_client = self._fetch_client, None
        if client is not None:
            await client.aclose()
        self.pool.shutdown()

    # --- middleware --------------------------------------------------------------------

    @web.middleware
    async def _errors_and_cors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except HttpError as err:
            response = _json(err.status, err.body, err.headers)
        except web.HTTPException as err:
            response = self._http_exception(request, err)
        except Exception as err:
            # A bug or a recogniser failure: log it, answer 500, keep serving.
            _LOGGER.exception("%s %s failed", request.method, request.path)
            response = _json(500, error_body(f"internal error ({type(err).__name__})"))
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response

    def _http_exception(self, request: web.Request, err: web.HTTPException) -> web.Response:
        if isinstance(err, web.HTTPRequestEntityTooLarge):
            limit = self.settings.max_upload_bytes
            return _json(err.status, too_large_error(limit).body)
        if isinstance(err, web.HTTPNotFound):
            return _json(404, dict(NOT_FOUND_BODY))
        if isinstance(err, web.HTTPMethodNotAllowed):
            return _json(405, method_not_allowed_body(request.method))
        return _json(err.status, error_body(err.reason))

    # --- endpoints -----------------------------------------------------------------------

    @staticmethod
    def _preflight(request: web.Request, methods: str) -> web.Response:
        # What django-cors-headers answers with CORS_ALLOW_ALL_ORIGINS (the SDK's stack).
        requested = request.headers.get("Access-Control-Request-Headers")
        return web.Response(
            status=200,
            headers={
                "Access-Control-Allow-Methods": methods,
                "Access-Control-Allow-Headers": requested or _PREFLIGHT_HEADERS,
                "Access-Control-Max-Age": "86400",
            },
        )

    async def _info(self, request: web.Request) -> web.StreamResponse:
        if request.method == "OPTIONS":
            return self._preflight(request, "GET, OPTIONS")
        if request.method not in ("GET", "HEAD"):
            raise HttpError(405, method_not_allowed_body(request.method), {"Allow": "GET"})
        return _json(
            200,
            info_body(
                calls=self.calls,
                total_calls=self.settings.total_calls,
                webhooks=self.webhooks.describe(),
                version=self.version,
            ),
        )

    async def _plate_reader(self, request: web.Request) -> web.StreamResponse:
        if request.method == "OPTIONS":
            return self._preflight(request, "POST, OPTIONS")
        if request.method != "POST":
            raise HttpError(
                405, method_not_allowed_body(request.method), {"Allow": "POST, OPTIONS"}
            )
        total = self.settings.total_calls
        if total is not None and self.calls >= total:
            raise HttpError(403, dict(NO_CREDITS_BODY))
        if self.pool.full:
            raise throttled_error()  # before reading the body: a burst costs no memory

        media_type, parts = await read_form(request, self.settings.max_upload_bytes)
        lookup = parse_lookup(parts, urlencoded=media_type == URLENCODED)
        self._log_quirks(lookup)
        image, filename = await self._image_of(lookup)
        try:
            reads, elapsed_ms = await self.pool.read(image, lookup.options())
        except Throttled:
            raise throttled_error() from None
        except ImageDecodeError as err:
            raise bad_request(
                f"field 'upload' is not an image the engine can read ({err})"
            ) from None

        self.calls += 1
        body = read_body(
            reads,
            vehicle_mode=lookup.vehicle_mode,
            mmc=lookup.mmc,
            processing_ms=elapsed_ms,
            filename=filename,
            camera_id=lookup.camera_id,
            timestamp=lookup.timestamp or onprem_timestamp(),
            calls=self.calls,
            max_calls=total,
        )
        self.webhooks.submit(body, image, filename)
        return _json(200, body)

    async def _image_of(self, lookup: Lookup) -> tuple[bytes, str]:
        """The image bytes and the answer's `filename`, fetching `upload_url` if needed."""
        image, name = lookup.image, lookup.filename
        if image is None:
            assert lookup.upload_url is not None  # parse_lookup demands one of the two
            if not self.settings.allow_upload_url or self._fetch_client is None:
                raise bad_request("field 'upload_url' is disabled on this engine")
            try:
                fetched = await fetch_image(
                    self._fetch_client,
                    lookup.upload_url,
                    max_bytes=self.settings.max_upload_bytes,
                    time_limit=self.settings.fetch_timeout,
                )
            except FetchError as err:
                raise bad_request(str(err)) from None
            image, name = fetched.data, fetched.filename
        return image, name or f"upload.{image_extension(image) or 'jpg'}"

    def _log_quirks(self, lookup: Lookup) -> None:
        """Say once per server what the engine accepts but cannot do (or ignores)."""
        notes: list[tuple[str, str]] = [
            (f"field:{name}", f"ignoring unknown form field {name!r}") for name in lookup.ignored
        ]
        if lookup.config is not None and lookup.config.detection_rule == "strict":
            notes.append(
                (
                    "detection_rule",
                    "config 'detection_rule: strict' is accepted but has no effect: the "
                    "offline engine has no vehicle detector, so no plate is dropped for it",
                )
            )
        for key, message in notes:
            if key not in self._warned:
                self._warned.add(key)
                _LOGGER.warning("%s", message)
