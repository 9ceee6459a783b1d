"""A vehicle's colour from its own pixels: the API's nine names, or "unknown".

No colour classifier ships in any package we could use, so this is measured, not learned:
the body panels of a vehicle seen from the front or back are the band between the
windows and the wheels. The band is taken from the vehicle's box, the plate (and a margin
around it: the bumper, the plate frame) is cut out, and each remaining pixel is put into
one of the colours by its HSV values; the colour with the most pixels wins, with its
share of the pixels as the score. Too few pixels, or no colour holding MIN_SHARE of
them, answers "unknown". bench/engine_vehicles.py measures it on the labelled dev
vehicles (bench/vehicle_labels.csv).
"""

from __future__ import annotations

from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from .decode import Image

# The body band, as fractions of the vehicle box: below the windscreen / rear window,
# above the wheels and the road; the sides trimmed (road, neighbours, mirrors).
BAND_X: Final = (0.15, 0.85)
BAND_Y: Final = (0.40, 0.78)
# Cut out around the plate: the plate, its frame, the bumper's dark grille beside it.
PLATE_MARGIN_X: Final = 0.6  # x plate width on each side
PLATE_MARGIN_Y: Final = 1.0  # x plate height above and below
MIN_PIXELS: Final = 200
# The band is sampled at most this wide (speed; the colour needs no detail).
SAMPLE_WIDTH: Final = 96

# HSV thresholds (OpenCV scale: H 0-179, S and V 0-255).
GREY_SAT: Final = 60  # below: black / silver / white by brightness
DARK_V: Final = 55  # below: black, whatever the hue (shadows, dark paint)
BLACK_V: Final = 80  # achromatic and below: black
WHITE_V: Final = 175  # achromatic and above: white
BROWN_V: Final = 150  # red-orange hues darker than this: brown

MIN_SHARE: Final = 0.3  # the winner's share of the pixels needed to answer
# Chromatic pixels are outnumbered by reflections (sky, road: grey) even on a red car;
# weigh them up so that a car painted a colour is called by it.
CHROMA_WEIGHT: Final = 2.0

_NAMES: Final = ("black", "blue", "brown", "green", "red", "silver", "white", "yellow")

type Rect = tuple[int, int, int, int]


def classify_pixels(hsv: npt.NDArray[np.uint8]) -> npt.NDArray[np.int64]:
    """Index into _NAMES of each pixel of an Nx3 HSV array."""
    h = hsv[:, 0].astype(np.int16)
    s = hsv[:, 1].astype(np.int16)
    v = hsv[:, 2].astype(np.int16)
    out = np.full(len(hsv), _NAMES.index("silver"), dtype=np.int64)
    grey = s < GREY_SAT
    out[grey & (v >= WHITE_V)] = _NAMES.index("white")
    chroma = ~grey
    red = chroma & ((h < 8) | (h >= 160))
    orange = chroma & (h >= 8) & (h < 20)
    yellow = chroma & (h >= 20) & (h < 35)
    green = chroma & (h >= 35) & (h < 90)
    blue = chroma & (h >= 90) & (h < 135)
    purple = chroma & (h >= 135) & (h < 160)
    out[red] = _NAMES.index("red")
    out[orange & (v < BROWN_V)] = _NAMES.index("brown")
    out[orange & (v >= BROWN_V)] = _NAMES.index("yellow")
    out[yellow] = _NAMES.index("yellow")
    out[green] = _NAMES.index("green")
    out[blue | purple] = _NAMES.index("blue")
    out[(v < DARK_V) | (grey & (v < BLACK_V))] = _NAMES.index("black")
    return out


def body_pixels(img: Image, vehicle: Rect, plate: Rect | None) -> npt.NDArray[np.uint8]:
    """HSV pixels (Nx3) of the vehicle's body band, plate area removed."""
    x0, y0, x1, y1 = vehicle
    w, h = x1 - x0, y1 - y0
    bx0, bx1 = x0 + int(w * BAND_X[0]), x0 + int(w * BAND_X[1])
    by0, by1 = y0 + int(h * BAND_Y[0]), y0 + int(h * BAND_Y[1])
    ih, iw = img.shape[:2]
    bx0, bx1 = max(0, bx0), min(iw, bx1)
    by0, by1 = max(0, by0), min(ih, by1)
    if bx1 - bx0 < 4 or by1 - by0 < 4:
        return np.zeros((0, 3), np.uint8)
    band = img[by0:by1, bx0:bx1]
    keep = np.ones(band.shape[:2], dtype=bool)
    if plate is not None:
        px0, py0, px1, py1 = plate
        mx, my = (px1 - px0) * PLATE_MARGIN_X, (py1 - py0) * PLATE_MARGIN_Y
        cx0, cx1 = int(px0 - mx) - bx0, int(px1 + mx) - bx0
        cy0, cy1 = int(py0 - my) - by0, int(py1 + my) - by0
        keep[max(0, cy0) : max(0, cy1), max(0, cx0) : max(0, cx1)] = False
    f = min(1.0, SAMPLE_WIDTH / band.shape[1])
    if f < 1.0:
        size = (max(1, round(band.shape[1] * f)), max(1, round(band.shape[0] * f)))
        band = np.asarray(cv2.resize(band, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
        small = cv2.resize(keep.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)
        keep = np.asarray(small) > 0
    hsv = np.asarray(cv2.cvtColor(band, cv2.COLOR_BGR2HSV), dtype=np.uint8)
    return np.asarray(hsv[keep], dtype=np.uint8)


def vehicle_colour(img: Image, vehicle: Rect, plate: Rect | None) -> tuple[str, float]:
    """(colour, score) of the vehicle in `img` (decoded pixels); ("unknown", 0) if unsure."""
    pixels = body_pixels(img, vehicle, plate)
    if len(pixels) < MIN_PIXELS:
        return "unknown", 0.0
    counts = np.bincount(classify_pixels(pixels), minlength=len(_NAMES)).astype(np.float64)
    for name in ("blue", "brown", "green", "red", "yellow"):
        counts[_NAMES.index(name)] *= CHROMA_WEIGHT
    share = counts / counts.sum()
    best = int(share.argmax())
    if share[best] < MIN_SHARE:
        return "unknown", 0.0
    return _NAMES[best], round(float(share[best]), 3)
