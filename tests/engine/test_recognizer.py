"""The offline recogniser end to end: real sample photo, synthetic plate, bad input."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from plate_engine.errors import ImageDecodeError
from plate_engine.recognizer import CROP_PADS, SURE_CHAR, Recognizer, _crop, _sure
from plate_engine.types import Box, PlateRead, ReadOptions

# ../shared beside the repository root (tests/engine/this_file -> parents[2] is the root).
SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
DEMO = SHARED / "samples" / "demo.jpg"

# Where the two plates of demo.jpg are (the labels drawn above them are not plates).
DEMO_PLATES = {
    "by649ag": Box(xmin=100, ymin=123, xmax=166, ymax=151),
    "za834co": Box(xmin=494, ymin=165, xmax=584, ymax=198),
}


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    return Recognizer(threads=2)


def overlap(a: Box, b: Box) -> float:
    ix = max(0, min(a.xmax, b.xmax) - max(a.xmin, b.xmin))
    iy = max(0, min(a.ymax, b.ymax) - max(a.ymin, b.ymin))
    inter = ix * iy
    union = (a.xmax - a.xmin) * (a.ymax - a.ymin) + (b.xmax - b.xmin) * (b.ymax - b.ymin)
    return inter / (union - inter)


def synthetic_plate(text: str = "ABC1234") -> bytes:
    """A white plate with black characters on a grey car-ish background, as PNG."""
    img = Image.new("RGB", (480, 320), (90, 95, 100))
    draw = ImageDraw.Draw(img)
    draw.rectangle((90, 120, 390, 200), fill=(245, 245, 240), outline=(20, 20, 20), width=4)
    font = ImageFont.load_default(size=56)
    draw.text((240, 160), text, fill=(15, 15, 15), font=font, anchor="mm")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def check_read(read: PlateRead) -> None:
    assert read.plate == read.candidates[0].plate
    assert read.score == read.candidates[0].score
    # Best first: no candidate scores above the one before it (the API's promise; the
    # demo's "by649ag" once listed "y649ag" 0.997 and "by49ag" 1.0 after itself).
    scores = [c.score for c in read.candidates]
    assert scores == sorted(scores, reverse=True), read.candidates
    assert read.plate.isalnum() and read.plate == read.plate.lower()
    assert 0.0 <= read.score <= 1.0 and 0.0 <= read.dscore <= 1.0
    assert 0.0 <= read.region_score <= 1.0 and read.region_code
    assert read.box.xmin < read.box.xmax and read.box.ymin < read.box.ymax


def test_synthetic_plate_is_read(recognizer: Recognizer) -> None:
    reads = recognizer.read(synthetic_plate("ABC1234"))
    assert [r.plate for r in reads] == ["abc1234"]
    check_read(reads[0])
    assert overlap(reads[0].box, Box(xmin=90, ymin=120, xmax=390, ymax=200)) > 0.3


def test_array_input_and_fast_mode(recognizer: Recognizer) -> None:
    bgr = np.asarray(Image.open(io.BytesIO(synthetic_plate("XYZ9876"))))[:, :, ::-1]
    assert [r.plate for r in recognizer.read(np.ascontiguousarray(bgr))] == ["xyz9876"]
    assert [
        r.plate for r in recognizer.read(synthetic_plate("XYZ9876"), ReadOptions(fast=True))
    ] == ["xyz9876"]


def test_options_strict_region_and_thresholds(recognizer: Recognizer) -> None:
    data = synthetic_plate("AB123CD")
    assert [r.plate for r in recognizer.read(data, ReadOptions(regions=["it"]))] == ["ab123cd"]
    it = recognizer.read(data, ReadOptions(regions=["it"], strict_region=True))
    assert [(r.plate, r.region_code) for r in it] == [("ab123cd", "it")]
    assert recognizer.read(data, ReadOptions(regions=["br"], strict_region=True)) == []
    assert recognizer.read(data, ReadOptions(threshold_o=1.01)) == []
    assert recognizer.read(data, ReadOptions(threshold_d=1.01)) == []
    top2 = recognizer.read(data, ReadOptions(top_k=2))
    assert 1 <= len(top2[0].candidates) <= 2


def test_blank_image_has_no_plates(recognizer: Recognizer) -> None:
    assert recognizer.read(np.full((240, 320, 3), 128, dtype=np.uint8)) == []


@pytest.mark.parametrize(
    "data",
    [b"", b"not an image at all", b"\xff\xd8\xff\xe0" + b"\x00" * 64, b"\x89PNG\r\n\x1a\n"],
)
def test_corrupt_input_raises_image_decode_error(recognizer: Recognizer, data: bytes) -> None:
    with pytest.raises(ImageDecodeError, match="image"):
        recognizer.read(data)


def test_truncated_real_image_raises_or_reads(recognizer: Recognizer) -> None:
    data = synthetic_plate()
    with pytest.raises(ImageDecodeError):
        recognizer.read(data[:40])


@pytest.fixture
def demo() -> bytes:
    if not DEMO.is_file():
        pytest.skip(f"{DEMO} is not available")
    return DEMO.read_bytes()


def test_demo_plates_are_read_where_they_are(recognizer: Recognizer, demo: bytes) -> None:
    for fast in (False, True):
        reads = recognizer.read(demo, ReadOptions(fast=fast))
        for plate, where in DEMO_PLATES.items():
            hits = [r for r in reads if r.plate == plate and overlap(r.box, where) > 0.5]
            assert hits, f"{plate} not read at {where} (fast={fast}): {reads}"
            check_read(hits[0])


def test_redaction_mode_finds_the_demo_plates(recognizer: Recognizer, demo: bytes) -> None:
    plates = {r.plate for r in recognizer.read(demo, ReadOptions(redaction=True))}
    assert set(DEMO_PLATES) <= plates


def test_concurrent_calls_agree(recognizer: Recognizer, demo: bytes) -> None:
    expected = sorted(r.plate for r in recognizer.read(demo))
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: sorted(r.plate for r in recognizer.read(demo)), range(8)))
    assert all(r == expected for r in results)


def test_a_sure_read_settles_a_line_and_an_unsure_one_gets_two_more_crops(
    recognizer: Recognizer,
) -> None:
    # Regular mode reads each line at the middle margin and reads the two outer crops
    # (pooling the three) only when a character of that read is unsure: a third of the
    # OCR work on the dev photos, the same reads.
    img = cv2.imdecode(np.frombuffer(synthetic_plate(), np.uint8), cv2.IMREAD_COLOR)
    quad = np.array([[100, 128], [380, 128], [380, 192], [100, 192]], dtype=np.float32)
    (read,) = recognizer._ocr.read([_crop(img, quad, CROP_PADS[1])])
    assert read.text == "ABC1234"
    assert _sure(read)
    assert not _sure(replace(read, conf=np.minimum(read.conf, SURE_CHAR - 0.01)))
    assert not _sure(replace(read, text="", conf=np.zeros(0, np.float32)))
