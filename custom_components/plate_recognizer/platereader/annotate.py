"""Draw plate and vehicle boxes and the plate text onto a copy of an image.

Synchronous Pillow work: run it in a worker thread from async code.
"""

from __future__ import annotations

import io
from collections.abc import Container, Iterable

from PIL import Image, ImageDraw, ImageFont

from .exceptions import PlateReaderImageError
from .models import Box, PlateResult

PLATE_COLOUR = (255, 200, 0)
VEHICLE_COLOUR = (0, 170, 255)
# A highlighted (watched) plate: another hue, so it stands out even in a grey-scale print.
HIGHLIGHT_COLOUR = (0, 220, 90)
TEXT_COLOUR = (0, 0, 0)


def annotate(
    image: bytes,
    results: Iterable[PlateResult],
    *,
    highlight: Container[int] = (),
    quality: int = 85,
) -> bytes:
    """Return a JPEG of `image` with every result's boxes and plate text drawn.

    Boxes must be in the coordinates of `image` (`PlateReader.read` maps them
    back when it shrank the upload). `highlight` holds the indices (in
    `results`) of the plates to set apart, e.g. the watched ones: they get
    their own colour and a thicker box. Labels always stay inside the picture.
    """
    try:
        with Image.open(io.BytesIO(image)) as original:
            picture = original.convert("RGB")
    except (OSError, Image.DecompressionBombError) as err:
        raise PlateReaderImageError(f"cannot decode image to annotate: {err}") from err
    draw = ImageDraw.Draw(picture)
    # Lines and text scale with the image so they stay legible on 4K frames.
    width = max(2, round(max(picture.size) / 400))
    font = ImageFont.load_default(size=max(14, round(max(picture.size) / 45)))
    listed = list(results)
    # Highlighted plates last, so no other box or label is drawn over them.
    for index in sorted(range(len(listed)), key=lambda index: index in highlight):
        result = listed[index]
        if result.vehicle is not None and result.vehicle.detected:
            draw.rectangle(_xy(result.vehicle.box), outline=VEHICLE_COLOUR, width=width)
        if result.box is None:
            continue
        highlighted = index in highlight
        colour = HIGHLIGHT_COLOUR if highlighted else PLATE_COLOUR
        line = 2 * width if highlighted else width
        draw.rectangle(_xy(result.box), outline=colour, width=line)
        if result.plate:
            label = result.plate.upper()
            if result.score is not None:
                label = f"{label} {result.score:.2f}"
            _label(draw, picture.size, result.box, label, font, colour, line)
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def _label(
    draw: ImageDraw.ImageDraw,
    size: tuple[int, int],
    box: Box,
    label: str,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    colour: tuple[int, int, int],
    pad: int,
) -> None:
    """The plate's text on a filled tag above its box (below at the top edge), in the picture."""
    left, top, right, bottom = draw.textbbox((0, 0), label, font=font)
    tag_w, tag_h = right - left + 2 * pad, bottom - top + 2 * pad
    image_w, image_h = size
    y = box.ymin - tag_h - pad
    if y < 0:  # no room above the plate: write below it
        y = box.ymax + pad
    # A plate at the right or bottom edge: slide the tag back into the picture.
    x = max(0, min(box.xmin, image_w - tag_w))
    y = max(0, min(y, image_h - tag_h))
    draw.rectangle((x, y, x + tag_w, y + tag_h), fill=colour)
    draw.text((x + pad - left, y + pad - top), label, fill=TEXT_COLOUR, font=font)


def _xy(box: Box) -> tuple[int, int, int, int]:
    return (box.xmin, box.ymin, max(box.xmax, box.xmin), max(box.ymax, box.ymin))
