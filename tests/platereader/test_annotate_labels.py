"""Labels stay inside the picture; highlighted (watched) plates are drawn apart."""

from __future__ import annotations

import io

from PIL import Image

from platereader import PlateResult
from platereader.annotate import HIGHLIGHT_COLOUR, PLATE_COLOUR, annotate

from .conftest import make_jpeg

WIDTH, HEIGHT = 640, 360


def _plate(text: str, box: tuple[int, int, int, int]) -> PlateResult:
    return PlateResult.model_validate(
        {
            "plate": text,
            "box": dict(zip(("xmin", "ymin", "xmax", "ymax"), box, strict=True)),
            "score": 0.9,
            "dscore": 0.9,
        }
    )


def _pixels(jpeg: bytes) -> Image.Image:
    with Image.open(io.BytesIO(jpeg)) as picture:
        return picture.convert("RGB")


def _close(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return all(abs(x - y) < 40 for x, y in zip(a, b, strict=True))


def _columns_of(picture: Image.Image, colour: tuple[int, int, int], row: int) -> list[int]:
    return [x for x in range(picture.width) if _close(picture.getpixel((x, row)), colour)]  # type: ignore[arg-type]


def test_label_of_a_plate_at_the_right_edge_stays_inside() -> None:
    # The plate touches the right edge (like the 4th car of cars-4k.jpg): the
    # label, wider than the plate, must slide left rather than be cut off.
    drawn = _pixels(annotate(make_jpeg(WIDTH, HEIGHT), [_plate("nkd22df", (600, 200, 638, 220))]))
    tag_row = 190  # inside the tag above the plate
    tag = _columns_of(drawn, PLATE_COLOUR, tag_row)
    assert tag, "no label drawn above the plate"
    # The tag is wider than the 38-pixel plate and ends inside the picture,
    # with room for the whole text (before the fix it started at x=600 and was cut).
    assert min(tag) < 600 - 40
    assert max(tag) <= WIDTH - 1


def test_label_of_a_plate_in_the_bottom_corner_stays_inside() -> None:
    # No room above (the plate fills the height) and none below: clamp into the picture.
    drawn = _pixels(annotate(make_jpeg(WIDTH, 40), [_plate("ab12cde", (560, 2, 639, 39))]))
    tag = _columns_of(drawn, PLATE_COLOUR, 38)  # the tag's bottom padding
    assert len(tag) > 79  # more than the plate's own box edges: the tag is there
    assert max(tag) <= WIDTH - 1


def test_highlighted_plate_has_its_own_colour() -> None:
    results = [_plate("zz999", (50, 200, 150, 230)), _plate("ab12cde", (350, 200, 450, 230))]
    drawn = _pixels(annotate(make_jpeg(WIDTH, HEIGHT), results, highlight={1}))
    # The unknown plate keeps the usual colour, the watched one the highlight colour.
    assert _close(drawn.getpixel((100, 200)), PLATE_COLOUR)  # type: ignore[arg-type]
    assert _close(drawn.getpixel((400, 200)), HIGHLIGHT_COLOUR)  # type: ignore[arg-type]
    # ... and a thicker box: its top edge is still drawn 3 pixels inside.
    assert _close(drawn.getpixel((400, 203)), HIGHLIGHT_COLOUR)  # type: ignore[arg-type]
    assert not _close(drawn.getpixel((100, 203)), PLATE_COLOUR)  # type: ignore[arg-type]
    # Without `highlight`, both are drawn alike (the old behaviour, still the default).
    plain = _pixels(annotate(make_jpeg(WIDTH, HEIGHT), results))
    assert _close(plain.getpixel((400, 200)), PLATE_COLOUR)  # type: ignore[arg-type]
