"""A vehicle's colour from its own pixels: one of the API's nine names.

No colour classifier ships in any package we could use, so this is measured, not learned:

1. the body band of the vehicle's box (below the windows, above the wheels, the sides
   trimmed), with the plate and a margin around it (frame, grille) cut out;
2. white-balanced by the plate, when there is one: the plate's background is a known
   near-white under the same light, so dividing by it removes the light's colour cast, and
   the body's brightness is measured relative to it (a white car is as bright as its plate,
   a silver one darker, a black one much darker);
3. the pixels are split in two clusters (paint and the rest: reflections, shadows, lamps;
   a deterministic 2-means in (S cos H, S sin H, V)); the larger cluster's centre is named:
   saturated -> by hue (red, brown/yellow, green, blue), else black / silver / white by its
   brightness relative to the plate. The score is the larger cluster's share of the pixels.

bench/engine_vehicles.py measures it against bench/vehicle_labels.csv (labelled by looking
at the dev photos): 72.5 % on half a, 65.7 % on b (185 vehicles), short of the 80 % goal;
silver against white and dark blue against black are most of the misses. Orientation is
not guessed ("Unknown"): nothing here reaches the 85 % that would make it worth giving.
"""

from __future__ import annotations

from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from .decode import Image

# The body band, as fractions of the vehicle box.
BAND_X: Final = (0.15, 0.85)
BAND_Y: Final = (0.40, 0.78)
# Cut out around the plate: x plate width on each side, x plate height above and below.
PLATE_MARGIN_X: Final = 0.6
PLATE_MARGIN_Y: Final = 1.0
MIN_PIXELS: Final = 30
# The band is sampled at most this wide (speed: the colour needs no detail).
SAMPLE_WIDTH: Final = 160

# Naming the paint cluster's centre (OpenCV HSV: H 0-179, S and V 0-255), tuned on half
# "a" of the labelled dev vehicles only (bench/_halves.py).
CHROMA_S: Final = 70  # saturation above which the hue names the colour
MIN_V: Final = 40  # darker than this is black whatever the hue
BLACK_REL: Final = 0.5  # brightness / plate's below this: black
WHITE_REL: Final = 1.0  # at least as bright as the plate: white
NO_PLATE_V: Final = 200.0  # the plate brightness assumed when there is no plate
# Hue ranges (OpenCV H) and their names; orange is brown when dark, yellow when bright.
_HUES: Final = ((8, "red"), (20, "orange"), (35, "yellow"), (90, "green"), (160, "blue"))
BROWN_MAX_V: Final = 150

type Rect = tuple[int, int, int, int]


def _clip(rect: Rect, shape: tuple[int, ...]) -> Rect:
    h, w = shape[:2]
    x0, y0, x1, y1 = rect
    return max(0, x0), max(0, y0), min(w, x1), min(h, y1)


def _plate_white(img: Image, plate: Rect | None) -> npt.NDArray[np.float64] | None:
    """The plate background's BGR (75th percentile of its pixels), or None."""
    if plate is None:
        return None
    x0, y0, x1, y1 = _clip(plate, img.shape)
    if (x1 - x0) * (y1 - y0) < 10:
        return None
    pixels = img[y0:y1, x0:x1].reshape(-1, 3)
    return np.asarray(np.percentile(pixels, 75, axis=0), dtype=np.float64)


def body_hsv(img: Image, vehicle: Rect, plate: Rect | None) -> npt.NDArray[np.float32]:
    """HSV pixels (Nx3, float) of the body band, plate cut out, white-balanced by the plate."""
    x0, y0, x1, y1 = vehicle
    w, h = x1 - x0, y1 - y0
    band = (
        x0 + int(w * BAND_X[0]), y0 + int(h * BAND_Y[0]),
        x0 + int(w * BAND_X[1]), y0 + int(h * BAND_Y[1]),
    )  # fmt: skip
    bx0, by0, bx1, by1 = _clip(band, img.shape)
    if bx1 - bx0 < 4 or by1 - by0 < 4:
        return np.zeros((0, 3), np.float32)
    part = img[by0:by1, bx0:bx1]
    keep = np.ones(part.shape[:2], dtype=np.uint8)
    if plate is not None:
        px0, py0, px1, py1 = plate
        mx, my = (px1 - px0) * PLATE_MARGIN_X, (py1 - py0) * PLATE_MARGIN_Y
        cx0, cx1 = max(0, int(px0 - mx) - bx0), max(0, int(px1 + mx) - bx0)
        cy0, cy1 = max(0, int(py0 - my) - by0), max(0, int(py1 + my) - by0)
        keep[cy0:cy1, cx0:cx1] = 0
    f = min(1.0, SAMPLE_WIDTH / part.shape[1])
    if f < 1.0:
        size = (max(1, round(part.shape[1] * f)), max(1, round(part.shape[0] * f)))
        part = np.asarray(cv2.resize(part, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
        keep = np.asarray(cv2.resize(keep, size, interpolation=cv2.INTER_NEAREST), np.uint8)
    white = _plate_white(img, plate)
    if white is not None:
        gain = white.mean() / np.maximum(white, 1.0)
        part = np.clip(part.astype(np.float64) * gain, 0, 255).astype(np.uint8)
    hsv = np.asarray(cv2.cvtColor(part, cv2.COLOR_BGR2HSV), dtype=np.float32)
    return np.asarray(hsv[keep > 0], dtype=np.float32)


def _paint(hsv: npt.NDArray[np.float32]) -> tuple[float, float, float, float]:
    """(hue, saturation, value, share) of the larger of two clusters (deterministic 2-means)."""
    angle = hsv[:, 0] * (np.pi / 90.0)
    feats = np.stack([hsv[:, 1] * np.cos(angle), hsv[:, 1] * np.sin(angle), hsv[:, 2]], axis=1)
    order = np.argsort(feats[:, 2], kind="stable")
    n = len(feats)
    centres = np.stack([feats[order[n // 4]], feats[order[3 * n // 4]]])
    labels = np.zeros(n, dtype=np.int64)
    for _ in range(10):
        dist = ((feats[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        labels = dist.argmin(axis=1)
        for j in range(2):
            if (labels == j).any():
                centres[j] = feats[labels == j].mean(axis=0)
    counts = np.bincount(labels, minlength=2)
    big = int(counts.argmax())
    a, b, v = (float(c) for c in centres[big])
    hue = (np.degrees(np.arctan2(b, a)) % 360.0) / 2.0
    return float(hue), float(np.hypot(a, b)), v, float(counts[big] / n)


def name_colour(hue: float, sat: float, val: float, plate_v: float) -> str:
    """The API colour of a paint centre; `plate_v`: the plate's brightness (0-255)."""
    if sat > CHROMA_S and val > MIN_V:
        for end, name in _HUES:
            if hue < end:
                if name == "orange":
                    return "brown" if val < BROWN_MAX_V else "yellow"
                return name
        return "red"  # 160-180: red again (the hue circle)
    rel = val / max(1.0, plate_v)
    if rel < BLACK_REL:
        return "black"
    if rel >= WHITE_REL:
        return "white"
    return "silver"


def vehicle_colour(img: Image, vehicle: Rect, plate: Rect | None) -> tuple[str, float]:
    """(colour, score) of the vehicle in `img` (decoded pixels); ("unknown", 0) if unseen.

    `vehicle` and `plate` are (x0, y0, x1, y1) in the same pixels; `plate` None when the
    vehicle has none (then brightness is judged against a typical plate's).
    """
    hsv = body_hsv(img, vehicle, plate)
    if len(hsv) < MIN_PIXELS:
        return "unknown", 0.0
    white = _plate_white(img, plate)
    plate_v = NO_PLATE_V if white is None else float(white.max())
    hue, sat, val, share = _paint(hsv)
    return name_colour(hue, sat, val, plate_v), round(share, 3)
