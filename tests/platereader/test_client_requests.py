"""What the client sends: checked by the fake API, which parses requests strictly."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from platereader import EngineConfig, PlateReader, PlateReaderConfigError, PlateReaderImageError
from tests.fake_api import FakePlateRecognizer
from tests.platereader.conftest import make_jpeg

TOKEN = "test-token"


def cloud(fake: FakePlateRecognizer, **kwargs: object) -> PlateReader:
    return PlateReader(fake.url, TOKEN, rate_limit=None, **kwargs)  # type: ignore[arg-type]


async def test_multipart_upload_with_every_field(
    fake_api: FakePlateRecognizer, jpeg: bytes
) -> None:
    when = datetime(2019, 8, 19, 15, 11, 25, tzinfo=timezone(timedelta(hours=2)))
    async with cloud(fake_api) as reader:
        await reader.read(
            jpeg,
            regions=["mx", "us-ca"],
            camera_id="gate",
            timestamp=when,
            mmc=True,
            config={"region": "strict", "threshold_d": 0.2, "mode": "fast"},
            filename="car.jpg",
        )
    sent = fake_api.last_request
    assert sent.error is None and sent.status == 200
    assert sent.token == TOKEN
    assert sent.content_type == "multipart/form-data"
    assert sent.upload_kind == "multipart-file"
    assert sent.upload == jpeg
    assert sent.filename == "car.jpg"
    assert sent.upload_content_type == "image/jpeg"
    assert sent.regions == ["mx", "us-ca"]  # repeated fields, in order
    assert sent.fields.count("regions") == 2
    assert sent.camera_id == "gate"
    assert sent.timestamp == "2019-08-19T13:11:25"  # converted to UTC, as the reference shows
    assert sent.mmc is True
    assert sent.config == {"region": "strict", "threshold_d": 0.2, "mode": "fast"}


async def test_optional_fields_are_left_out(fake_api: FakePlateRecognizer, jpeg: bytes) -> None:
    async with cloud(fake_api) as reader:
        await reader.read(jpeg)
    sent = fake_api.last_request
    assert sent.fields == ["upload"]
    assert sent.mmc is None and sent.config is None and sent.regions == []


async def test_mmc_false_and_empty_config(fake_api: FakePlateRecognizer, jpeg: bytes) -> None:
    async with cloud(fake_api) as reader:
        await reader.read(jpeg, mmc=False, config={}, regions="gb")
    sent = fake_api.last_request
    assert sent.mmc is False
    assert "config" not in sent.fields  # nothing to say: the server's defaults apply
    assert sent.regions == ["gb"]  # a lone string is one region, not "g", "b"


async def test_path_input(fake_api: FakePlateRecognizer, tmp_path: Path, jpeg: bytes) -> None:
    path = tmp_path / "front.jpeg"
    path.write_bytes(jpeg)
    async with cloud(fake_api) as reader:
        await reader.read(path)
        await reader.read(str(path))
    first, second = fake_api.requests
    assert first.upload == second.upload == jpeg
    assert first.filename == "front.jpeg"


async def test_base64_and_data_uri_input(fake_api: FakePlateRecognizer, jpeg: bytes) -> None:
    text = base64.b64encode(jpeg).decode()
    async with cloud(fake_api) as reader:
        await reader.read(text)
        await reader.read("data:image/jpeg;base64," + text)
    assert [r.upload for r in fake_api.requests] == [jpeg, jpeg]


async def test_url_input_is_sent_as_upload_url(fake_api: FakePlateRecognizer) -> None:
    url = "https://example.com/static/demo.jpg"
    async with cloud(fake_api) as reader:
        await reader.read(url)
    sent = fake_api.last_request
    assert sent.upload_kind == "url"
    assert sent.upload_url == url
    assert sent.upload is None
    assert "upload" not in sent.fields


async def test_onprem_sends_no_token(fake_onprem: FakePlateRecognizer, jpeg: bytes) -> None:
    async with PlateReader(fake_onprem.url) as reader:
        assert not reader.is_cloud
        assert reader.limiter.unlimited
        response = await reader.read(jpeg)
    assert "authorization" not in fake_onprem.last_request.headers
    assert response.usage is not None and response.usage.calls == 1


async def test_cloud_defaults_to_free_plan_rate(fake_api: FakePlateRecognizer) -> None:
    reader = PlateReader(fake_api.url, TOKEN)
    assert reader.limiter.rate == 1.0
    assert PlateReader(fake_api.url, TOKEN, rate_limit=8).limiter.rate == 8
    await reader.close()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"colour": "red"}, "unknown key 'colour'"),
        ({"mode": "slow"}, "key 'mode'"),
        ({"threshold_d": 1.5}, "key 'threshold_d'"),
        ({"threshold_o": -0.1}, "key 'threshold_o'"),
        ({"detection_rule": "loose"}, "key 'detection_rule'"),
        ({"detection_mode": "plate"}, "key 'detection_mode'"),
        ({"region": "loose"}, "key 'region'"),
        ({"text_formats": ["[0-9"]}, "key 'text_formats'"),
        ('{"mode": ', "not valid JSON"),
        ("[]", "must be a JSON object"),
    ],
)
async def test_bad_engine_config_is_refused_before_any_request(
    fake_api: FakePlateRecognizer, jpeg: bytes, config: object, message: str
) -> None:
    async with cloud(fake_api) as reader:
        with pytest.raises(PlateReaderConfigError, match=message):
            await reader.read(jpeg, config=config)  # type: ignore[arg-type]
    assert fake_api.requests == []


async def test_strict_region_needs_regions(fake_api: FakePlateRecognizer, jpeg: bytes) -> None:
    async with cloud(fake_api) as reader:
        with pytest.raises(PlateReaderConfigError, match="needs at least one region"):
            await reader.read(jpeg, config={"region": "strict"})
    assert fake_api.requests == []


def test_every_config_key_round_trips() -> None:
    config = EngineConfig.parse(
        '{"detection_rule":"strict","detection_mode":"vehicle","region":"strict",'
        '"threshold_d":0.2,"threshold_o":0.6,"mode":"redaction","text_formats":["[a-z]{3}[0-9]{3}"]}'
    )
    assert config is not None
    assert config.to_api() == {
        "detection_rule": "strict",
        "detection_mode": "vehicle",
        "region": "strict",
        "threshold_d": 0.2,
        "threshold_o": 0.6,
        "mode": "redaction",
        "text_formats": ["[a-z]{3}[0-9]{3}"],
    }
    assert config.is_vehicle_mode
    assert EngineConfig.parse(config) is config
    assert EngineConfig.parse(None) is None


@pytest.mark.parametrize("region", ["GB,FR", "united kingdom", "", "g"])
async def test_bad_region_codes_are_refused(
    fake_api: FakePlateRecognizer, jpeg: bytes, region: str
) -> None:
    async with cloud(fake_api) as reader:
        with pytest.raises(PlateReaderConfigError, match="region"):
            await reader.read(jpeg, regions=[region])
    assert fake_api.requests == []


async def test_region_codes_are_normalised(fake_api: FakePlateRecognizer, jpeg: bytes) -> None:
    async with cloud(fake_api) as reader:
        await reader.read(jpeg, regions=[" GB ", "US-CA"])
    assert fake_api.last_request.regions == ["gb", "us-ca"]


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (b"", "empty"),
        (b"not an image at all", "not a readable image"),
        ("no such file and not base64 !!", "neither an existing file"),
        (Path("/nonexistent/car.jpg"), "cannot read file"),
        (12345, "unsupported image type"),
    ],
)
async def test_bad_images_are_refused_before_any_request(
    fake_api: FakePlateRecognizer, image: object, message: str
) -> None:
    async with cloud(fake_api) as reader:
        with pytest.raises(PlateReaderImageError, match=message):
            await reader.read(image)  # type: ignore[arg-type]
    assert fake_api.requests == []


async def test_timestamp_text_and_naive_datetime(
    fake_api: FakePlateRecognizer, jpeg: bytes
) -> None:
    async with cloud(fake_api) as reader:
        await reader.read(jpeg, timestamp="2020-01-16T17:00:00+01:00")
        await reader.read(jpeg, timestamp=datetime(2020, 1, 16, 16, 0, tzinfo=UTC))
        with pytest.raises(PlateReaderConfigError, match="ISO 8601"):
            await reader.read(jpeg, timestamp="yesterday")
    assert [r.timestamp for r in fake_api.requests] == ["2020-01-16T16:00:00"] * 2


async def test_injected_session_is_used_and_left_open(
    fake_api: FakePlateRecognizer, jpeg: bytes
) -> None:
    seen: list[str] = []

    async def hook(request: httpx.Request) -> None:
        seen.append(request.url.path)

    async with httpx.AsyncClient(event_hooks={"request": [hook]}) as session:
        async with PlateReader(fake_api.url, TOKEN, session=session, rate_limit=None) as reader:
            await reader.read(jpeg)
        assert not session.is_closed  # Home Assistant's shared client must survive us
        assert seen == ["/v1/plate-reader/"]


async def test_own_session_is_closed(fake_api: FakePlateRecognizer, jpeg: bytes) -> None:
    reader = cloud(fake_api)
    await reader.read(jpeg)
    session = reader._session
    await reader.close()
    assert session is not None and session.is_closed


def test_bad_constructor_arguments() -> None:
    with pytest.raises(PlateReaderConfigError, match="http"):
        PlateReader("ftp://example.com")
    with pytest.raises(PlateReaderConfigError, match="token is empty"):
        PlateReader(token="  ")
    with pytest.raises(PlateReaderConfigError, match="retries"):
        PlateReader(token="x", retries=-1)
    with pytest.raises(PlateReaderConfigError, match="max_upload_bytes"):
        PlateReader(token="x", max_upload_bytes=10)


async def test_big_image_is_shrunk_before_upload(fake_api: FakePlateRecognizer) -> None:
    big = make_jpeg(1600, 1200, noise=True)
    limit = 200 * 1024
    assert len(big) > limit
    async with cloud(fake_api, max_upload_bytes=limit) as reader:
        response = await reader.read(big)
    sent = fake_api.last_request
    assert sent.upload is not None and len(sent.upload) <= limit
    assert sent.upload_content_type == "image/jpeg"
    # Boxes come back in the original image's coordinates.
    assert response.scale > 1
    plate = response.results[0]
    assert plate.box is not None
    assert plate.box.xmin == round(143 * response.scale)
