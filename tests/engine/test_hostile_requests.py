"""The engine under hostile requests: bombs, floods, deep JSON, odd paths (issue 10, 15).

Everything runs against a real engine over HTTP on 127.0.0.1. Where a request must stay
open (a body that never ends), the test holds it with an event, never with a sleep.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiohttp import web

from plate_engine.budget import Budget
from plate_engine.guard import _Framing
from plate_engine.server import MAX_NOTES, MAX_WARNED, EngineServer
from plate_engine.settings import WebhookSettings, WebhookTarget
from tests.engine import test_server as base
from tests.engine.hostile_images import BOMBS
from tests.engine.test_server import PLATE_TEXT, READ, THROTTLED, post_file, running_engine

recognizer = base.recognizer
plate_jpg = base.plate_jpg
http = base.http
engine = base.engine

DEADLINE = 30.0  # generous: CI machines are busy


# --- decompression bombs ------------------------------------------------------------------


@pytest.mark.parametrize("name", list(BOMBS))
async def test_decompression_bombs_are_refused_before_decoding(
    recognizer: base.Recognizer, plate_jpg: bytes, http: httpx.AsyncClient, name: str
) -> None:
    bomb, size = BOMBS[name]
    assert len(bomb) < 200_000
    async with running_engine(recognizer) as engine:
        as_file = await http.post(engine.url + READ, files={"upload": ("x.img", bomb)})
        encoded = base64.b64encode(bomb).decode()
        as_base64 = await http.post(engine.url + READ, data={"upload": encoded})
        as_text_part = await http.post(engine.url + READ, files={"upload": (None, encoded)})
        for response in (as_file, as_base64, as_text_part):
            assert response.status_code == 413, response.text
            assert response.headers["Access-Control-Allow-Origin"] == "*"
            error = response.json()["error"]
            assert size in error and "at most 50.0 MP" in error
        assert engine.pool.pixels.used == 0
        assert (await post_file(http, engine.url, plate_jpg)).status_code == 200


async def test_the_pixel_limit_is_a_setting(
    recognizer: base.Recognizer, http: httpx.AsyncClient
) -> None:
    async with running_engine(recognizer, max_pixels=300_000) as engine:
        small = await post_file(http, engine.url, base.plate_image(size=(640, 360)))
        assert small.status_code == 200
        assert [r["plate"] for r in small.json()["results"]] == [PLATE_TEXT]
        big = await post_file(http, engine.url, base.plate_image(size=(1280, 720)))
        assert big.status_code == 413
        assert "1280x720" in big.json()["error"]


async def test_formats_the_engine_cannot_check_are_refused(
    engine: EngineServer, http: httpx.AsyncClient
) -> None:
    # OpenCV decodes more formats (PPM, Sun raster, JPEG 2000...) whose headers the
    # engine does not check: refused, not decoded, even when small and valid.
    ppm = b"P6\n16 16\n255\n" + b"\x80" * 16 * 16 * 3
    response = await http.post(engine.url + READ, files={"upload": ("x.ppm", ppm)})
    assert response.status_code == 400
    assert "not a supported image format" in response.json()["error"]


# --- what a request may hold ------------------------------------------------------------


class HeldBody:
    """A multipart body that sends its first part and then waits to be released."""

    def __init__(self, image: bytes, held_bytes: int = 0) -> None:
        self.image = image
        self.held_bytes = held_bytes
        self.release = asyncio.Event()

    async def chunks(self) -> AsyncIterator[bytes]:
        yield b'--b0\r\nContent-Disposition: form-data; name="upload"; filename="a.jpg"\r\n\r\n'
        yield self.image
        if self.held_bytes:
            yield b'\r\n--b0\r\nContent-Disposition: form-data; name="pad"\r\n\r\n'
            yield b"x" * self.held_bytes
        await self.release.wait()
        yield b"\r\n--b0--\r\n"

    def post(self, http: httpx.AsyncClient, url: str) -> asyncio.Task[httpx.Response]:
        return asyncio.create_task(
            http.post(
                url + READ,
                content=self.chunks(),
                headers={"Content-Type": "multipart/form-data; boundary=b0"},
            )
        )


async def wait_for(condition: Any, what: str) -> None:
    try:
        async with asyncio.timeout(DEADLINE):
            while not condition():  # noqa: ASYNC110 - polls the engine's counters
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


async def test_uploads_take_a_place_before_their_body_arrives(
    recognizer: base.Recognizer, plate_jpg: bytes, http: httpx.AsyncClient
) -> None:
    # Before: the workers + queue limit counted reads only, so 100 uploads were all
    # received at once (1.5 GB). Now a request holds its place from its first byte.
    async with running_engine(recognizer, workers=1, queue=0) as engine:
        held = HeldBody(plate_jpg)
        first = held.post(http, engine.url)
        await wait_for(lambda: engine.pool.admitted == 1, "the first request admitted")
        second = await post_file(http, engine.url, plate_jpg)
        assert second.status_code == 429
        assert second.json() == THROTTLED
        held.release.set()
        assert (await first).status_code == 200
        assert engine.pool.admitted == 0
        assert (await post_file(http, engine.url, plate_jpg)).status_code == 200


async def test_bytes_in_flight_are_bounded(
    recognizer: base.Recognizer, plate_jpg: bytes, http: httpx.AsyncClient
) -> None:
    limit = 256 * 1024
    async with running_engine(
        recognizer, max_upload_bytes=limit, max_inflight_bytes=limit + 64 * 1024
    ) as engine:
        held = HeldBody(plate_jpg, held_bytes=200 * 1024)  # streamed: no Content-Length
        first = held.post(http, engine.url)
        await wait_for(lambda: engine.inflight.used >= 200 * 1024, "the held body counted")
        padded = {"upload": ("car.jpg", plate_jpg), "pad": (None, b"x" * 150 * 1024)}
        second = await http.post(engine.url + READ, files=padded)
        assert second.status_code == 429  # over the shared budget: retry later
        assert second.headers["Retry-After"] == "1"
        held.release.set()
        assert (await first).status_code == 200
        assert engine.inflight.used == 0
        assert (await http.post(engine.url + READ, files=padded)).status_code == 200


async def test_a_stalled_body_times_out(
    recognizer: base.Recognizer, plate_jpg: bytes, socket_enabled: None
) -> None:
    async with running_engine(recognizer, workers=1, queue=0, body_timeout=0.5) as engine:
        host, port = engine.url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            # A chunked body that stops after its first chunk and never ends.
            head = b'--b0\r\nContent-Disposition: form-data; name="upload"\r\n\r\n'
            writer.write(
                b"POST /v1/plate-reader/ HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: multipart/form-data; boundary=b0\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n" + f"{len(head):x}\r\n".encode() + head
            )
            await writer.drain()
            async with asyncio.timeout(DEADLINE):
                answer = await reader.readuntil(b"\r\n\r\n")
                # End the body now, so the server's lingering read of it ends too.
                tail = b"\r\n--b0--\r\n"
                writer.write(f"{len(tail):x}\r\n".encode() + tail + b"\r\n0\r\n\r\n")
                await writer.drain()
                await reader.read()  # the server closes the connection
        finally:
            writer.close()
            await writer.wait_closed()
        assert answer.startswith(b"HTTP/1.1 408")
        await wait_for(lambda: engine.pool.admitted == 0, "the place given back")
        assert engine.inflight.used == 0


async def test_compressed_bodies_are_refused_not_inflated(
    engine: EngineServer, plate_jpg: bytes, http: httpx.AsyncClient
) -> None:
    # aiohttp inflates a gzip body by default: 10 MB of gzip is 10 GB of zeros.
    form = httpx.Request("POST", "http://x", files={"upload": ("car.jpg", plate_jpg)})
    body = form.read()
    response = await http.post(
        engine.url + READ,
        content=gzip.compress(body),
        headers={"Content-Type": form.headers["Content-Type"], "Content-Encoding": "gzip"},
    )
    assert response.status_code == 415
    assert "Content-Encoding 'gzip' is not accepted" in response.json()["error"]


async def test_form_fields_are_bounded(engine: EngineServer, http: httpx.AsyncClient) -> None:
    files = [("upload", ("car.jpg", base.plate_image()))] + [
        (f"f{i}", (None, b"1")) for i in range(100)
    ]
    response = await http.post(engine.url + READ, files=files)
    assert response.status_code == 400
    assert "more than 64 form fields" in response.json()["error"]
    urlencoded = await http.post(engine.url + READ, data={f"f{i}": "1" for i in range(100)})
    assert urlencoded.status_code == 400


async def test_budget_waits_in_turn() -> None:
    budget = Budget(10)
    await budget.take(6)
    assert not budget.try_take(5)
    later = asyncio.create_task(budget.take(5))
    await asyncio.sleep(0)
    assert not later.done()
    budget.give(6)
    await asyncio.wait_for(later, DEADLINE)
    assert budget.used == 5
    cancelled = asyncio.create_task(budget.take(10))
    await asyncio.sleep(0)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    budget.give(5)
    assert budget.used == 0 and budget.try_take(10)


# --- config ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "config",
    [
        pytest.param("[" * 100_000 + "]" * 100_000, id="deep-list"),
        pytest.param('{"a":' * 50_000 + "1" + "}" * 50_000, id="deep-object"),
        pytest.param('{"text_formats":' + "[" * 20 + "]" * 20 + "}", id="deep-value"),
        pytest.param('{"mode":"fast","x":"' + "y" * 20_000 + '"}', id="long"),
    ],
)
async def test_deep_or_huge_config_is_a_400(
    engine: EngineServer, plate_jpg: bytes, http: httpx.AsyncClient, config: str
) -> None:
    response = await post_file(http, engine.url, plate_jpg, config=config)
    assert response.status_code == 400, response.text
    assert "field 'config'" in response.json()["error"]


async def test_text_formats_are_bounded(
    engine: EngineServer, plate_jpg: bytes, http: httpx.AsyncClient
) -> None:
    cases = {
        '{"text_formats":[' + ",".join(['"[a-z]+"'] * 17) + "]}": "at most 16 patterns",
        '{"text_formats":["' + "a" * 257 + '"]}': "at most 256 are accepted",
        '{"text_formats":["(a)\\\\1"]}': "backreferences and look-around",
    }
    for config, expected in cases.items():
        response = await post_file(http, engine.url, plate_jpg, config=config)
        assert response.status_code == 400, config
        assert expected in response.json()["error"]


async def test_sdk_tolerated_config_values_do_not_fail_the_call(
    engine: EngineServer,
    plate_jpg: bytes,
    http: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="plate_engine.server")
    # What a popular Home Assistant integration sends when its options are off.
    for config in (
        '{"detection_rule":"False","region":"False"}',
        '{"detection_rule":false,"region":null,"mode":""}',
        '{"detection_mode":"plate","speed":"fast","colour":1}',
    ):
        response = await post_file(http, engine.url, plate_jpg, config=config)
        assert response.status_code == 200, (config, response.text)
        assert [r["plate"] for r in response.json()["results"]] == [PLATE_TEXT]
    await post_file(http, engine.url, plate_jpg, config='{"speed":"fast"}')
    notes = [r.getMessage() for r in caplog.records if "config key" in r.getMessage()]
    assert sorted(notes) == [
        "ignoring unknown config key 'colour'",
        "ignoring unknown config key 'speed'",
    ]


async def test_unknown_names_are_logged_within_bounds(
    engine: EngineServer, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    # Before: 1,150 names of 8 kB each were 8.7 MB of log for one request, and the
    # "already warned" set grew forever.
    caplog.set_level(logging.WARNING, logger="plate_engine.server")
    corrupt = b"\xff\xd8\xff\xe0" + b"\x00" * 64  # refused after the fields are read
    requests = MAX_WARNED // MAX_NOTES + 2
    for batch in range(requests):
        fields: list[tuple[str, Any]] = [("upload", ("a.jpg", corrupt))]
        fields += [(f"{batch}-{i}-" + "n" * 8000, (None, b"1")) for i in range(5)]
        config = json.dumps({f"{batch}-" + "k" * 8000: 1})
        fields.append(("config", (None, config.encode())))
        response = await http.post(engine.url + READ, files=fields)
        assert response.status_code == 400
    messages = [r.getMessage() for r in caplog.records if r.name == "plate_engine.server"]
    assert max(len(m) for m in messages) < 200
    assert len(messages) <= requests * MAX_NOTES
    assert len(engine._warned) <= MAX_WARNED + 1
    assert any("not logging more" in m for m in messages)


# --- drop-in for SDK clients -----------------------------------------------------------


async def test_health_check_and_doubled_slashes(
    engine: EngineServer, plate_jpg: bytes, http: httpx.AsyncClient
) -> None:
    root = await http.get(engine.url + "/")
    assert root.status_code == 200
    assert root.json()["status"] == "ok"
    assert (await http.head(engine.url + "/")).status_code == 200
    for path in (
        "//v1/plate-reader/",
        "/v1//plate-reader",
        "/v1/plate-reader",
        "//v1/plate-reader",
    ):
        response = await http.post(engine.url + path, files={"upload": ("car.jpg", plate_jpg)})
        assert response.status_code == 200, path
        assert response.json()["usage"]["max_calls"] == 0  # an integer, never null
    assert (await http.get(engine.url + "//info/")).status_code == 200
    assert (await http.get(engine.url + "/v1/statistics/")).status_code == 404


async def test_images_waiting_for_webhooks_are_bounded_in_bytes(
    recognizer: base.Recognizer, plate_jpg: bytes, http: httpx.AsyncClient
) -> None:
    # Before: only the number of deliveries was bounded (100 per target): 100 waiting
    # 10 MB images were 1 GB.
    release = asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hang)
    async with base.serve_app(app) as hook_url:
        hooks = WebhookSettings(
            targets=(WebhookTarget(1, hook_url + "/hook", image=True),),
            queue_image_bytes=len(plate_jpg) * 2,
            drain_timeout=0.1,
        )
        async with running_engine(recognizer, hooks) as engine:
            for _ in range(5):
                assert (await post_file(http, engine.url, plate_jpg)).status_code == 200
            stats = engine.webhooks.stats()[0]
            assert stats["dropped"] >= 3
            assert stats["waiting"] <= 2
            release.set()


async def test_endless_request_heads_are_cut_off(
    recognizer: base.Recognizer, http: httpx.AsyncClient
) -> None:
    # aiohttp bounds each header line, not their number: 381 MB of header lines took one
    # connection to 813 MB of RSS. The engine cuts off a connection that sends
    # a request head over 64 KiB.
    async with running_engine(recognizer, max_upload_bytes=64 * 1024) as engine:
        host, port = engine.url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        line = b"X-Padding: " + b"a" * 8000 + b"\r\n"
        # A good request first: the flood comes on a kept-alive connection.
        writer.write(b"GET /info/ HTTP/1.1\r\nHost: x\r\n\r\nGET /info/ HTTP/1.1\r\nHost: x\r\n")
        sent, closed = 0, False
        try:
            async with asyncio.timeout(DEADLINE):
                while sent < 16 * 1024 * 1024:
                    writer.write(line * 64)
                    sent += len(line) * 64
                    await writer.drain()
                    if reader.at_eof():
                        closed = True
                        break
        except ConnectionError:
            closed = True
        finally:
            writer.close()
        assert closed, f"the engine took {sent} bytes of headers"
        assert (await http.get(engine.url + "/info/")).status_code == 200


def test_framing_follows_bodies_and_cuts_off_long_heads() -> None:
    body = b"x" * 300_000
    chunked = b"".join(
        b"%x\r\n" % 1000 + body[i : i + 1000] + b"\r\n" for i in range(0, 300_000, 1000)
    )
    stream = (
        b"POST /v1/plate-reader/ HTTP/1.1\r\nHost: x\r\nContent-Length: 300000\r\n\r\n"
        + body
        + b"POST /v1/plate-reader/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        + chunked
        + b"0\r\nX-Trailer: 1\r\n\r\n"
        + b"GET /info/ HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    for step in (1, 7, 4096, len(stream)):  # however the bytes arrive
        framing = _Framing()
        assert all(framing.feed(stream[i : i + step]) for i in range(0, len(stream), step))
        assert framing.feed(b"GET / HTTP/1.1\r\n" + b"X-A: b\r\n" * 10_000) is False
