"""Draw plate and vehicle boxes and the plate text onto a copy of an image.

Synchronous Pillow work: run it in a worker thread from async code.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

from PIL import Image, ImageDraw, ImageFont

from .exceptions import PlateReaderImageError
from .models import Box, PlateResult

PLATE_COLOUR = (255, 200, 0)
VEHICLE_COLOUR = (0, 170, 255)
TEXT_COLOUR = (0, 0, 0)


def annotate(image: bytes, results: Iterable[PlateResult], *, quality: int = 85) -> bytes:
    """Return a JPEG of `image` with every result's boxes and plate text drawn.

    Boxes must be in the coordinates of `image` (`PlateReader.read` maps them
    back when it shrank the upload).
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
    for result in results:
        if result.vehicle is not None and result.vehicle.detected:
            draw.rectangle(_xy(result.vehicle.box), outline=VEHICLE_COLOUR, width=width)
        if result.box is None:
            continue
        draw.rectangle(_xy(result.box), outline=PLATE_COLOUR, width=width)
        if result.plate:
            label = result.plate.upper()
            if result.score is not None:
                label = f"{label} {result.score:.2f}"
            left, top, right, bottom = draw.textbbox((0, 0), label, font=font)
            text_w, text_h = right - left, bottom - top
            x = result.box.xmin
            y = result.box.ymin - text_h - 3 * width
            if y < 0:  # no room above the plate: write below it
                y = result.box.ymax + width
            draw.rectangle(
                (x, y, x + text_w + 2 * width, y + text_h + 2 * width), fill=PLATE_COLOUR
            )
            draw.text((x + width - left, y + width - top), label, fill=TEXT_COLOUR, font=font)
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def _xy(box: Box) -> tuple[int, int, int, int]:
    return (box.xmin, box.ymin, max(box.xmax, box.xmin), max(box.ymax, box.ymin))
