"""The engine's HTTP server: the on-premise Snapshot API, served with aiohttp.

Endpoints: ``POST /v1/plate-reader/``, ``GET /info/`` and ``GET /`` (a health check).
Paths are taken without regard to repeated or trailing slashes (``//v1/plate-reader``
is what a base URL ending in ``/`` produces); ``OPTIONS`` answers the CORS preflight;
anything else is a JSON 404. Every answer, errors included, carries
``Access-Control-Allow-Origin: *`` as the reference promises.

What a request may hold is bounded (docs/security.md): a request is admitted only while
fewer than workers + queue are in progress, before its body is read; its body and any
`upload_url` download count against a budget of bytes in flight; its image's header is
checked before decoding, and the decoded pixels being read at once are budgeted too.
Over a shared budget the answer is the API's 429, so clients retry.
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

from aiohttp import web

from .budget import Budget, BudgetSpent, Lease
from .decode import ImageInfo, probe
from .errors import ImageDecodeError, ImageTooLargeError
from .fetch import COULD_NOT_FETCH, FetchError, UrlPolicy, fetch_image
from .guard import GuardedSite
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
from .settings import EngineSettings, WebhookSettings, redact_url
from .types import PlateRead, ReadOptions
from .webhooks import WebhookDispatcher

_LOGGER = logging.getLogger(__name__)

READ_PATH: Final = "/v1/plate-reader"  # as normalised: no repeated or trailing slash
INFO_PATH: Final = "/info"
ROOT_PATH: Final = "/"
MAX_WARNED: Final = 256  # distinct unknown names logged per run; then no more
MAX_NOTES: Final = 4  # new warnings per request
_PREFLIGHT_HEADERS: Final = (
    "accept, accept-encoding, authorization, content-type, dnt, origin, user-agent, "
    "x-csrftoken, x-requested-with"
)


class Reader(Protocol):
    """What the server needs of `plate_engine.recognizer.Recognizer`."""

    def read(self, image: bytes, options: ReadOptions) -> list[PlateRead]: ...


# --- the worker pool -------------------------------------------------------------------------


def _timed_read(
    reader: Reader, image: bytes, options: ReadOptions
) -> tuple[list[PlateRead], float]:
    start = time.perf_counter()
    reads = reader.read(image, options)
    return reads, (time.perf_counter() - start) * 1000


class Ticket:
    """A request's place among the `capacity` in progress, from its first byte to its read.

    Released when the request ends, or, once its read is running, when the read's
    thread is done: a request that ends early must not free a place its read holds.
    """

    def __init__(self, pool: InferencePool) -> None:
        self._pool = pool
        self.handed_over = False

    def __enter__(self) -> Ticket:
        return self

    def __exit__(self, *_: object) -> None:
        if not self.handed_over:
            self._pool.release()


class InferencePool:
    """`workers` threads running reads; at most `capacity` requests in progress.

    `pixels` budgets the decoded pixels of the reads running or about to run: a read
    waits (holding its ticket) until its image fits, so big images are read one at a
    time while small ones run side by side.
    """

    def __init__(self, reader: Reader, *, workers: int, queue: int, max_pixels: int) -> None:
        self._reader = reader
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="plate-engine")
        self.capacity = workers + queue
        self.admitted = 0  # requests in progress; only touched on the event loop
        self.pixels = Budget(max_pixels)

    @property
    def full(self) -> bool:
        return self.admitted >= self.capacity

    def admit(self) -> Ticket | None:
        """A ticket, or None when `capacity` requests are already in progress."""
        if self.full:
            return None
        self.admitted += 1
        return Ticket(self)

    def release(self) -> None:
        self.admitted -= 1

    async def read(
        self, ticket: Ticket, image: bytes, options: ReadOptions, cost: int
    ) -> tuple[list[PlateRead], float]:
        """(reads, milliseconds spent reading), once `cost` pixels fit the budget."""
        cost = min(cost, self.pixels.limit)
        await self.pixels.take(cost)
        loop = asyncio.get_running_loop()
        try:
            future = self._executor.submit(_timed_read, self._reader, image, options)
        except BaseException:
            self.pixels.give(cost)
            raise
        ticket.handed_over = True

        def done(_: Future[tuple[list[PlateRead], float]]) -> None:
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody counts any more
                loop.call_soon_threadsafe(self._done, cost)

        future.add_done_callback(done)
        return await asyncio.wrap_future(future)

    def _done(self, cost: int) -> None:
        self.pixels.give(cost)
        self.release()

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
        self.pool = InferencePool(
            reader,
            workers=self.settings.workers,
            queue=self.settings.queue,
            max_pixels=self.settings.max_pixels,
        )
        self.inflight = Budget(self.settings.inflight_bytes)  # body + download bytes
        self.url_policy = UrlPolicy.parse(self.settings.upload_url_allow)
        self.webhooks = WebhookDispatcher(webhooks or WebhookSettings())
        self.calls = 0  # successful reads since start-up
        self.version = engine_version()
        self._runner: web.AppRunner | None = None
        self._url: str | None = None
        self._warned: set[str] = set()
        self._routes: dict[str, Handler] = {
            READ_PATH: self._plate_reader,
            INFO_PATH: self._info,
            ROOT_PATH: self._root,
        }

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
        app.router.add_route("*", "/{path:.*}", self._dispatch)
        return app

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("the engine server is already started")
        await self.webhooks.start()
        runner = web.AppRunner(
            self.make_app(),
            handle_signals=False,
            shutdown_timeout=5.0,
            auto_decompress=False,  # Content-Encoding bodies are refused, never inflated
            max_field_size=8190,
            max_line_size=8190,
        )
        await runner.setup()
        try:
            site = GuardedSite(runner, self.settings.host, self.settings.port)
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
            _LOGGER.exception("%s %s failed", request.method, request.path[:200])
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

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        # Repeated and trailing slashes do not matter: "//v1/plate-reader/" is
        # "/v1/plate-reader", as a base URL ending in "/" makes clients send it.
        path = "/" + "/".join(part for part in request.path.split("/") if part)
        handler = self._routes.get(path)
        if handler is None:
            raise HttpError(404, dict(NOT_FOUND_BODY))
        return await handler(request)

    @staticmethod
    def _preflight(request: web.Request, methods: str) -> web.Response:
        # What django-cors-headers answers with CORS_ALLOW_ALL_ORIGINS (the SDK's stack).
        requested = request.headers.get("Access-Control-Request-Headers")
        return web.Response(
            status=200,
            headers={
                "Access-Control-Allow-Methods": methods,
                "Access-Control-Allow-Headers": (requested or _PREFLIGHT_HEADERS)[:1000],
                "Access-Control-Max-Age": "86400",
            },
        )

    async def _root(self, request: web.Request) -> web.StreamResponse:
        """A health check: the vendor's scripts and load balancers GET the root."""
        if request.method == "OPTIONS":
            return self._preflight(request, "GET, OPTIONS")
        if request.method not in ("GET", "HEAD"):
            raise HttpError(405, method_not_allowed_body(request.method), {"Allow": "GET"})
        return _json(200, {"status": "ok", "version": self.version})

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
        ticket = self.pool.admit()
        if ticket is None:
            raise throttled_error()  # before reading the body: a burst costs no memory
        try:
            with ticket, Lease(self.inflight) as lease:
                return await self._read(request, ticket, lease)
        except BudgetSpent:
            raise throttled_error() from None

    async def _read(self, request: web.Request, ticket: Ticket, lease: Lease) -> web.Response:
        limit = self.settings.max_upload_bytes
        try:
            async with asyncio.timeout(self.settings.body_timeout):
                media_type, parts = await read_form(request, limit, lease)
        except TimeoutError:
            raise HttpError(
                408, error_body(f"the request body took over {self.settings.body_timeout:g} s")
            ) from None
        lookup = parse_lookup(parts, urlencoded=media_type == URLENCODED)
        del parts
        self._log_quirks(lookup)
        image, filename, fetched = await self._image_of(lookup, lease)
        info = self._probe(image, fetched, lookup)
        try:
            reads, elapsed_ms = await self.pool.read(
                ticket, image, lookup.options(), info.decode_cost
            )
        except ImageDecodeError as err:
            raise self._not_an_image(err, fetched, lookup) from None

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
            # An integer, as the SDK sends it (clients compute max_calls - calls);
            # 0 when the engine has no quota (/info/ total_calls stays null).
            max_calls=total if (total := self.settings.total_calls) is not None else 0,
        )
        self.webhooks.submit(body, image, filename)
        return _json(200, body)

    def _probe(self, image: bytes, fetched: bool, lookup: Lookup) -> ImageInfo:
        """The image's declared size, checked before any pixel is decoded."""
        try:
            return probe(image, self.settings.max_pixels)
        except ImageTooLargeError as err:
            if fetched:
                raise self._not_an_image(err, fetched, lookup) from None
            raise HttpError(413, error_body(f"field 'upload': {err}")) from None
        except ImageDecodeError as err:
            raise self._not_an_image(err, fetched, lookup) from None

    @staticmethod
    def _not_an_image(err: ImageDecodeError, fetched: bool, lookup: Lookup) -> HttpError:
        if fetched:  # say nothing of what an upload_url answered; the log has it
            url = redact_url((lookup.upload_url or "")[:200])
            _LOGGER.info("upload_url %s: %s", url, err)
            return bad_request(COULD_NOT_FETCH)
        return bad_request(f"field 'upload' is not an image the engine can read ({err})")

    async def _image_of(self, lookup: Lookup, lease: Lease) -> tuple[bytes, str, bool]:
        """The image bytes, the answer's `filename`, and whether it came from upload_url."""
        image, name = lookup.image, lookup.filename
        fetched = image is None
        if image is None:
            assert lookup.upload_url is not None  # parse_lookup demands one of the two
            if not self.settings.allow_upload_url:
                raise bad_request("field 'upload_url' is disabled on this engine")
            try:
                result = await fetch_image(
                    lookup.upload_url,
                    policy=self.url_policy,
                    max_bytes=self.settings.max_upload_bytes,
                    time_limit=self.settings.fetch_timeout,
                    meter=lease,
                )
            except FetchError as err:
                raise bad_request(str(err)) from None
            image, name = result.data, result.filename
        return image, name or f"upload.{image_extension(image) or 'jpg'}", fetched

    def _log_quirks(self, lookup: Lookup) -> None:
        """Say once per server what the engine accepts but cannot do (or ignores).

        Names come from clients: each is cut short (lookup.py), a request logs at most
        MAX_NOTES new ones, and at most MAX_WARNED are remembered.
        """
        notes: list[tuple[str, str]] = [
            (f"field:{name}", f"ignoring unknown form field {name!r}") for name in lookup.ignored
        ]
        notes += [
            (f"config:{name}", f"ignoring unknown config key {name!r}")
            for name in lookup.ignored_config
        ]
        logged = 0
        for key, message in notes:
            if key in self._warned or logged == MAX_NOTES:
                continue
            if len(self._warned) >= MAX_WARNED:
                if "(full)" not in self._warned:
                    self._warned.add("(full)")
                    _LOGGER.warning("%d unknown names logged; not logging more", MAX_WARNED)
                return
            self._warned.add(key)
            logged += 1
            _LOGGER.warning("%s", message)
