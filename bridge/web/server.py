"""The web page's HTTP server: the routes, and its start and stop with the service."""

from __future__ import annotations

import logging
from pathlib import Path

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest

from . import pages_history, pages_live, pages_watchlist
from .context import CONTEXT, HISTORY_THREADS_KEY, HistoryThreads, WebContext
from .security import MAX_BODY, add_headers

_LOGGER = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"


class _AccessLogger(AbstractAccessLogger):
    """Method, path (never the query string: it may carry the token) and status."""

    def log(self, request: BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.debug("web: %s %s %d", request.method, request.path, response.status)


def build_app(ctx: WebContext) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY, middlewares=[ctx.guard.middleware])
    app[CONTEXT] = ctx
    threads = app[HISTORY_THREADS_KEY] = HistoryThreads()
    app.on_cleanup.append(lambda _: threads.close())
    # Every answer, errors and streams included (aiohttp types this signal oddly).
    app.on_response_prepare.append(add_headers)  # type: ignore[arg-type]
    app.router.add_get("/", pages_live.live)
    # No HEAD: a HEAD stream sends nothing, so it would never notice that its client
    # left and would hold one of the few live places for good.
    app.router.add_get("/events", pages_live.events, allow_head=False)
    app.router.add_get("/picture/{id}", pages_live.picture)
    app.router.add_get("/health", pages_live.health)
    app.router.add_get("/health.json", pages_live.health_json)
    app.router.add_get("/history", pages_history.history)
    app.router.add_get("/plate/{plate}", pages_history.plate)
    app.router.add_get("/watchlist", pages_watchlist.watchlist)
    app.router.add_post("/watchlist", pages_watchlist.change)
    app.router.add_static("/static", STATIC, append_version=False)
    return app


class WebServer:
    """Serves the page on `web.host:web.port` while the service runs."""

    def __init__(self, ctx: WebContext) -> None:
        self.ctx = ctx
        self.config = ctx.config.web
        if self.config is None:
            raise ValueError("the web page is not configured")
        self._runner: web.AppRunner | None = None
        self.port = self.config.port

    @property
    def url(self) -> str:
        assert self.config is not None
        return self.config.model_copy(update={"port": self.port}).url

    async def start(self) -> None:
        assert self.config is not None
        runner = web.AppRunner(
            build_app(self.ctx),
            access_log_class=_AccessLogger,
            access_log=logging.getLogger("bridge.web.access"),
            handle_signals=False,
            shutdown_timeout=5.0,
        )
        await runner.setup()
        site = web.TCPSite(runner, self.config.host, self.config.port)
        try:
            await site.start()
        except OSError as err:
            await runner.cleanup()
            raise OSError(
                err.errno,
                f"web page: cannot listen on {self.config.host}:{self.config.port}: "
                f"{err.strerror or err} (change web.port or web.host)",
            ) from None
        self._runner = runner
        sockets = getattr(site._server, "sockets", None) or ()
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        _LOGGER.info("web page: %s", self.url)

    async def stop(self) -> None:
        """End the live streams, then stop serving (requests in flight finish)."""
        self.ctx.sink.close_streams()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
