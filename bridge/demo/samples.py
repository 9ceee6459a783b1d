"""Synthetic sample photos for the demo, drawn at run time (no licence to worry about).

Each scene is a simple street picture: sky, road, a car-like shape seen from behind, and
a licence plate in the style of one region. Nothing here is a photo of a real vehicle;
the plates are invented. The local engine reads every one of them (tested in
tests/e2e/test_demo.py).
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 1024, 640
RGB = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class Scene:
    """One synthetic picture: what is drawn, and what the engine should read."""

    name: str  # file stem
    camera: str  # sub-folder of the inbox = the bridge's camera name
    plate: str  # the plate's text as drawn
    region: str  # region code of the plate style
    style: str  # "gb", "us" or "br"
    body: RGB  # the car's colour
    seed: int

    @property
    def expected(self) -> str:
        """The text the engine answers: lower case, no spaces."""
        return self.plate.replace(" ", "").lower()

    def filename(self) -> str:
        return f"{self.name}.jpg"

    def jpeg(self) -> bytes:
        return render(self)


SCENES: tuple[Scene, ...] = (
    Scene("gb-family-car", "driveway", "AB12 CDE", "gb", "gb", (40, 70, 140), 1),
    Scene("us-visitor", "street", "7ABC123", "us-ca", "us", (150, 30, 30), 2),
    Scene("br-delivery", "street", "BRA2E19", "br", "br", (225, 225, 220), 3),
)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    # Pillow's bundled font: the same on every machine, no system fonts needed.
    return ImageFont.load_default(size=size)


def render(scene: Scene) -> bytes:
    rng = random.Random(scene.seed)
    img = Image.new("RGB", (WIDTH, HEIGHT))
    draw = ImageDraw.Draw(img)
    horizon = int(HEIGHT * 0.42)
    # Sky and road, as vertical gradients.
    for y in range(horizon):
        t = y / horizon
        draw.line([(0, y), (WIDTH, y)], fill=(int(120 + 80 * t), int(160 + 60 * t), 220))
    for y in range(horizon, HEIGHT):
        t = (y - horizon) / (HEIGHT - horizon)
        shade = int(95 - 35 * t)
        draw.line([(0, y), (WIDTH, y)], fill=(shade, shade, shade + 4))
    # A hedge on the horizon and some road noise.
    for x in range(0, WIDTH, 18):
        h = rng.randint(18, 40)
        draw.ellipse(
            (x - 14, horizon - h, x + 26, horizon + 10), fill=(40, 90 + rng.randint(0, 40), 45)
        )
    for _ in range(900):
        x, y = rng.randrange(WIDTH), rng.randrange(horizon + 10, HEIGHT)
        v = rng.randint(50, 110)
        draw.point((x, y), fill=(v, v, v))

    # The car, seen from behind.
    cx = WIDTH // 2 + rng.randint(-80, 80)
    top, bottom = 190, 560
    half = 250
    body = scene.body
    dark = tuple(max(0, c - 50) for c in body)
    draw.ellipse((cx - half + 20, bottom - 30, cx - half + 110, bottom + 30), fill=(20, 20, 20))
    draw.ellipse((cx + half - 110, bottom - 30, cx + half - 20, bottom + 30), fill=(20, 20, 20))
    draw.rounded_rectangle((cx - half + 40, top, cx + half - 40, top + 150), 40, fill=dark)
    draw.rounded_rectangle(
        (cx - half + 70, top + 20, cx + half - 70, top + 120), 25, fill=(60, 80, 100)
    )
    draw.rounded_rectangle((cx - half, top + 130, cx + half, bottom), 30, fill=body)
    draw.rectangle((cx - half + 20, top + 175, cx - half + 95, top + 215), fill=(200, 30, 30))
    draw.rectangle((cx + half - 95, top + 175, cx + half - 20, top + 215), fill=(200, 30, 30))
    draw.rectangle((cx - half + 10, bottom - 55, cx + half - 10, bottom - 25), fill=(35, 35, 35))

    plate_centre = (cx, top + 270)
    _plate(draw, scene, plate_centre)
    buffer = io.BytesIO()
    img.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _plate(draw: ImageDraw.ImageDraw, scene: Scene, centre: tuple[int, int]) -> None:
    x, y = centre
    if scene.style == "gb":
        w, h = 300, 66
        box = (x - w // 2, y - h // 2, x + w // 2, y + h // 2)
        draw.rounded_rectangle(box, 6, fill=(250, 205, 20), outline=(30, 30, 30), width=2)
        draw.text((x, y + 2), scene.plate, fill=(20, 20, 20), font=_font(50), anchor="mm")
    elif scene.style == "us":
        w, h = 240, 120
        box = (x - w // 2, y - h // 2, x + w // 2, y + h // 2)
        draw.rounded_rectangle(box, 10, fill=(245, 245, 245), outline=(60, 60, 60), width=3)
        draw.text((x, y + 8), scene.plate, fill=(25, 35, 110), font=_font(54), anchor="mm")
    else:  # br: Mercosul, blue band on top
        w, h = 300, 98
        box = (x - w // 2, y - h // 2, x + w // 2, y + h // 2)
        draw.rounded_rectangle(box, 8, fill=(245, 245, 245), outline=(20, 20, 20), width=3)
        draw.rectangle((box[0] + 3, box[1] + 3, box[2] - 3, box[1] + 24), fill=(20, 60, 160))
        draw.text((x, y + 12), scene.plate, fill=(15, 15, 15), font=_font(54), anchor="mm")
