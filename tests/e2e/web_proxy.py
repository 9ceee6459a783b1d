"""Small aiohttp servers for the web page's browser tests, each in its own thread.

- `ingress_proxy`: a reverse proxy that mounts the bridge's page under
  `/api/hassio_ingress/<token>/`, as Home Assistant's supervisor does (the path prefix
  is removed on the way in, `X-Ingress-Path` names it; answers, server-sent events
  included, are streamed back as they come);
- `page_server`: serves fixed HTML pages (another site's page, for the CSRF test).

Each runs its own event loop in a thread, stopped and joined on exit (the Home
Assistant pytest plugin fails a test that leaves a thread behind).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import aiohttp
from aiohttp import web

INGRESS_PREFIX = "/api/hassio_ingress/e2e-ingress-token"
# Not forwarded either way: they describe one connection, not the request.
_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "upgrade", "host", "content-length"}
)


@contextmanager
def serve_in_thread(app: web.Application, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve `app` on a free port of `host` from a thread; yields its base URL."""
    ready = threading.Event()
    stop: list[asyncio.Event] = []
    found: list[str] = []
    failed: list[BaseException] = []

    async def main() -> None:
        runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, 0)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            found.append(f"http://{host}:{port}")
            stop.append(asyncio.Event())
            ready.set()
            await stop[0].wait()
        finally:
            await runner.cleanup()

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(main())
        except BaseException as err:  # reported to the test below
            failed.append(err)
            ready.set()
        finally:
            # Requests still open (a live stream) end here, not as "destroyed" tasks.
            left = asyncio.all_tasks(loop)
            for task in left:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_default_executor())  # name lookups
            loop.close()

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=run, name="e2e-web-server")
    thread.start()
    ready.wait(30)
    try:
        if failed or not found:
            raise RuntimeError(f"the test server did not start: {failed}")
        yield found[0]
    finally:
        if stop:
            loop.call_soon_threadsafe(stop[0].set)
        thread.join(30)


def ingress_app(backend: str, prefix: str = INGRESS_PREFIX) -> web.Application:
    """A reverse proxy serving `backend` (a base URL without a path) under `prefix`."""

    async def proxy(request: web.Request) -> web.StreamResponse:
        target = f"{backend}/{request.match_info['tail']}"
        if request.query_string:
            target += "?" + request.query_string
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        headers["X-Ingress-Path"] = prefix
        headers["X-Forwarded-Host"] = request.host
        session: aiohttp.ClientSession = request.app[SESSION]
        async with session.request(
            request.method,
            target,
            headers=headers,
            data=await request.read(),
            allow_redirects=False,
        ) as upstream:
            response = web.StreamResponse(status=upstream.status)
            for name, value in upstream.headers.items():
                if name.lower() not in _HOP:
                    response.headers.add(name, value)
            await response.prepare(request)
            try:
                async for chunk in upstream.content.iter_any():
                    await response.write(chunk)
            except (ConnectionError, aiohttp.ClientError):
                pass  # either side went away (a live stream that the page left)
            return response

    async def session_context(app: web.Application) -> object:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None)) as session:
            app[SESSION] = session
            yield

    app = web.Application()
    app.cleanup_ctx.append(session_context)  # type: ignore[arg-type]
    app.router.add_route("*", prefix + "/{tail:.*}", proxy)
    return app


SESSION = web.AppKey("session", aiohttp.ClientSession)


def page_app(pages: dict[str, str]) -> web.Application:
    """Serves each `pages[path]` as an HTML page (no Content-Security-Policy)."""

    async def show(request: web.Request) -> web.Response:
        text = pages.get(request.path)
        if text is None:
            raise web.HTTPNotFound()
        return web.Response(text=text, content_type="text/html")

    app = web.Application()
    app.router.add_get("/{tail:.*}", show)
    return app
