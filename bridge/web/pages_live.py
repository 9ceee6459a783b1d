"""The live page, its server-sent events, the pictures and the health page."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import sqlite3
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from bridge.history_search import read_by_id
from platereader.redact import redact

from .context import HistoryBusy, WebContext, context, history_threads
from .html import Markup, html_response, join, page, render
from .live import LiveRead

_LOGGER = logging.getLogger(__name__)

HEARTBEAT = 15.0  # seconds between comments on an idle stream (proxies close silent ones)
# A write the client does not take within this long (it stopped reading: its TCP window
# is full) ends its stream; otherwise the handler would wait in the write forever and
# keep one of the MAX_SUBSCRIBERS places, dropped or not.
WRITE_TIMEOUT = 10.0
MAX_PICTURE_FILE = 16 * 1024 * 1024
READ_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def when(moment: str) -> str:
    """`2024-05-01T10:00:00.000Z` as `2024-05-01 10:00:00 UTC` (app.js does the same)."""
    return moment[:19].replace("T", " ") + " UTC" if len(moment) >= 19 else moment


def score_text(score: float | None) -> str:
    return "" if score is None else f"{score * 100:.0f}%"


def status_text(watched: bool, name: str | None) -> str:
    return f"watched: {name}" if watched else "unknown"


def read_item(read: LiveRead, root: str = "") -> Markup:
    """One `<li class="read">` (app.js builds the same from the event's JSON)."""
    picture = Markup("")
    if read.picture:
        picture = render(
            '<img src="{root}picture/{id}" alt="Picture of {plate}" loading="lazy">',
            root=root,
            id=read.id,
            plate=read.plate,
        )
    return render(
        '<li class="read" data-id="{id}" data-plate="{plate}" data-watched="{watched}">'
        "{picture}"
        '<div class="info"><span class="plate">{plate}</span>'
        '<span class="status">{status}</span><span class="kind">{kind}</span>'
        '<span class="camera">{camera}</span><time class="time" datetime="{time}">{when}</time>'
        '<span class="score">{score}</span><span class="vehicle">{vehicle}</span></div></li>',
        id=read.id,
        plate=read.plate,
        watched="true" if read.watched else "false",
        picture=picture,
        status=status_text(read.watched, read.watch_name),
        kind=read.watch_kind or "",
        camera=read.camera,
        time=read.time,
        when=when(read.time),
        score=score_text(read.score),
        vehicle=read.vehicle,
    )


async def live(request: web.Request) -> web.Response:
    ctx = context(request)
    items = join(read_item(read) for read in ctx.sink.reads)
    body = render(
        '<p class="hint">New reads appear at the top as they are made.'
        ' <span id="live-state" class="state">connecting…</span></p>'
        '<ul id="live" class="reads">{items}</ul>',
        items=items,
    )
    return html_response(page("Live", body, page_name="live", csrf=ctx.guard.csrf))


async def events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: one `read` event per new read; a comment every HEARTBEAT s."""
    ctx = context(request)
    subscriber = ctx.sink.subscribe()
    if subscriber is None:
        return web.Response(
            status=503,
            text="plate-bridge: too many live pages are open.\n",
            content_type="text/plain",
        )
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "X-Accel-Buffering": "no"}
    )
    try:
        await response.prepare(request)
        await _send(response, b"retry: 3000\n: connected\n\n")
        while True:
            try:
                data = await asyncio.wait_for(subscriber.queue.get(), HEARTBEAT)
            except TimeoutError:
                if subscriber.dropped:
                    break
                await _send(response, b": ping\n\n")
                continue
            if data is None or subscriber.dropped:
                break
            await _send(response, f"event: read\ndata: {data}\n\n".encode())
    except ConnectionError:
        pass  # the page went away
    except TimeoutError:
        # The client stopped reading: drop the connection (a clean end would be one
        # more write that it does not take).
        if request.transport is not None:
            request.transport.abort()
        return response
    finally:
        ctx.sink.unsubscribe(subscriber)
    with contextlib.suppress(ConnectionError, TimeoutError):
        await asyncio.wait_for(response.write_eof(), WRITE_TIMEOUT)
    return response


async def _send(response: web.StreamResponse, data: bytes) -> None:
    await asyncio.wait_for(response.write(data), WRITE_TIMEOUT)


async def picture(request: web.Request) -> web.Response:
    """A read's annotated picture: recent ones from memory, older ones from the saved
    snapshot that the history names, only ever under `<storage.path>/snapshots`."""
    ctx = context(request)
    read_id = request.match_info["id"]
    if not READ_ID.match(read_id):
        raise web.HTTPNotFound(text="plate-bridge: no such picture.\n")
    jpeg = ctx.sink.picture(read_id)
    if jpeg is None and ctx.config.storage.history:
        try:
            row = await history_threads(request).run(read_by_id, ctx.history_path, read_id)
        except HistoryBusy as err:
            raise web.HTTPServiceUnavailable(text=f"plate-bridge: {err}\n") from None
        except (sqlite3.Error, ValueError) as err:
            _LOGGER.warning("web page: cannot read the history: %s", err)
            row = None
        if row is not None and row.snapshot:
            try:
                jpeg = await history_threads(request).run(
                    confined_file, ctx.snapshots_root, row.snapshot
                )
            except HistoryBusy as err:
                raise web.HTTPServiceUnavailable(text=f"plate-bridge: {err}\n") from None
    if jpeg is None:
        raise web.HTTPNotFound(text="plate-bridge: no such picture.\n")
    return web.Response(
        body=jpeg, content_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"}
    )


def confined_file(root: Path, name: str) -> bytes | None:
    """The file `name` if, links resolved, it is a regular file inside `root`."""
    try:
        base = root.resolve()
        target = Path(name).resolve()
        if not target.is_relative_to(base) or not target.is_file():
            return None
        if target.stat().st_size > MAX_PICTURE_FILE:
            return None
        return target.read_bytes()
    except (OSError, ValueError):
        return None


def health_data(ctx: WebContext) -> dict[str, Any]:
    """What `/health` and `/health.json` show: no secret, no credentials in URLs."""
    config = ctx.config
    secrets = config.secrets()
    gauges = ctx.metrics.gauges
    in_flight = gauges["in_flight"]() if "in_flight" in gauges else None
    return {
        "broker": {
            "connected": ctx.link.connected,
            "host": config.mqtt.host,
            "port": config.mqtt.port,
        },
        "api": {
            "host": urlsplit(config.api.url).hostname,
            "kind": "cloud" if config.api.is_cloud else "on-premise/local",
        },
        "quota": ctx.pipeline.gate.status(),
        "queue": {
            "queued": len(ctx.pipeline.queue),
            "max": config.pipeline.queue_max,
            "in_flight": in_flight,
        },
        "uptime_s": round(time.time() - ctx.metrics.started, 1),
        "counters": dict(sorted(ctx.metrics.counters.items())),
        "errors": [
            {
                "time": error.time,
                "kind": error.kind,
                "camera": error.camera,
                "message": redact(error.message, secrets),
            }
            for error in reversed(ctx.sink.errors)
        ],
    }


def quota_text(quota: dict[str, Any], cloud: bool) -> str:
    state = f"reads paused ({quota['paused']})" if quota.get("paused") else "reads allowed"
    if quota.get("limit") is None or quota.get("used") is None:
        if not cloud:  # a local engine (or an SDK that does not say) has no quota
            return f"{state}; no lookup quota (on-premise or local engine)"
        return f"{state}; usage not known yet"
    return (
        f"{state}; {quota['used']} of {quota['limit']} lookups used, "
        f"{quota['remaining']} left (reserve {quota['reserve']})"
    )


async def health(request: web.Request) -> web.Response:
    ctx = context(request)
    data = health_data(ctx)
    broker, api, queue = data["broker"], data["api"], data["queue"]
    errors = join(
        render(
            '<li><time datetime="{time}">{when}</time> <span class="kind">{kind}</span>'
            ' <span class="camera">{camera}</span> <span class="text">{message}</span></li>',
            time=error["time"],
            when=when(error["time"]),
            kind=error["kind"],
            camera=error["camera"] or "",
            message=error["message"],
        )
        for error in data["errors"]
    )
    counters = join(
        render("<li><code>{name}</code> {value}</li>", name=name, value=value)
        for name, value in data["counters"].items()
    )
    body = render(
        '<dl id="health">'
        '<dt>Broker</dt><dd id="broker" class="{broker_class}">{broker}</dd>'
        '<dt>API</dt><dd id="api">{api}</dd>'
        '<dt>Quota</dt><dd id="quota">{quota}</dd>'
        '<dt>Queue</dt><dd id="queue">{queue}</dd>'
        '<dt>Last errors</dt><dd id="errors">{errors}</dd>'
        "</dl>"
        '<details><summary>Counters</summary><ul class="counters">{counters}</ul></details>'
        '<p><a href="health.json">health.json</a></p>',
        broker_class="good" if broker["connected"] else "bad",
        broker=f"{'connected' if broker['connected'] else 'not connected'} "
        f"({broker['host']}:{broker['port']})",
        api=f"{api['host']} ({api['kind']})",
        quota=quota_text(data["quota"], ctx.config.api.is_cloud),
        queue=f"{queue['queued']} queued (max {queue['max']}), {queue['in_flight']} in flight",
        errors=render('<ol class="errors">{items}</ol>', items=errors) if errors else "none",
        counters=counters,
    )
    return html_response(page("Health", body, page_name="health", csrf=ctx.guard.csrf))


async def health_json(request: web.Request) -> web.Response:
    return web.Response(
        text=json.dumps(health_data(context(request)), indent=1),
        content_type="application/json",
    )
