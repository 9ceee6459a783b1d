"""What the client makes of the answers: both shapes, MMC, on-premise, statistics, info."""

from __future__ import annotations

import pytest

from platereader import PlateReader, PlateReaderResponseError
from tests.fake_api import FakePlateRecognizer, RecordedRequest

TOKEN = "test-token"


async def test_plate_mode_without_mmc(fake_api: FakePlateRecognizer, jpeg: bytes) -> None:
    async with PlateReader(fake_api.url, TOKEN, rate_limit=None) as reader:
        response = await reader.read(jpeg, camera_id="drive")
    assert not response.vehicle_mode
    assert response.camera_id == "drive"
    assert response.version == 1
    assert response.processing_time == pytest.approx(288.758)
    assert response.parsed_timestamp is not None
    assert len(response.results) == 1  # plate mode leaves out the van without a plate
    plate = response.results[0]
    assert plate.plate == "nhk552"
    assert plate.score == pytest.approx(0.904) and plate.dscore == pytest.approx(0.99)
    assert plate.box is not None and (plate.box.xmin, plate.box.ymax) == (143, 575)
    assert plate.region is not None and plate.region.code == "gb"
    assert plate.vehicle is not None and plate.vehicle.type == "Sedan" and plate.vehicle.detected
    assert [c.plate for c in plate.candidates] == ["nhk552"]
    assert plate.make_model == () and plate.color == () and plate.orientation == ()
    assert plate.raw["plate"] == "nhk552"
    assert response.best is plate


async def test_plate_mode_with_mmc(fake_api: FakePlateRecognizer, jpeg: bytes) -> None:
    async with PlateReader(fake_api.url, TOKEN, rate_limit=None) as reader:
        response = await reader.read(jpeg, mmc=True)
    plate = response.results[0]
    assert [(m.make, m.model) for m in plate.make_model] == [("Riley", "RMF")]
    assert [c.value for c in plate.color] == ["black"]
    assert [o.value for o in plate.orientation] == ["Front"]


async def test_vehicle_mode_nested_shape(fake_api: FakePlateRecognizer, jpeg: bytes) -> None:
    async with PlateReader(fake_api.url, TOKEN, rate_limit=None) as reader:
        response = await reader.read(jpeg, mmc=True, config={"detection_mode": "vehicle"})
    assert response.vehicle_mode
    with_plate, without_plate = response.results
    assert with_plate.plate == "nhk552" and with_plate.has_plate
    assert with_plate.region is not None and with_plate.region.code == "gb"
    assert with_plate.dscore is not None and with_plate.score is not None
    assert with_plate.vehicle is not None and with_plate.vehicle.type == "Sedan"
    assert [m.make for m in with_plate.make_model] == ["Riley"]
    assert with_plate.color[0].value == "black"
    assert without_plate.plate is None and without_plate.box is None
    assert without_plate.vehicle is not None and without_plate.vehicle.type == "Van"
    assert response.plates == (with_plate,)
    assert "props" in with_plate.raw["plate"]


async def test_results_follow_the_responder(fake_api: FakePlateRecognizer, jpeg: bytes) -> None:
    def two_plates(request: RecordedRequest) -> list[dict[str, object]]:
        box = {"xmin": 1, "ymin": 2, "xmax": 30, "ymax": 12}
        no_vehicle = {"score": 0, "type": "Unknown", "box": dict.fromkeys(box, 0)}
        return [
            {
                "box": box,
                "plate": "abc123",
                "score": 0.7,
                "dscore": 0.8,
                "candidates": [
                    {"plate": "abc123", "score": 0.7},
                    {"plate": "abc12e", "score": 0.2},
                ],
                "region": {"code": "us-ca", "score": 0.6},
                "vehicle": no_vehicle,
            },
            {
                "box": box,
                "plate": "xyz789",
                "score": 0.95,
                "dscore": 0.9,
                "candidates": [],
                "region": {"code": "us-ca", "score": 0.6},
                "vehicle": no_vehicle,
            },
        ]

    fake_api.responder = two_plates
    async with PlateReader(fake_api.url, TOKEN, rate_limit=None) as reader:
        response = await reader.read(jpeg)
    assert [r.plate for r in response.results] == ["abc123", "xyz789"]
    assert response.best is not None and response.best.plate == "xyz789"
    assert [c.plate for c in response.results[0].candidates] == ["abc123", "abc12e"]
    vehicle = response.results[0].vehicle
    assert vehicle is not None and not vehicle.detected  # score 0, box all zeros


async def test_onprem_answer(fake_onprem: FakePlateRecognizer, jpeg: bytes) -> None:
    async with PlateReader(fake_onprem.url) as reader:
        first = await reader.read(jpeg)
        second = await reader.read(jpeg, camera_id="porch")
    assert first.camera_id is None  # the SDK's string "null" means none
    assert second.camera_id == "porch"
    assert second.usage is not None and second.usage.calls == 2
    assert second.usage.max_calls == fake_onprem.total_calls
    assert second.results[0].plate == "nhk552"


async def test_statistics(fake_api: FakePlateRecognizer, jpeg: bytes) -> None:
    fake_api.total_calls = 10
    async with PlateReader(fake_api.url, TOKEN, rate_limit=None) as reader:
        await reader.read(jpeg)
        await reader.read(jpeg)
        stats = await reader.statistics()
    assert (stats.calls, stats.total_calls, stats.remaining) == (2, 10, 8)
    assert 1 <= stats.month <= 12 and stats.year >= 2024
    assert stats.resets_on.tzinfo is not None
    assert fake_api.statistics_requests == 1


async def test_info(fake_onprem: FakePlateRecognizer, jpeg: bytes) -> None:
    async with PlateReader(fake_onprem.url) as reader:
        await reader.read(jpeg)
        info = await reader.info()
    assert info.version == "1.3.8"
    assert info.calls == 1
    assert info.total_calls == fake_onprem.total_calls
    assert info.remaining == fake_onprem.total_calls - 1
    assert "license" not in repr(info).lower()  # the licence key is not kept
    assert fake_onprem.info_requests == 1


async def test_wrong_shape_is_a_response_error(fake_api: FakePlateRecognizer, jpeg: bytes) -> None:
    fake_api.fail_next("wrong-shape", endpoint="plate-reader")
    fake_api.fail_next("wrong-shape", endpoint="statistics")
    async with PlateReader(fake_api.url, TOKEN, rate_limit=None, retries=0) as reader:
        with pytest.raises(PlateReaderResponseError, match="lookup answer"):
            await reader.read(jpeg)
        with pytest.raises(PlateReaderResponseError, match="statistics answer"):
            await reader.statistics()


async def test_info_wrong_shape(fake_onprem: FakePlateRecognizer) -> None:
    fake_onprem.fail_next("wrong-shape", endpoint="info")
    async with PlateReader(fake_onprem.url) as reader:
        with pytest.raises(PlateReaderResponseError, match="info answer"):
            await reader.info()
