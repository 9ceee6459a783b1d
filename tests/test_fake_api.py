"""Tests of the fake Plate Recognizer API (tests/fake_api), driven with plain httpx."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import threading
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import pytest_asyncio
from homeassistant.core import HomeAssistant

from tests.fake_api import (
    BAD_GATEWAY_BODY,
    GARBAGE_BODY,
    INVALID_TOKEN_BODY,
    NO_CREDITS_BODY,
    NOT_FOUND_BODY,
    PAYLOAD_TOO_LARGE_BODY,
    PROCESSING_TIME_MS,
    SERVER_ERROR_BODY,
    SERVICE_UNAVAILABLE_BODY,
    WRONG_SHAPE_BODY,
    FakePlateRecognizer,
    RecordedRequest,
    jpeg_bytes,
    png_bytes,
    run_in_thread,
    throttled_body,
    to_vehicle_result,
)
from tests.fake_api.ratelimit import SlidingWindowLimiter

AUTH = {"Authorization": "Token test-token"}
PLATE_KEYS = ["box", "plate", "region", "vehicle", "score", "candidates", "dscore"]
CLOUD_TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
ONPREM_TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$")
REFERENCE_PLATE: dict[str, Any] = {
    "box": {"xmin": 143, "ymin": 481, "xmax": 282, "ymax": 575},
    "plate": "nhk552",
    "region": {"code": "gb", "score": 0.747},
    "vehicle": {
        "score": 0.798,
        "type": "Sedan",
        "box": {"xmin": 67, "ymin": 113, "xmax": 908, "ymax": 653},
    },
    "score": 0.904,
    "candidates": [{"score": 0.904, "plate": "nhk552"}],
    "dscore": 0.99,
}
REFERENCE_MMC = {
    "model_make": [{"make": "Riley", "model": "RMF", "score": 0.306}],
    "color": [{"color": "black", "score": 0.937}],
    "orientation": [{"orientation": "Front", "score": 0.937}],
}


@pytest_asyncio.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    """A plain httpx client (plain HTTP to 127.0.0.1 only, so no TLS setup)."""
    async with httpx.AsyncClient(timeout=5, verify=False, trust_env=False) as http:
        yield http


def upload(name: str = "car.jpg", data: bytes | None = None) -> dict[str, Any]:
    """``files=`` for httpx: the upload as a multipart file part."""
    return {"upload": (name, jpeg_bytes() if data is None else data, "image/jpeg")}


async def recognize(
    http: httpx.AsyncClient,
    fake: FakePlateRecognizer,
    data: dict[str, Any] | None = None,
    *,
    files: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    path: str = "/v1/plate-reader/",
) -> httpx.Response:
    """POST to the fake's recognition endpoint; by default a JPEG file part and the token."""
    return await http.post(
        fake.url + path,
        data=data,
        files=upload() if files is None else files,
        headers=AUTH if headers is None else headers,
    )


def multipart_body(
    parts: list[tuple[str, bytes, str | None]], boundary: str = "b0undary"
) -> tuple[bytes, dict[str, str]]:
    """A hand-made multipart body: (name, value, filename-or-None) per part."""
    chunks = []
    for name, value, filename in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        chunks.append(
            f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + value + b"\r\n"
        )
    body = b"".join(chunks) + f"--{boundary}--\r\n".encode()
    headers = {**AUTH, "Content-Type": f"multipart/form-data; boundary={boundary}"}
    return body, headers


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# --- plate-mode shape ------------------------------------------------------------------


async def test_plate_mode_matches_reference_shape(
    fake_api: FakePlateRecognizer, client: httpx.AsyncClient
) -> None:
    response = await recognize(client, fake_api)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == [
        "processing_time",
        "results",
        "filename",
        "version",
        "camera_id",
        "timestamp",
    ]
    assert body["processing_time"] == PROCESSING_TIME_MS
    assert body["version"] == 1
    assert body["camera_id"] is None
    # The default responder's van has no plate: plate mode leaves it out.
    assert body["results"] == [REFERENCE_PLATE]
    assert list(body["results"][0]) == PLATE_KEYS
    assert re.fullmatch(r"\d{4}_[0-9A-Z]{5}_car\.jpg", body["filename"])
    assert CLOUD_TIMESTAMP_RE.match(body["timestamp"])
    assert fake_api.calls == 1
    assert fake_api.last_request.response == body


async def test_mmc_true_adds_make_model_color_orientation(
    fake_api: FakePlateRecognizer, client: httpx.AsyncClient
) -> None:
    response = await recognize(client, fake_api, {"mmc": "true"})

    assert response.status_code == 200
    assert response.json()["results"] == [{**REFERENCE_PLATE, **REFERENCE_MMC}]
    assert fake_api.last_request.mmc is True


@pytest.mark.parametrize("mmc", [None, "false"])
async def test_mmc_fields_absent_without_mmc_true(
    fake_api: FakePlateRecognizer, client: httpx.AsyncClient, mmc: str | None
) -> None:
    data = {} if mmc is None else {"mmc": mmc}
    response = await recognize(client, fake_api, data)

    result = response.json()["results"][0]
    assert not {"model_make", "color", "orientation"} & set(result)
    assert fake_api.last_request.mmc is (None if mmc is None else False)


async def test_camera_id_and_timestamp_are_echoed(
    fake_api: FakePlateRecognizer, client: httpx.AsyncClient
) -> None:
    response = await recognize(
        client, fake_api, {"camera_id": "gate-1", "timestamp": "2019-08-19T13:11:25"}
    )

    body = response.json()
    assert body["camera_id"] == "gate-1"
    assert body["timestamp"] == "2019-08-19T13:11:25"
    assert fake_api.last_request.camera_id == "gate-1"
    assert fake_api.last_request.timestamp == "2019-08-19T13:11:25"


async def test_filename_is_the_basename_of_the_uploaded_file(
    fake_api: FakePlateRecognizer, client: httpx.AsyncClient
) -> None:
    response = await recognize(client, fake_api, files=upload(name="C:\\cams\\gate.jpg"))

    assert response.json()["filename"].endswith("_gate.jpg")
    assert fake_api.last_request.filename == "gate.jpg"


# --- vehicle-mode shape ----------------------------------------------------------------

VEHICLE_MODE_SEDAN_PLATE = {
    "type": "Plate",
    "score": 0.99,
    "box": {"xmin": 143, "ymin": 481, "xmax": 282, "ymax": 575},
    "props": {
        "plate": [{"value": "nhk552", "score": 0.904}],
        "region": [{"value": "gb", "score": 0.747}],
    },
}


async def test_vehicle_mode_shape_includes_vehicle_without_plate(
    fake_api: FakePlateRecognizer, client: httpx.AsyncClient
) -> None:
    response = await recognize(client, fake_api, {"config": '{"detection_mode":"vehicle"}'})

    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["filename", "timestamp", "camera_id", "processing_time", "results"]
    sedan, van = body["results"]
    assert sedan == {
        "plate": VEHICLE_MODE_SEDAN_PLATE,
        "vehicle": {
            "type": "Sedan",
            "score": 0.798,
            "box": {"xmin": 67, "ymin": 113, "xmax": 908, "ymax": 653},
            "props": {},
        },
    }
    assert list(van) == ["vehicle"]
    assert van["vehicle"]["type"] == "Van"


async def test_vehicle_mode_with_mmc_fills_vehicle_props(
    fake_api: FakePlateRecognizer, client: httpx.AsyncClient
) -> None:
    response = await recognize(
        client, fake_api, {"mmc": "true", "config": '{"detection_mode":"vehicle"}'}
    )

    props = response.json()["results"][0]["vehicle"]["props"]
    assert props == {
        "make_model": [{"make": "Riley", "model": "RMF", "score": 0.306}],
        "orientation": [{"value": "Front", "score": 0.937}],
        "color": [{"value": "black", "score": 0.937}],
    }


def test_vehicle_conversion_handles_plate_outside_vehicle_and_top_three() -> None:
    result = {
        **REFERENCE_PLATE,
        "vehicle": {"score": 0, "type": "Unknown", "box": {"xmin": 0}},
        "candidates": [{"plate": "nhk552", "score": 0.9}, {"plate": "nhk55z", "score": 0.4}],
    }
    assert to_vehicle_result(result, mmc=True) == {
        "plate": {
            **VEHICLE_MODE_SEDAN_PLATE,
            "props": {
                "plate": [{"value": "nhk552", "score": 0.9}, {"value": "nhk55z", "score": 0.4}],
                "region": [{"value": "gb", "score": 0.747}],
            },
        }
    }
    colours = [{"color": c, "score": 0.1} for c in ("red", "blue", "green", "white")]
    car = {**REFERENCE_PLATE, "color": colours}
    converted = to_vehicle_result(car, mmc=True)["vehicle"]["props"]["color"]
    assert [c["value"] for c in converted] == ["red", "blue", "green"]


async def test_both_shapes_come_from_the_same_responder(
    fake_api: FakePlateRecognizer, client: httpx.AsyncClient
) -> None:
    def responder(request: RecordedRequest) -> list[dict[str, Any]]:
        return [{**REFERENCE_PLATE, "plate": "abc123", "candidates": [], "score": 0.5}]

    fake_api.responder = responder
    plate_mode = (await recognize(client, fake_api)).json()["results"]
    vehicle_mode = (
        await recognize(client, fake_api, {"config": '{"detection_mode":"vehicle"}'})
    ).json()["results"]

    assert plate_mode[0]["plate"] == "abc123"
    assert vehicle_mode[0]["plate"]["props"]["plate"] == [{"value": "abc123", "score": 0.5}]


# --- responders ------------------------------------------------------------------------


async def test_sync_and_async_responders_see_the_parsed_request(
    fake_api: FakePlateRecognizer, client: httpx.AsyncClient
) -> None:
    seen: list[RecordedRequest] = []

    def sync_responder(request: RecordedRequest) -> list[dict[str, Any]]:
        seen.append(request)
        return []

    async def async_responder(request: RecordedRequest) -> list[dict[str, Any]]:
        await asyncio.sleep(0)
        return [{**REFERENCE_PLATE, "plate": "async1"}]

    fake_api.responder = sync_responder
    empty = await recognize(client, fake_api, {"regions": ["gb"]})
    fake_api.responder = async_responder
    one = await recognize(client, fake_api)

    assert empty.json()["results"] == []
    assert seen[0].regions == ["gb"]
    assert seen[0].upload == jpeg_bytes()
    assert one.json()["results"][0]["plate"] == "async1"
    assert fake_api.calls == 2


async def test_failing_responder_gives_500_and_is_kept(
    fake_api: FakePlateRecognizer, client: httpx.AsyncClient
) -> None:
    def responder(request: RecordedRequest) -> list[dict[str, Any]]:
        raise KeyError("boom")

    fake_api.responder = responder
    response = await recognize(client, fake_api)

    assert response.status_code == 500
    assert response.text == SERVER_ERROR_BODY
    assert isinstance(fake_api.errors[0], KeyError)
    assert fake_api.last_request.error is not None
    assert fake_api.calls == 0


# --- uploads ---------------------------------------------------------------------------


async def test_multipart_file_upload_is_recorded(
    fake_api: FakePlateRecognizer, client: httpx.AsyncClient
) -> None:
    await recognize(client, fake_api)

    request = fake_api.last_request
    assert request.upload == jpeg_bytes()
    assert request.upload_kind == "multipart-file"
    assert request.filename == "car.jpg"
    assert request.upload_content_type == "image/jpeg"
    assert request.content_type == "multipart/form-data"
    assert request.token == "test-token"
    assert request.fields == ["upload"]


async def test_base64_upload_urlencoded(
    fake_api: FakePlateRecognizer, client: httpx.AsyncClient
) -> None:
    image = jpeg_bytes()
    response = await client.post(
        fake_api.recognition_url, data={"upload": b64(image), "regions": "gb"}, headers=AUTH
    )

    assert response.status_code == 200
    request = fake_api.last_request
    assert request.upload == image
    assert request.upload_kind == "base64"
    assert request.content_type == "application/x-www-form-urlencoded"
    assert response.json()["filename"].endswith("_upload.jpg")


async def test_base64_text_part_with_line_breaks_like_the_base64_tool(
    fake_api: FakePlateRecognizer, client: httpx.AsyncClient
) -> None:
    image = png_bytes()
    wrapped = "\n".join(re.findall(".{1,76}", b64(image)))  # `base64 image.jpg` output
    body, headers = multipart_body([("upload", wrapped.encode(), None)])
    response = await client.post(fake_api.recognition_url, content=body, headers=headers)

    assert response.status_code == 200, response.text
    assert fake_api.last_request.upload == image
    assert fake_api.last_request.upload_kind == "base64"


async def test_upload_url_is_recorded_not_fetched(
    fake_api: FakePlateRecognizer, client: httpx.AsyncClient
) -> None:
    url = "https://app.platerecognizer.com/static/demo.jpg"
    response = await client.post(fake_api.recognition_url, data={"upload_url": url}, headers=AUTH)

    assert response.status_code == 200
    request = fake_api.last_request
    assert (request.upload_kind, request.upload_url, request.upload) == ("url", url, None)
    assert request.filename == "demo.jpg"
    assert response.json()["results"] == [REFERENCE_PLATE]


@pytest.mark.parametrize(
    "magic",
    [
        b"\x89PNG\r\n\x1a\n",
        b"GIF87a",
        b"GIF89a",
        b"BM",
        b"RIFF\x00\x00\x00\x00WEBPVP8 ",
        b"\xff\xd8\xff\xdb",
    ],
)
async def test_image_formats_accepted(
    fake_api: FakePlateRecognizer, client: httpx.AsyncClient, magic: bytes
) -> None:
    response = await recognize(client, fake_api, files=upload("x.img", magic + b"\x00" * 16))

    assert response.status_code == 200, response.text


async def test_repeated_regions_are_accepted(
    fake_api: FakePlateRecognizer, client: httpx.AsyncClient
) -> None:
    response = await recognize(client, fake_api, {"regions": ["mx", "us-ca"]})

    assert response.status_code == 200
    assert fake_api.last_request.regions == ["mx", "us-ca"]
    assert fake_api.last_request.fields.count("regions") == 2


async def test_every_valid_config_key_is_accepted(
    fake_api: FakePlateRecognizer, client: httpx.AsyncClient
) -> None:
    config = {
        "detection_rule": "strict",
        "detection_mode": "plate",
        "region": "strict",
        "threshold_d": 0.2,
        "threshold_o": 0,
        "mode": "redaction",
        "text_formats": ["[a-z]{3}[0-9]{3}"],
    }
    response = await recognize(client, fake_api, {"config": json.dumps(config), "regions": "gb"})

    assert response.status_code == 200, response.text
    assert fake_api.last_request.config == config


@pytest.mark.parametrize("timestamp", ["2019-08-19T13:11:25Z", "2019-08-19T13:11:25.123+00:00"])
async def test_utc_timestamps_are_accepted(
    fake_api: FakePlateRecognizer, client: httpx.AsyncClient, timestamp: str
) -> None:
    response = await recognize(client, fake_api, {"timestamp": timestamp})

    assert response.status_code == 200, response.text


# --- validation ------------------------------------------------------------------------

REJECTED_FIELDS: list[tuple[str, dict[str, Any], str]] = [
    ("regions comma-joined", {"regions": "gb,us-ca"}, "'regions'"),
    ("regions as a JSON list", {"regions": '["gb", "us-ca"]'}, "'regions'"),
    ("regions upper case", {"regions": "GB"}, "'regions'"),
    ("regions too long", {"regions": "usa-calif"}, "'regions'"),
    ("regions empty", {"regions": ""}, "'regions'"),
    ("mmc True", {"mmc": "True"}, "'mmc'"),
    ("mmc 1", {"mmc": "1"}, "'mmc'"),
    ("config not JSON", {"config": "{region: strict}"}, "'config'"),
    ("config a list", {"config": '["strict"]'}, "'config'"),
    ("config NaN", {"config": '{"threshold_d": NaN}'}, "'config'"),
    ("config duplicate key", {"config": '{"mode":"fast","mode":"fast"}'}, "'config'"),
    ("config unknown key", {"config": '{"speed": "fast"}'}, "'speed'"),
    ("detection_rule", {"config": '{"detection_rule": "loose"}'}, "'detection_rule'"),
    ("detection_mode", {"config": '{"detection_mode": "car"}'}, "'detection_mode'"),
    ("region", {"config": '{"region": "lenient"}'}, "'region'"),
    ("threshold_d > 1", {"config": '{"threshold_d": 1.5}'}, "'threshold_d'"),
    ("threshold_d bool", {"config": '{"threshold_d": true}'}, "'threshold_d'"),
    ("threshold_o string", {"config": '{"threshold_o": "0.6"}'}, "'threshold_o'"),
    ("threshold_o < 0", {"config": '{"threshold_o": -0.1}'}, "'threshold_o'"),
    ("mode", {"config": '{"mode": "slow"}'}, "'mode'"),
    ("text_formats string", {"config": '{"text_formats": "[a-z]"}'}, "'text_formats'"),
    ("text_formats numbers", {"config": '{"text_formats": [1]}'}, "'text_formats'"),
    ("text_formats bad regex", {"config": '{"text_formats": ["[a-"]}'}, "'text_formats'"),
    ("timestamp words", {"timestamp": "yesterday"}, "'timestamp'"),
    ("timestamp date only", {"timestamp": "2019-08-19"}, "'timestamp'"),
    ("timestamp not UTC", {"timestamp": "2019-08-19T13:11:25+02:00"}, "'timestamp'"),
    ("camera_id stringified None", {"camera_id": "None"}, "'camera_id'"),
    ("camera_id empty", {"camera_id": ""}, "'camera_id'"),
    ("unknown field", {"region": "us-ca"}, "'region' (did you mean 'regions'?)"),
    ("duplicate field", {"camera_id": ["a", "b"]}, "'camera_id'"),
]


@pytest.mark.parametrize(
    ("data", "named"),
    [pytest.param(data, named, id=case) for case, data, named in REJECTED_FIELDS],
)
async def test_bad_fields_are_rejected_naming_the_key(
    fake_api: FakePlateRecognizer, client: httpx.AsyncClient, data: dict[str, Any], named: str
) -> None:
    response = await recognize(client, fake_api, data)

    assert response.status_code == 400
    error = response.json()["error"]
    assert named in error
    assert fake_api.last_request.error == error
    assert fake_api.last_request.status == 400
    assert fake_api.calls == 0


REJECTED_UPLOADS: list[tuple[str, dict[str, Any], str]] = [
    ("no upload at all", {"files": {}, "data": {"camera_id": "x"}}, "'upload'"),
    (
        "upload and upload_url",
        {"files": upload(), "data": {"upload_url": "https://example.com/a.jpg"}},
        "'upload_url'",
    ),
    ("not an image", {"files": upload("car.jpg", b"hello world")}, "'upload'"),
    ("empty file", {"files": upload("car.jpg", b"")}, "'upload'"),
    ("base64 of a non-image", {"files": {}, "data": {"upload": b64(b"text")}}, "'upload'"),
    ("base64 url-safe alphabet", {"files": {}, "data": {"upload": "_-_-"}}, "'upload'"),
    (
        "data URI",
        {"files": {}, "data": {"upload": "data:image/jpeg;base64," + b64(jpeg_bytes())}},
        "'upload'",
    ),
    ("upload_url ftp", {"files": {}, "data": {"upload_url": "ftp://x/a.jpg"}}, "'upload_url'"),
    ("upload_url relative", {"files": {}, "data": {"upload_url": "/a.jpg"}}, "'upload_url'"),
    ("camera_id as a file", {"files": {**upload(), "camera_id": ("c.txt", b"x")}}, "'camera_id'"),
    ("two uploads", {"files": [("upload", ("a.jpg", jpeg_bytes()))] * 2}, "'upload'"),
]


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [pytest.param(kwargs, named, id=case) for case, kwargs, named in REJECTED_UPLOADS],
)
async def test_bad_uploads_are_rejected_naming_the_field(
    fake_api: FakePlateRecognizer, client: httpx.AsyncClient, kwargs: dict[str, Any], named: str
) -> None:
    response = await client.post(fake_api.recognition_url, headers=AUTH, **kwargs)

    assert response.status_code == 400
    assert named in response.json()["error"]
    assert fake_api.last_request.error == response.json()["error"]


async def test_unescaped_plus_in_urlencoded_base64_is_rejected(
    fake_api: FakePlateRecognizer, client: httpx.AsyncClient
) -> None:
    encoded = b64(b"\xff\xd8\xff\xfb\xef\xbe" * 8)  # a JPEG-ish byte string with '+' in base64
    assert "+" in encoded
    headers = {**AUTH, "Content-Type": "application/x-www-form-urlencoded"}
    response = await client.post(
        fake_api.recognition_url, content=f"upload={encoded}", headers=headers
    )

    assert response.status_code == 400
    assert "'+'" in response.json()["error"]


async def test_binary_part_without_filename_is_rejected(
    fake_api: FakePlateRecognizer, client: httpx.AsyncClient
) -> None:
    # aiohttp's FormData sends bytes without a filename like this: a text field to servers.
    body, headers = multipart_body([("upload", jpeg_bytes(), None)])
    response = await client.post(fake_api.recognition_url, content=body, headers=headers)

    assert response.status_code == 400
    assert "'upload'" in response.json()["error"]
    assert "filename" in response.json()["error"]


@pytest.mark.parametrize(
    ("content", "content_type", "named"),
    [
        pytest.param(b'{"upload_url": "https://x/a.jpg"}', "application/json", "Content-Type"),
        pytest.param(b"upload_url=https://x/a.jpg", None, "Content-Type", id="no-content-type"),
        pytest.param(b"--b\r\n", "multipart/form-data", "boundary", id="no-boundary-param"),
        pytest.param(b"upload_url=%ff", "application/x-www-form-urlencoded", "urlencoded"),
        pytest.param("upload_url=é".encode(), "application/x-www-form-urlencoded", "urlencoded"),
    ],
)
async def test_bad_content_types_and_encodings_are_rejected(
    fake_api: FakePlateRecognizer,
    client: httpx.AsyncClient,
    content: bytes,
    content_type: str | None,
    named: str,
) -> None:
    headers = dict(AUTH)
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = await client.post(fake_api.recognition_url, content=content, headers=headers)

    assert response.status_code == 400
    assert named in response.json()["error"]


@pytest.mark.parametrize(
    ("mangle", "named"),
    [
        pytest.param(lambda b: b.replace(b"--b0undary--\r\n", b""), "closing boundary"),
        pytest.param(lambda b: b.replace(b"\r\n", b"\n"), "boundary", id="bare-LF"),
        pytest.param(lambda b: b"preamble\r\n" + b, "start", id="preamble"),
        pytest.param(lambda b: b.replace(b"Content-Disposition", b"X-Nope"), "Content-Disposition"),
    ],
)
async def test_malformed_multipart_is_rejected(
    fake_api: FakePlateRecognizer, client: httpx.AsyncClient, mangle: Any, named: str
) -> None:
    body, headers = multipart_body([("upload", jpeg_bytes(), "car.jpg")])
    response = await client.post(fake_api.recognition_url, content=mangle(body), headers=headers)

    assert response.status_code == 400
    assert named in response.json()["error"]


async def test_query_parameters_are_rejected(
    fake_api: FakePlateRecognizer, client: httpx.AsyncClient
) -> None:
    response = await client.post(
        fake_api.recognition_url, params={"regions": "gb"}, files=upload(), headers=AUTH
    )

    assert response.status_code == 400
    assert "query" in response.json()["error"]
    assert fake_api.last_request.query == "regions=gb"


async def test_validation_comes_after_authentication(
    fake_api: FakePlateRecognizer, client: httpx.AsyncClient
) -> None:
    response = await recognize(client, fake_api, {"mmc": "yes"}, headers={})

    assert response.status_code == 403
    assert fake_api.last_request.mmc is None
    assert fake_api.last_request.fields == ["mmc", "upload"]


# --- engine config filtering -----------------------------------------------------------


def three_plates(request: RecordedRequest) -> list[dict[str, Any]]:
    """A gb plate read well, a us-ca plate detected weakly, an mx plate read badly and
    seen outside any vehicle."""
    zero_box = {"xmin": 0, "ymin": 0, "xmax": 0, "ymax": 0}
    no_vehicle = {"score": 0, "type": "Unknown", "box": zero_box}
    return [
        {**REFERENCE_PLATE, "plate": "gb1", "dscore": 0.9, "score": 0.9},
        {
            **REFERENCE_PLATE,
            "plate": "ca2",
            "dscore": 0.3,
            "score": 0.8,
            "region": {"code": "us-ca", "score": 0.8},
        },
        {
            **REFERENCE_PLATE,
            "plate": "mx3",
            "dscore": 0.8,
            "score": 0.4,
            "region": {"code": "mx", "score": 0.7},
            "vehicle": no_vehicle,
        },
    ]


@pytest.mark.parametrize(
    ("data", "plates"),
    [
        ({}, ["gb1", "ca2", "mx3"]),
        ({"config": '{"threshold_d": 0.5}'}, ["gb1", "mx3"]),
        ({"config": '{"threshold_o": 0.5}'}, ["gb1", "ca2"]),
        ({"config": '{"threshold_d": 0.8, "threshold_o": 0.8}'}, ["gb1"]),
        ({"config": '{"region": "strict"}'}, ["gb1", "ca2", "mx3"]),
        ({"config": '{"region": "strict"}', "regions": ["mx", "gb"]}, ["gb1", "mx3"]),
        ({"config": '{"region": "strict"}', "regions": "us"}, ["ca2"]),
        ({"regions": "us"}, ["gb1", "ca2", "mx3"]),
        ({"config": '{"detection_rule": "strict"}'}, ["gb1", "ca2"]),
    ],
)
async def test_engine_config_filters_results(
    fake_api: FakePlateRecognizer,
    client: httpx.AsyncClient,
    data: dict[str, Any],
    plates: list[str],
) -> None:
    fake_api.responder = three_plates
    response = await recognize(client, fake_api, data)

    assert [result["plate"] for result in response.json()["results"]] == plates


async def test_filters_apply_in_vehicle_mode_but_spare_plateless_vehicles(
    fake_api: FakePlateRecognizer, client: httpx.AsyncClient
) -> None:
    config = '{"detection_mode": "vehicle", "threshold_d": 0.995}'
    response = await recognize(client, fake_api, {"config": config})

    assert [list(result) for result in response.json()["results"]] == [["vehicle"]]


# --- authentication, quota, statistics -------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Token wrong-token"},
        {"Authorization": "Bearer test-token"},
        {"Authorization": "token test-token"},
        {"Authorization": "Token  test-token"},
        {"Authorization": "test-token"},
    ],
)
async def test_bad_authorization_is_403_invalid_token(
    fake_api: FakePlateRecognizer, client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await recognize(client, fake_api, headers=headers)

    assert response.status_code == 403
    assert response.content == b'{"detail":"Invalid token."}'
    assert response.json() == INVALID_TOKEN_BODY
    assert fake_api.calls == 0
    assert len(fake_api.requests) == 1


async def test_any_configured_token_is_accepted(
    client: httpx.AsyncClient, socket_enabled: None
) -> None:
    async with FakePlateRecognizer(tokens=["alpha", "beta"]) as fake:
        beta = await recognize(client, fake, headers={"Authorization": "Token beta"})
        default = await recognize(client, fake)

    assert beta.status_code == 200
    assert default.status_code == 403
    assert fake.requests[0].token == "beta"


@pytest.mark.parametrize("mode", ["cloud", "onprem"])
async def test_quota_exhausted_is_403_no_credits(
    client: httpx.AsyncClient, socket_enabled: None, mode: Any
) -> None:
    async with FakePlateRecognizer(mode=mode, total_calls=2) as fake:
        statuses = [(await recognize(client, fake)).status_code for _ in range(2)]
        refused = await recognize(client, fake)

    assert statuses == [200, 200]
    assert refused.status_code == 403
    assert refused.json() == NO_CREDITS_BODY
    assert fake.calls == 2


async def test_statistics_report_successful_calls(
    fake_api: FakePlateRecognizer, client: httpx.AsyncClient
) -> None:
    await recognize(client, fake_api)
    await recognize(client, fake_api, {"mmc": "maybe"})  # 400: not a call
    await recognize(client, fake_api, headers={})  # 403: not a call
    response = await client.get(fake_api.statistics_url, headers=AUTH)

    assert response.status_code == 200
    now = datetime.now(UTC)
    next_month = (now.year + now.month // 12, now.month % 12 + 1)
    assert response.json() == {
        "usage": {
            "month": now.month,
            "calls": 1,
            "year": now.year,
            "resets_on": f"{next_month[0]:04d}-{next_month[1]:02d}-01T00:00:00Z",
        },
        "total_calls": 2500,
    }
    assert fake_api.statistics_requests == 1


async def test_statistics_start_from_the_given_calls(
    client: httpx.AsyncClient, socket_enabled: None
) -> None:
    async with FakePlateRecognizer(calls=128, total_calls=5000) as fake:
        body = (await client.get(fake.url + "/v1/statistics", headers=AUTH)).json()

    assert (body["usage"]["calls"], body["total_calls"]) == (128, 5000)


async def test_statistics_require_the_token(
    fake_api: FakePlateRecognizer, client: httpx.AsyncClient
) -> None:
    response = await client.get(fake_api.statistics_url)

    assert response.status_code == 403
    assert response.json() == INVALID_TOKEN_BODY


async def test_info_is_404_in_cloud_mode(
    fake_api: FakePlateRecognizer, client: httpx.AsyncClient
) -> None:
    response = await client.get(fake_api.info_url, headers=AUTH)

    assert response.status_code == 404
    assert response.json() == NOT_FOUND_BODY


# --- on-premise ------------------------------------------------------------------------


async def test_onprem_response_shape_without_auth(
    fake_onprem: FakePlateRecognizer, client: httpx.AsyncClient
) -> None:
    response = await recognize(client, fake_onprem, headers={})

    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["usage", "results", "camera_id", "timestamp", "filename"]
    assert body["usage"] == {"max_calls": 2500, "calls": 1}
    assert body["results"] == [REFERENCE_PLATE]
    assert body["camera_id"] == "null"  # the reference's quirk: a string
    assert body["filename"] == "car.jpg"
    assert ONPREM_TIMESTAMP_RE.match(body["timestamp"])


async def test_onprem_tolerates_any_authorization_and_echoes_camera(
    fake_onprem: FakePlateRecognizer, client: httpx.AsyncClient
) -> None:
    response = await recognize(
        client, fake_onprem, {"camera_id": "cam"}, headers={"Authorization": "Token whatever"}
    )

    assert response.status_code == 200
    assert response.json()["camera_id"] == "cam"
    assert fake_onprem.last_request.token == "whatever"


async def test_onprem_vehicle_mode_keeps_the_onprem_envelope(
    fake_onprem: FakePlateRecognizer, client: httpx.AsyncClient
) -> None:
    response = await recognize(client, fake_onprem, {"config": '{"detection_mode":"vehicle"}'})

    body = response.json()
    assert list(body) == ["usage", "results", "camera_id", "timestamp", "filename"]
    assert body["results"][0]["plate"] == VEHICLE_MODE_SEDAN_PLATE


async def test_onprem_info_counts_calls(
    fake_onprem: FakePlateRecognizer, client: httpx.AsyncClient
) -> None:
    await recognize(client, fake_onprem)
    await recognize(client, fake_onprem)
    slash = await client.get(fake_onprem.info_url)
    no_slash = await client.get(fake_onprem.url + "/info")

    assert slash.status_code == 200
    assert slash.json() == {
        "version": "1.3.8",
        "license_key": "XXX",
        "total_calls": 2500,
        "usage": {"calls": 2},
        "webhooks": [],
    }
    assert no_slash.json() == slash.json()
    assert fake_onprem.info_requests == 2


async def test_onprem_has_no_statistics_and_no_rate_limit(
    fake_onprem: FakePlateRecognizer, client: httpx.AsyncClient
) -> None:
    fake_onprem.rate_limit = 1
    statuses = [(await recognize(client, fake_onprem)).status_code for _ in range(3)]
    statistics = await client.get(fake_onprem.statistics_url, headers=AUTH)

    assert statuses == [200, 200, 200]
    assert statistics.status_code == 404


# --- rate limiting ---------------------------------------------------------------------


async def test_throttled_body_is_exact_with_retry_after(
    fake_api: FakePlateRecognizer, client: httpx.AsyncClient
) -> None:
    fake_api.rate_limit = 1
    fake_api.clock = lambda: 100.0  # both within one second, however slow the machine
    first = await recognize(client, fake_api)
    second = await recognize(client, fake_api)

    assert first.status_code == 200
    assert second.status_code == 429
    assert second.content == (
        b'{"detail":"Request was throttled. Expected available in 1 second.","status_code":429}'
    )
    assert second.headers["Retry-After"] == "1"
    assert fake_api.calls == 1


async def test_throttle_wait_is_pluralised(
    fake_api: FakePlateRecognizer, client: httpx.AsyncClient
) -> None:
    fake_api.rate_limit = 0.25  # one lookup per 4 seconds
    fake_api.clock = lambda: 100.0  # the second right after the first
    await recognize(client, fake_api)
    second = await recognize(client, fake_api)

    assert second.json() == {
        "detail": "Request was throttled. Expected available in 4 seconds.",
        "status_code": 429,
    }
    assert second.headers["Retry-After"] == "4"


async def test_throttle_is_per_token_and_frees_up(
    client: httpx.AsyncClient, socket_enabled: None
) -> None:
    now = [100.0]  # the fake's clock, moved by hand: no real waits, no races
    async with FakePlateRecognizer(tokens=["a", "b"], rate_limit=5) as fake:
        fake.clock = lambda: now[0]
        burst = [
            (await recognize(client, fake, headers={"Authorization": "Token a"})).status_code
            for _ in range(6)
        ]
        other = await recognize(client, fake, headers={"Authorization": "Token b"})
        now[0] += 1.05
        later = await recognize(client, fake, headers={"Authorization": "Token a"})

    assert burst == [200] * 5 + [429]
    assert other.status_code == 200
    assert later.status_code == 200


def test_sliding_window_limiter_arithmetic() -> None:
    limiter = SlidingWindowLimiter()
    assert [limiter.check("t", 2, now) for now in (0.0, 0.1)] == [None, None]
    assert limiter.check("t", 2, 0.2) == 1  # both slots busy until t=1.0
    assert limiter.check("t", 2, 1.0) is None  # the first slot slid out
    assert limiter.check("t", 0.5, 10.0) is None
    assert limiter.check("t", 0.5, 10.5) == 2  # one per 2 s: free at 12.0, 1.5 s away
    with pytest.raises(ValueError, match="positive"):
        limiter.check("t", 0, 0)


def test_throttled_body_pluralisation() -> None:
    assert throttled_body(1)["detail"].endswith("in 1 second.")
    assert throttled_body(2)["detail"].endswith("in 2 seconds.")


# --- size limit ------------------------------------------------------------------------


async def test_body_over_max_upload_bytes_is_413(
    client: httpx.AsyncClient, socket_enabled: None
) -> None:
    async with FakePlateRecognizer(max_upload_bytes=2000) as fake:
        small = await recognize(client, fake)
        big = await recognize(client, fake, files=upload(data=jpeg_bytes() + b"\0" * 2000))

    assert small.status_code == 200
    assert big.status_code == 413
    assert big.text == PAYLOAD_TOO_LARGE_BODY
    assert big.headers["content-type"].startswith("text/html")
    assert fake.requests[1].body_size > 2000
    assert fake.calls == 1


# --- scripted faults -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (403, INVALID_TOKEN_BODY),
        (413, PAYLOAD_TOO_LARGE_BODY),
        (429, throttled_body(1)),
        (500, SERVER_ERROR_BODY),
        (502, BAD_GATEWAY_BODY),
        (503, SERVICE_UNAVAILABLE_BODY),
    ],
)
async def test_scripted_status_faults_use_real_bodies(
    fake_api: FakePlateRecognizer, client: httpx.AsyncClient, status: int, expected: Any
) -> None:
    fake_api.fail_next(status)
    faulted = await recognize(client, fake_api)
    after = await recognize(client, fake_api)

    assert faulted.status_code == status
    assert (faulted.json() if isinstance(expected, dict) else faulted.text) == expected
    assert fake_api.requests[0].fault == str(status)
    assert fake_api.requests[0].status == status
    assert after.status_code == 200
    assert fake_api.calls == 1


async def test_scripted_403_with_no_credits_body(
    fake_api: FakePlateRecognizer, client: httpx.AsyncClient
) -> None:
    fake_api.fail_next(403, body=NO_CREDITS_BODY)
    response = await recognize(client, fake_api)

    assert response.status_code == 403
    assert response.json() == NO_CREDITS_BODY


async def test_scripted_429_sends_retry_after(
    fake_api: FakePlateRecognizer, client: httpx.AsyncClient
) -> None:
    fake_api.fail_next(429)
    response = await recognize(client, fake_api)

    assert response.headers["Retry-After"] == "1"


async def test_faults_are_served_in_order(
    fake_api: FakePlateRecognizer, client: httpx.AsyncClient
) -> None:
    fake_api.fail_next(500)
    fake_api.fail_next(503, times=2)
    fake_api.fail_next("wrong-shape")
    assert fake_api.pending_faults == 4
    statuses = [(await recognize(client, fake_api)).status_code for _ in range(5)]

    assert statuses == [500, 503, 503, 200, 200]
    assert [r.fault for r in fake_api.requests] == ["500", "503", "503", "wrong-shape", None]
    assert fake_api.calls == 1


async def test_garbage_fault_is_not_json(
    fake_api: FakePlateRecognizer, client: httpx.AsyncClient
) -> None:
    fake_api.fail_next("garbage")
    response = await recognize(client, fake_api)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.content == GARBAGE_BODY
    with pytest.raises(ValueError):  # noqa: PT011 - json's decode error
        response.json()


async def test_wrong_shape_fault(fake_api: FakePlateRecognizer, client: httpx.AsyncClient) -> None:
    fake_api.fail_next("wrong-shape")
    default = await recognize(client, fake_api)
    fake_api.fail_next("wrong-shape", body=[1, 2])
    custom = await recognize(client, fake_api)

    assert default.json() == WRONG_SHAPE_BODY
    assert custom.json() == [1, 2]


async def test_custom_fault_body_and_content_type(
    fake_api: FakePlateRecognizer, client: httpx.AsyncClient
) -> None:
    fake_api.fail_next(500, body="oops", content_type="text/plain")
    response = await recognize(client, fake_api)

    assert (response.status_code, response.text) == (500, "oops")
    assert response.headers["content-type"].startswith("text/plain")


async def test_drop_fault_closes_without_response(
    fake_api: FakePlateRecognizer, client: httpx.AsyncClient
) -> None:
    fake_api.fail_next("drop")
    with pytest.raises(httpx.RemoteProtocolError):
        await recognize(client, fake_api, {"camera_id": "cam"})
    after = await recognize(client, fake_api)

    dropped = fake_api.requests[0]
    assert (dropped.fault, dropped.status, dropped.camera_id) == ("drop", None, "cam")
    assert dropped.upload == jpeg_bytes()
    assert after.status_code == 200


async def test_timeout_ish_fault_hangs_until_stop(
    client: httpx.AsyncClient, socket_enabled: None
) -> None:
    fake = FakePlateRecognizer()
    await fake.start()
    try:
        fake.fail_next("timeout-ish")
        # Long enough for a busy machine to connect and send (it is recorded), then the
        # answer never comes.
        with pytest.raises(httpx.ReadTimeout):
            await client.post(fake.recognition_url, files=upload(), headers=AUTH, timeout=2.0)
        assert fake.last_request.status is None
    finally:
        started = time.monotonic()
        await fake.stop()
    # Released by stop(), not after hang_seconds (300 s): a bound no busy machine nears.
    assert time.monotonic() - started < fake.hang_seconds / 10


async def test_faults_can_target_statistics(
    fake_api: FakePlateRecognizer, client: httpx.AsyncClient
) -> None:
    fake_api.fail_next(502, endpoint="statistics")
    recognition = await recognize(client, fake_api)
    statistics = await client.get(fake_api.statistics_url, headers=AUTH)
    fake_api.fail_next("drop", endpoint="any")
    with pytest.raises(httpx.RemoteProtocolError):
        await client.get(fake_api.statistics_url, headers=AUTH)

    assert recognition.status_code == 200
    assert statistics.status_code == 502
    assert fake_api.pending_faults == 0


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((200,), {}), (("explode",), {}), ((500, 0), {}), ((500,), {"endpoint": "nowhere"})],
)
def test_fail_next_rejects_bad_arguments(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each message differs
        FakePlateRecognizer().fail_next(*args, **kwargs)


async def test_delay_slows_every_answer(
    fake_api: FakePlateRecognizer, client: httpx.AsyncClient
) -> None:
    fake_api.delay = 0.25
    started = time.monotonic()
    ok = await recognize(client, fake_api)
    refused = await recognize(client, fake_api, headers={})
    elapsed = time.monotonic() - started

    assert (ok.status_code, refused.status_code) == (200, 403)
    assert elapsed >= 0.5


# --- paths, methods, CORS --------------------------------------------------------------


async def test_path_without_trailing_slash_is_accepted(
    fake_api: FakePlateRecognizer, client: httpx.AsyncClient
) -> None:
    response = await recognize(client, fake_api, path="/v1/plate-reader")

    assert response.status_code == 200
    assert fake_api.last_request.path == "/v1/plate-reader"


async def test_unknown_path_is_json_404(
    fake_api: FakePlateRecognizer, client: httpx.AsyncClient
) -> None:
    response = await recognize(client, fake_api, path="/v1/plate-readers/")

    assert response.status_code == 404
    assert response.json() == NOT_FOUND_BODY
    assert fake_api.requests == []


async def test_get_on_recognition_is_405(
    fake_api: FakePlateRecognizer, client: httpx.AsyncClient
) -> None:
    response = await client.get(fake_api.recognition_url, headers=AUTH)

    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "GET" not allowed.'}
    assert response.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("headers", [AUTH, {}])
async def test_cors_header_on_recognition_answers(
    fake_api: FakePlateRecognizer, client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await recognize(client, fake_api, headers=headers)

    assert response.headers["Access-Control-Allow-Origin"] == "*"


async def test_cors_preflight(fake_api: FakePlateRecognizer, client: httpx.AsyncClient) -> None:
    response = await client.options(
        fake_api.recognition_url,
        headers={
            "Origin": "https://example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization",
        },
    )

    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert response.headers["Access-Control-Allow-Headers"] == "authorization"
    assert fake_api.requests == []


# --- lifecycle -------------------------------------------------------------------------


async def test_url_lifecycle(client: httpx.AsyncClient, socket_enabled: None) -> None:
    fake = FakePlateRecognizer()
    with pytest.raises(RuntimeError, match="not started"):
        _ = fake.url
    async with fake:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", fake.url)
        assert fake.recognition_url == fake.url + "/v1/plate-reader/"
        with pytest.raises(RuntimeError, match="already started"):
            await fake.start()
    with pytest.raises(httpx.ConnectError):
        await recognize(client, fake)


def test_constructor_rejects_bad_options() -> None:
    with pytest.raises(ValueError, match="mode"):
        FakePlateRecognizer(mode="edge")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="tokens"):
        FakePlateRecognizer(tokens="test-token")


async def test_reset_forgets_everything(
    fake_api: FakePlateRecognizer, client: httpx.AsyncClient
) -> None:
    fake_api.rate_limit = 1
    fake_api.clock = lambda: 100.0  # without reset(), the next lookup would be throttled
    await recognize(client, fake_api)
    fake_api.fail_next(500)
    fake_api.reset()
    response = await recognize(client, fake_api)

    assert response.status_code == 200  # neither the fault nor the throttle survived
    assert len(fake_api.requests) == 1
    assert fake_api.calls == 1


def test_run_in_thread_serves_sync_clients(socket_enabled: None) -> None:
    with run_in_thread(mode="onprem") as fake, httpx.Client(trust_env=False) as http:
        fake.fail_next(503)
        statuses = [http.post(fake.recognition_url, files=upload()).status_code for _ in range(2)]
        info = http.get(fake.info_url).json()

    assert statuses == [503, 200]
    assert info["usage"]["calls"] == 1
    assert not [t for t in threading.enumerate() if t.name == "fake-plate-recognizer"]


def test_run_in_thread_reports_start_failure(socket_enabled: None) -> None:
    with (
        run_in_thread() as first,
        pytest.raises(RuntimeError, match="failed to start"),
        run_in_thread(port=int(first.url.rsplit(":", 1)[1])),
    ):
        pass


def test_fake_api_thread_fixture(fake_api_thread: FakePlateRecognizer) -> None:
    with httpx.Client(trust_env=False) as http:
        response = http.get(fake_api_thread.statistics_url, headers=AUTH)

    assert response.status_code == 200


async def test_serves_inside_the_home_assistant_loop(
    hass: HomeAssistant, fake_api: FakePlateRecognizer, client: httpx.AsyncClient
) -> None:
    assert hass.loop is asyncio.get_running_loop()
    response = await recognize(client, fake_api)

    assert response.status_code == 200
