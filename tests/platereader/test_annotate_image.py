"""Drawing reads onto images, and preparing uploads."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from platereader import PlateReaderImageError, PlateResult
from platereader.annotate import PLATE_COLOUR, VEHICLE_COLOUR, annotate
from platereader.image import load_image, shrink

from .conftest import make_jpeg


def _result(plate_box: tuple[int, int, int, int], *, vehicle: bool = True) -> PlateResult:
    box = dict(zip(("xmin", "ymin", "xmax", "ymax"), plate_box, strict=True))
    vehicle_data = {
        "type": "Sedan",
        "score": 0.8,
        "box": {"xmin": 10, "ymin": 10, "xmax": 300, "ymax": 230},
    }
    return PlateResult.model_validate(
        {
            "plate": "ab12cde",
            "box": box,
            "score": 0.91,
            "dscore": 0.9,
            "vehicle": vehicle_data if vehicle else None,
        }
    )


def _pixel(jpeg: bytes, xy: tuple[int, int]) -> tuple[int, int, int]:
    with Image.open(io.BytesIO(jpeg)) as picture:
        return picture.convert("RGB").getpixel(xy)  # type: ignore[return-value]


def _close(a: tuple[int, int, int], b: tuple[int, int, int]) -> bool:
    return all(abs(x - y) < 40 for x, y in zip(a, b, strict=True))


def test_boxes_and_label_are_drawn() -> None:
    image = make_jpeg(320, 240)
    drawn = annotate(image, [_result((100, 150, 200, 180))])
    assert _close(_pixel(drawn, (150, 150)), PLATE_COLOUR)  # top edge of the plate box
    assert _close(_pixel(drawn, (10, 120)), VEHICLE_COLOUR)  # left edge of the vehicle box
    assert _close(_pixel(drawn, (102, 140)), PLATE_COLOUR)  # label background above the plate
    assert not _close(_pixel(image, (150, 150)), PLATE_COLOUR)


def test_label_goes_below_a_plate_at_the_top_edge() -> None:
    drawn = annotate(make_jpeg(320, 240), [_result((100, 0, 200, 20), vehicle=False)])
    assert _close(_pixel(drawn, (102, 26)), PLATE_COLOUR)


def test_vehicle_without_plate_and_undetected_vehicle() -> None:
    no_plate = PlateResult.model_validate(
        {
            "plate": None,
            "vehicle": {
                "type": "Van",
                "score": 0.7,
                "box": {"xmin": 20, "ymin": 20, "xmax": 90, "ymax": 90},
            },
        }
    )
    nothing = PlateResult.model_validate(
        {
            "plate": None,
            "vehicle": {
                "type": "Unknown",
                "score": 0,
                "box": {"xmin": 0, "ymin": 0, "xmax": 0, "ymax": 0},
            },
        }
    )
    drawn = annotate(make_jpeg(), [no_plate, nothing])
    assert _close(_pixel(drawn, (21, 50)), VEHICLE_COLOUR)


def test_annotating_a_corrupt_image_fails_clearly() -> None:
    with pytest.raises(PlateReaderImageError, match="cannot decode"):
        annotate(b"\xff\xd8garbage", [])


def test_unsupported_image_format_is_refused() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "PPM")
    with pytest.raises(PlateReaderImageError, match="not supported"):
        load_image(buffer.getvalue())


def test_shrink_keeps_small_images_and_names_the_result_jpg() -> None:
    small = load_image(make_jpeg(), filename="cam.png")
    assert shrink(small, 10**9) is small
    big = load_image(make_jpeg(800, 600, noise=True), filename="cam.png")
    smaller = shrink(big, 60_000)
    assert smaller.filename == "cam.jpg"
    assert smaller.data is not None and len(smaller.data) <= 60_000
    assert smaller.scale == pytest.approx(800 / smaller.width)


def test_shrink_of_a_corrupt_big_image_fails_clearly() -> None:
    upload = load_image(make_jpeg(64, 64))
    broken = type(upload)(
        data=upload.data[:200] + b"\x00" * 100_000,  # type: ignore[index]
        url=None,
        filename="x.jpg",
        content_type="image/jpeg",
    )
    with pytest.raises(PlateReaderImageError, match="cannot decode"):
        shrink(broken, 50_000)
