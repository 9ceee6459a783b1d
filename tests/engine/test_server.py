"""The engine's HTTP server, over real HTTP on 127.0.0.1, with the real recogniser.

The recogniser is loaded once per module (`recognizer`); each test starts its own server
around it (cheap) so settings can differ and every worker thread is joined at the end.
The other engine test modules import the fixtures and helpers from here.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiohttp import web
from PIL import Image, ImageDraw, ImageFont

from plate_engine.recognizer import Recognizer
from plate_engine.server import EngineServer
from plate_engine.settings import EngineSettings, WebhookSettings
from plate_engine.types import COLOURS, VEHICLE_TYPES
from platereader import PlateReader, PlateReaderNoCreditsError, ReadResponse
from tests.engine.engine_process import engine_process

READ = "/v1/plate-reader/"
PLATE_TEXT = "ab12cde"  # drawn on the synthetic image; a GB format, read as region "gb"
THROTTLED = {"detail": "Request was throttled. Expected available in 1 second.", "status_code": 429}


# --- shared fixtures and helpers ----------------------------------------------------------


def plate_image(text: str = "AB12CDE", size: tuple[int, int] = (640, 360)) -> bytes:
    """A JPEG of a white plate with black characters on a grey background."""
    img = Image.new("RGB", size, (90, 110, 120))
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=56)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x0, y0 = size[0] // 2 - 150, size[1] // 2 - 30
    draw.rectangle(
        (x0 - 14, y0 - 12, x0 + right - left + 14, y0 + bottom - top + 22),
        fill=(250, 250, 250),
        outline=(0, 0, 0),
        width=3,
    )
    draw.text((x0 - left, y0 - top + 4), text, fill=(0, 0, 0), font=font)
    buffer = io.BytesIO()
    img.save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    return Recognizer(threads=1)


@pytest.fixture(scope="module")
def plate_jpg() -> bytes:
    return plate_image()


@contextlib.asynccontextmanager
async def running_engine(
    recognizer: Recognizer, webhooks: WebhookSettings | None = None, **settings: Any
) -> AsyncIterator[EngineServer]:
    options: dict[str, Any] = {"port": 0, "workers": 2, "queue": 4}
    options.update(settings)
    server = EngineServer(recognizer, EngineSettings(**options), webhooks)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest_asyncio.fixture
async def engine(recognizer: Recognizer, socket_enabled: None) -> AsyncIterator[EngineServer]:
    async with running_engine(recognizer) as server:
        yield server


@pytest_asyncio.fixture
async def http(socket_enabled: None) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=60, trust_env=False) as client:
        yield client


@contextlib.asynccontextmanager
async def serve_app(app: web.Application) -> AsyncIterator[str]:
    """Serve `app` on 127.0.0.1; yield its base URL."""
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def post_file(
    http: httpx.AsyncClient, url: str, image: bytes, **fields: str | list[str]
) -> httpx.Response:
    data: dict[str, Any] = dict(fields)
    return await http.post(
        url + READ, files={"upload": ("car.jpg", image, "image/jpeg")}, data=data
    )


def check_plate_mode_result(result: dict[str, Any], *, mmc: bool) -> None:
    keys = ["box", "plate", "region", "vehicle", "score", "candidates", "dscore"]
    if mmc:
        keys += ["model_make", "color", "orientation"]
    assert list(result) == keys
    assert set(result["box"]) == {"xmin", "ymin", "xmax", "ymax"}
    assert result["candidates"][0] == {"score": result["score"], "plate": result["plate"]}
    assert set(result["region"]) == {"code", "score"}
    check_vehicle(result["vehicle"])
    if mmc:
        # Make, model and orientation: no classifier offline; the colour is measured.
        assert result["model_make"] == [{"make": "Unknown", "model": "Unknown", "score": 0}]
        [color] = result["color"]
        assert list(color) == ["color", "score"] and color["color"] in COLOURS
        assert 0 <= color["score"] <= 1 and (color["score"] == 0) == (color["color"] == "unknown")
        assert result["orientation"] == [{"orientation": "Unknown", "score": 0}]


def check_vehicle(vehicle: dict[str, Any]) -> None:
    """A detected vehicle, or the reference's "no vehicle found" values."""
    assert list(vehicle) == ["score", "type", "box"]
    if vehicle["score"] == 0:
        assert vehicle == {
            "score": 0,
            "type": "Unknown",
            "box": {"xmin": 0, "ymin": 0, "xmax": 0, "ymax": 0},
        }
        return
    assert vehicle["type"] in VEHICLE_TYPES and vehicle["type"] != "Unknown"
    assert 0 < vehicle["score"] <= 1
    box = vehicle["box"]
    assert 0 <= box["xmin"] < box["xmax"] and 0 <= box["ymin"] < box["ymax"]


# --- the platereader client against the engine -----------------------------------------------


async def test_client_reads_plate_mode(engine: EngineServer, plate_jpg: bytes) -> None:
    async with PlateReader(engine.url, retries=0) as reader:
        response = await reader.read(plate_jpg, regions=["gb"], camera_id="gate")
    assert not response.vehicle_mode
    assert [r.plate for r in response.results] == [PLATE_TEXT]
    result = response.results[0]
    assert result.region is not None and result.region.code == "gb"
    assert result.vehicle is not None and not result.vehicle.detected
    assert result.score is not None and result.score > 0.8
    assert response.camera_id == "gate"
    assert response.usage is not None and response.usage.calls == 1
    assert response.usage.max_calls == 0  # an integer, as the SDK's; 0: no quota
    assert response.processing_time is not None and response.processing_time > 0
    assert response.version == 1
    check_plate_mode_result(response.raw["results"][0], mmc=False)


async def test_client_reads_vehicle_mode(engine: EngineServer, plate_jpg: bytes) -> None:
    async with PlateReader(engine.url, retries=0) as reader:
        response = await reader.read(
            plate_jpg, mmc=True, config={"detection_mode": "vehicle", "mode": "fast"}
        )
    assert response.vehicle_mode
    assert [r.plate for r in response.results] == [PLATE_TEXT]
    result = response.results[0]
    assert result.make_model[0].make == "Unknown"
    assert result.color[0].value == "unknown"
    assert result.orientation[0].value == "Unknown"
    raw = response.raw
    assert list(raw)[:5] == ["filename", "timestamp", "camera_id", "processing_time", "results"]
    nested = raw["results"][0]
    assert nested["plate"]["type"] == "Plate"
    assert nested["plate"]["props"]["plate"][0]["value"] == PLATE_TEXT
    assert nested["plate"]["props"]["region"][0]["value"] == "gb"
    assert nested["vehicle"] == {
        "type": "Unknown",
        "score": 0,
        "box": {"xmin": 0, "ymin": 0, "xmax": 0, "ymax": 0},
        "props": {
            "make_model": [{"make": "Unknown", "model": "Unknown", "score": 0}],
            "orientation": [{"value": "Unknown", "score": 0}],
            "color": [{"value": "unknown", "score": 0}],
        },
    }


async def test_client_info(engine: EngineServer, plate_jpg: bytes, http: httpx.AsyncClient) -> None:
    async with PlateReader(engine.url, retries=0) as reader:
        await reader.read(plate_jpg)
        info = await reader.info()
    assert info.version == engine.version
    assert info.calls == 1
    assert info.total_calls is None
    assert info.webhooks == ()
    raw = (await http.get(engine.url + "/info/")).json()
    assert raw == {
        "version": engine.version,
        "license_key": "offline",
        "total_calls": None,
        "usage": {"calls": 1},
        "webhooks": [],
    }


# --- answer shapes ------------------------------------------------------------------------------


async def test_plate_mode_envelope(
    engine: EngineServer, plate_jpg: bytes, http: httpx.AsyncClient
) -> None:
    response = await post_file(http, engine.url, plate_jpg)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    body = response.json()
    assert list(body) == [
        "processing_time",
        "results",
        "filename",
        "version",
        "camera_id",
        "timestamp",
        "usage",
    ]
    assert body["filename"] == "car.jpg"
    assert body["camera_id"] == "null"  # the SDK's string, as in the reference's example
    assert body["usage"] == {"calls": 1, "max_calls": 0}
    assert ReadResponse.from_api(body).parsed_timestamp is not None
    check_plate_mode_result(body["results"][0], mmc=False)


async def test_mmc_and_echoed_fields(
    engine: EngineServer, plate_jpg: bytes, http: httpx.AsyncClient
) -> None:
    response = await post_file(
        http,
        engine.url,
        plate_jpg,
        mmc="true",
        camera_id="cam-7",
        timestamp="2019-08-19T13:11:25",
        regions=["GB", "fr"],
    )
    body = response.json()
    assert body["camera_id"] == "cam-7"
    assert body["timestamp"] == "2019-08-19T13:11:25"
    check_plate_mode_result(body["results"][0], mmc=True)
    response = await post_file(http, engine.url, plate_jpg, mmc="false")
    check_plate_mode_result(response.json()["results"][0], mmc=False)


async def test_engine_config_is_honoured(
    engine: EngineServer, plate_jpg: bytes, http: httpx.AsyncClient
) -> None:
    async def plates(config: str, **fields: str | list[str]) -> list[str]:
        response = await post_file(http, engine.url, plate_jpg, config=config, **fields)
        assert response.status_code == 200, response.text
        return [r["plate"] for r in response.json()["results"]]

    assert await plates('{"mode":"fast"}') == [PLATE_TEXT]
    assert await plates('{"mode":"redaction"}') == [PLATE_TEXT]
    assert await plates('{"threshold_d":0.2,"threshold_o":0.6}') == [PLATE_TEXT]
    assert await plates('{"threshold_d":1.0}') == []  # nothing is detected that surely
    assert await plates('{"text_formats":["[a-z][a-z][0-9][0-9][a-z][a-z][a-z]"]}') == [PLATE_TEXT]
    assert await plates('{"region":"strict"}', regions="gb") == [PLATE_TEXT]
    assert await plates('{"detection_mode":"plate"}') == [PLATE_TEXT]


async def test_detection_rule_strict_keeps_a_close_up_plate(
    engine: EngineServer,
    plate_jpg: bytes,
    http: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The synthetic plate fills half the frame: a close-up (an ANPR camera's view), whose
    # vehicle is larger than the frame; strict keeps it. Dropping plates on no vehicle
    # is tested in tests/engine/test_vehicles.py. detection_rule is no longer a no-op,
    # so nothing is logged about it.
    caplog.set_level(logging.WARNING, logger="plate_engine.server")
    response = await post_file(http, engine.url, plate_jpg, config='{"detection_rule":"strict"}')
    assert [r["plate"] for r in response.json()["results"]] == [PLATE_TEXT]
    assert not [r for r in caplog.records if "detection_rule" in r.getMessage()]


@pytest.fixture
def demo_bytes(demo_jpg: Path) -> bytes:
    return demo_jpg.read_bytes()


async def test_demo_image(engine: EngineServer, demo_bytes: bytes, http: httpx.AsyncClient) -> None:
    response = await post_file(http, engine.url, demo_bytes)
    assert response.status_code == 200
    plates = {r["plate"] for r in response.json()["results"]}
    assert {"by649ag", "za834co"} <= plates


async def test_base64_uploads(
    engine: EngineServer, plate_jpg: bytes, http: httpx.AsyncClient
) -> None:
    encoded = base64.b64encode(plate_jpg).decode()
    wrapped = "\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
    as_text_part = await http.post(engine.url + READ, files={"upload": (None, wrapped)})
    urlencoded = await http.post(engine.url + READ, data={"upload": encoded, "regions": "gb"})
    raw_in_text_part = await http.post(engine.url + READ, files={"upload": (None, plate_jpg)})
    for response in (as_text_part, urlencoded, raw_in_text_part):
        assert response.status_code == 200, response.text
        body = response.json()
        assert [r["plate"] for r in body["results"]] == [PLATE_TEXT]
        assert body["filename"] == "upload.jpg"


async def test_windows_path_filename_is_reduced_to_its_basename(
    engine: EngineServer, plate_jpg: bytes, http: httpx.AsyncClient
) -> None:
    files = {"upload": ("C:\\path\\to\\car.jpg", plate_jpg, "image/jpeg")}
    response = await http.post(engine.url + READ, files=files)
    assert response.json()["filename"] == "car.jpg"


# --- bad input ----------------------------------------------------------------------------------

CORRUPT_JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00garbage" * 50


@pytest.mark.parametrize(
    ("files", "data", "expected"),
    [
        pytest.param(None, {"regions": "gb"}, "'upload' (or 'upload_url') is required", id="none"),
        pytest.param(
            {"upload": ("notes.txt", b"hello, not an image", "text/plain")},
            None,
            "not an image",
            id="not-image",
        ),
        pytest.param(
            {"upload": ("car.jpg", CORRUPT_JPEG, "image/jpeg")}, None, "not an image", id="corrupt"
        ),
        pytest.param({"upload": ("car.jpg", b"", "image/jpeg")}, None, "is empty", id="empty"),
        pytest.param(
            {"upload": (None, "not base64 at all!")}, None, "nor valid base64", id="bad-base64"
        ),
        pytest.param(
            "IMG", {"config": "{mode: fast}"}, "'config' is not valid JSON", id="cfg-json"
        ),
        pytest.param("IMG", {"config": '{"mode":"slow"}'}, "'mode'", id="cfg-value"),
        pytest.param("IMG", {"config": '["fast"]'}, "JSON object", id="cfg-list"),
        pytest.param("IMG", {"config": '{"threshold_d":NaN}'}, "NaN", id="cfg-nan"),
        pytest.param(
            "IMG", {"config": '{"region":"strict"}'}, "needs at least one region", id="strict"
        ),
        pytest.param("IMG", {"mmc": "yes"}, "'mmc' must be 'true' or 'false'", id="mmc"),
        pytest.param("IMG", {"regions": "xyz"}, "not a region code", id="region"),
        pytest.param("IMG", {"regions": "gb,fr"}, "repeat the 'regions' field", id="regions-csv"),
        pytest.param("IMG", {"timestamp": "2019-08-19"}, "no time of day", id="ts-date"),
        pytest.param("IMG", {"timestamp": "yesterday"}, "not ISO 8601", id="ts-text"),
        pytest.param("IMG", {"timestamp": "2019-08-19T13:11:25+02:00"}, "UTC", id="ts-offset"),
        pytest.param(
            "IMG", {"upload_url": "http://127.0.0.1:9/x.jpg"}, "exactly one of", id="both"
        ),
        pytest.param("IMG", {"camera_id": ["a", "b"]}, "more than once", id="dup-field"),
    ],
)
async def test_bad_input_is_a_json_400(
    engine: EngineServer,
    plate_jpg: bytes,
    http: httpx.AsyncClient,
    files: Any,
    data: dict[str, Any] | None,
    expected: str,
) -> None:
    if files == "IMG":
        files = {"upload": ("car.jpg", plate_jpg, "image/jpeg")}
    if files is None:  # httpx sends urlencoded without files: force multipart
        files = {"camera_id": (None, "x")}
    response = await http.post(engine.url + READ, files=files, data=data)
    assert response.status_code == 400, response.text
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    body = response.json()
    assert list(body) == ["error"]
    assert expected in body["error"]
    # The server keeps serving, and a refused request is not a call.
    ok = await post_file(http, engine.url, plate_jpg)
    assert ok.status_code == 200
    assert ok.json()["usage"]["calls"] == 1


async def test_bad_requests_without_a_form(engine: EngineServer, http: httpx.AsyncClient) -> None:
    bare = await http.post(engine.url + READ)
    assert bare.status_code == 400
    assert "'upload' (or 'upload_url') is required" in bare.json()["error"]
    as_json = await http.post(engine.url + READ, json={"upload": "abc"})
    assert as_json.status_code == 400
    assert "Content-Type must be multipart/form-data" in as_json.json()["error"]
    broken = await http.post(
        engine.url + READ,
        content=b"--xyz\r\nno headers here",
        headers={"Content-Type": "multipart/form-data; boundary=xyz"},
    )
    assert broken.status_code == 400
    assert "error" in broken.json()


async def test_region_field_typo_gets_a_hint(
    engine: EngineServer, plate_jpg: bytes, http: httpx.AsyncClient
) -> None:
    # The reference's own "strict region" example sends `region=us-ca` (singular).
    response = await post_file(
        http, engine.url, plate_jpg, region="us-ca", config='{"region":"strict"}'
    )
    assert response.status_code == 400
    assert "the field is 'regions'" in response.json()["error"]


async def test_unknown_fields_are_ignored_and_logged_once(
    engine: EngineServer,
    plate_jpg: bytes,
    http: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="plate_engine.server")
    for _ in range(2):
        response = await post_file(http, engine.url, plate_jpg, colour="red", regions="")
        assert response.status_code == 200
        assert [r["plate"] for r in response.json()["results"]] == [PLATE_TEXT]
    notes = [r.getMessage() for r in caplog.records if "'colour'" in r.getMessage()]
    assert notes == ["ignoring unknown form field 'colour'"]


async def test_oversize_bodies_get_a_json_413(
    recognizer: Recognizer, plate_jpg: bytes, http: httpx.AsyncClient
) -> None:
    limit = 64 * 1024
    big = plate_jpg + b"\x00" * limit
    async with running_engine(recognizer, max_upload_bytes=limit) as engine:
        with_length = await post_file(http, engine.url, big)

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted while read
            boundary = b"--b0undary"
            yield boundary + b'\r\nContent-Disposition: form-data; name="upload"; filename="a.jpg"'
            yield b"\r\nContent-Type: image/jpeg\r\n\r\n"
            for start in range(0, len(big), 8192):
                yield big[start : start + 8192]
            yield b"\r\n" + boundary + b"--\r\n"

        streamed = await http.post(
            engine.url + READ,
            content=chunks(),
            headers={"Content-Type": "multipart/form-data; boundary=b0undary"},
        )
        urlencoded = await http.post(
            engine.url + READ, data={"upload": base64.b64encode(big).decode()}
        )
        for response in (with_length, streamed, urlencoded):
            assert response.status_code == 413
            assert response.headers["Access-Control-Allow-Origin"] == "*"
            assert "byte limit" in response.json()["error"]
        assert (await post_file(http, engine.url, plate_jpg)).status_code == 200


async def test_full_queue_answers_429_and_recovers(
    recognizer: Recognizer, http: httpx.AsyncClient
) -> None:
    # Larger than the first detection pass and without a plate: every read takes the
    # slow path, so the burst below arrives while the first read is still running.
    image = plate_image("KA01AB1234", size=(1920, 1080))
    async with running_engine(recognizer, workers=1, queue=1) as engine:
        responses = await asyncio.gather(*(post_file(http, engine.url, image) for _ in range(8)))
        statuses = sorted(r.status_code for r in responses)
        assert statuses.count(200) >= 1
        assert statuses.count(429) >= 1
        assert set(statuses) == {200, 429}
        throttled = next(r for r in responses if r.status_code == 429)
        assert throttled.json() == THROTTLED
        assert throttled.headers["Retry-After"] == "1"
        assert throttled.headers["Access-Control-Allow-Origin"] == "*"
        ok = await post_file(http, engine.url, plate_image())
        assert ok.status_code == 200
        assert engine.pool.admitted == 0
        assert engine.calls == statuses.count(200) + 1


async def test_quota(recognizer: Recognizer, plate_jpg: bytes, http: httpx.AsyncClient) -> None:
    async with running_engine(recognizer, total_calls=1) as engine:
        first = await post_file(http, engine.url, plate_jpg)
        assert first.json()["usage"] == {"calls": 1, "max_calls": 1}
        second = await post_file(http, engine.url, plate_jpg)
        assert second.status_code == 403
        assert second.json() == {
            "detail": "You do not have enough credits to perform this request."
        }
        async with PlateReader(engine.url, retries=0) as reader:
            with pytest.raises(PlateReaderNoCreditsError):
                await reader.read(plate_jpg)
            info = await reader.info()
        assert (info.calls, info.total_calls, info.remaining) == (1, 1, 0)


# --- routes and CORS ----------------------------------------------------------------------------


async def test_paths_methods_and_cors(
    engine: EngineServer, plate_jpg: bytes, http: httpx.AsyncClient
) -> None:
    without_slash = await http.post(
        engine.url + "/v1/plate-reader", files={"upload": ("car.jpg", plate_jpg)}
    )
    assert without_slash.status_code == 200
    assert (await http.get(engine.url + "/info")).status_code == 200

    preflight = await http.options(
        engine.url + READ,
        headers={
            "Origin": "http://example.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert preflight.headers["Access-Control-Allow-Headers"] == "content-type"
    info_preflight = await http.options(engine.url + "/info/")
    assert info_preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in info_preflight.headers["Access-Control-Allow-Methods"]

    get = await http.get(engine.url + READ)
    assert get.status_code == 405
    assert get.json() == {"detail": 'Method "GET" not allowed.'}
    assert get.headers["Access-Control-Allow-Origin"] == "*"
    post_info = await http.post(engine.url + "/info/")
    assert post_info.status_code == 405
    missing = await http.get(engine.url + "/v1/statistics/")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Not found."}
    assert missing.headers["Access-Control-Allow-Origin"] == "*"


# --- upload_url ---------------------------------------------------------------------------------


@pytest_asyncio.fixture
async def image_site(plate_jpg: bytes, socket_enabled: None) -> AsyncIterator[str]:
    """A local web server: the plate, redirects (good and bad), a big file, a 404."""

    def redirect(location: str) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handler(request: web.Request) -> web.Response:
            raise web.HTTPFound(location)

        return handler

    async def car(request: web.Request) -> web.Response:
        return web.Response(body=plate_jpg, content_type="image/jpeg")

    async def big(request: web.Request) -> web.StreamResponse:
        # Streamed without Content-Length: the limit must be counted, not just declared.
        response = web.StreamResponse(headers={"Content-Type": "image/jpeg"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(plate_jpg)
        for _ in range(64):
            await response.write(b"\x00" * 16384)
        await response.write_eof()
        return response

    released = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        await released.wait()  # never answers while the test runs
        return web.Response(body=plate_jpg, content_type="image/jpeg")

    app = web.Application()
    app.router.add_get("/slow.jpg", slow)
    app.router.add_get("/car.jpg", car)
    app.router.add_get("/big.jpg", big)
    app.router.add_get("/hop1", redirect("/hop2"))
    app.router.add_get("/hop2", redirect("/car.jpg"))
    app.router.add_get("/loop", redirect("/loop"))
    app.router.add_get("/to-file", redirect("file:///etc/passwd"))
    app.router.add_get("/to-ftp", redirect("ftp://127.0.0.1/car.jpg"))
    async with serve_app(app) as url:
        yield url
        released.set()


async def test_upload_url(recognizer: Recognizer, image_site: str, http: httpx.AsyncClient) -> None:
    # 127.0.0.1 is allowed explicitly: by default only public addresses are fetched.
    async with running_engine(
        recognizer,
        max_upload_bytes=512 * 1024,
        # Long enough for a loopback fetch on a busy machine; /slow.jpg never
        # answers, so it still ends in "could not fetch" (after this long).
        fetch_timeout=8.0,
        upload_url_allow=("127.0.0.1",),
    ) as engine:

        async def lookup(url: str) -> httpx.Response:
            return await http.post(engine.url + READ, files={"upload_url": (None, url)})

        for url in (image_site + "/car.jpg", image_site + "/hop1"):
            response = await lookup(url)
            assert response.status_code == 200, response.text
            body = response.json()
            assert [r["plate"] for r in body["results"]] == [PLATE_TEXT]
            assert body["filename"] == "car.jpg"

        # The answer says only "not allowed" or "could not fetch": never the remote
        # status, its content, or whether a port is open (the log has the reason).
        refused = {
            "ftp://127.0.0.1/car.jpg": "upload_url is not allowed",
            "file:///etc/passwd": "upload_url is not allowed",
            image_site + "/to-file": "upload_url is not allowed",
            image_site + "/to-ftp": "upload_url is not allowed",
            image_site + "/loop": "could not fetch upload_url",
            image_site + "/big.jpg": "could not fetch upload_url",
            image_site + "/missing.jpg": "could not fetch upload_url",
            "http://127.0.0.1:9/car.jpg": "could not fetch upload_url",
            image_site + "/slow.jpg": "could not fetch upload_url",
        }
        for url, expected in refused.items():
            response = await lookup(url)
            assert response.status_code == 400, url
            assert response.json() == {"error": expected}, (url, response.text)
        assert engine.calls == 2


async def test_upload_url_can_be_disabled(
    recognizer: Recognizer, image_site: str, http: httpx.AsyncClient
) -> None:
    async with running_engine(recognizer, allow_upload_url=False) as engine:
        response = await http.post(engine.url + READ, data={"upload_url": image_site + "/car.jpg"})
    assert response.status_code == 400
    assert "disabled" in response.json()["error"]


# --- the command line ---------------------------------------------------------------------------


async def test_cli_serves_and_stops_on_sigterm(
    plate_jpg: bytes, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    async with engine_process(workers=1) as engine:
        assert "recogniser loaded in" in engine.lines[0]
        url = engine.url
        assert (await post_file(http, url, plate_jpg)).status_code == 200
        assert (await http.get(url + "/info/")).json()["usage"] == {"calls": 1}
        engine.process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(20):
            rest, _ = await engine.process.communicate()
        assert engine.process.returncode == 0
        assert "stopping" in rest.decode()


def test_cli_refuses_a_bad_webhooks_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bridge.cli import EXIT_USAGE, main

    bad = tmp_path / "hooks.yaml"
    bad.write_text("webhooks:\n  - url: ftp://example.org/\n")
    assert main(["engine", "--webhooks", str(bad)]) == EXIT_USAGE
    assert "webhooks.0.url" in capsys.readouterr().err
