"""Vehicles: where they are (COCO-SSD), which API type they are, which plate is whose.

The detector is COCO-SSD (SSDLite MobileNetV2 trained on COCO, Apache-2.0), converted
once to ONNX and shipped in `weights/` (see weights/NOTICE and
scripts/convert-vehicle-model). It sees the image squeezed to 300x300 (as it was trained)
and scores 90 COCO classes per box; four are vehicles. How they map onto the API's types:

| COCO class | API type | score |
|---|---|---|
| car | Sedan | detection score x CAR_IS_SEDAN |
| truck | Pickup Truck; Big Truck if >= BIG_TRUCK_PLATES plate widths tall | x TRUCK_TYPE_SHARE |
| bus | Bus | detection score |
| motorcycle | Motorcycle | detection score |

COCO's "car" holds sedans, hatchbacks, SUVs and vans alike and its "truck" holds pickups,
SUVs and lorries: the model cannot tell them apart, so the type's score is the detection
score times the share of that type among such vehicles on the labelled dev photos
(bench/vehicle_labels.csv), not the detection score alone.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

import cv2
import numpy as np

from .colour import vehicle_colour
from .decode import Image
from .models import Model
from .types import Box, PlateRead, ReadOptions, Reads, Vehicle

MODEL_PATH: Final = Path(__file__).resolve().parent / "weights" / "coco_ssd.onnx"
INPUT_SIDE: Final = 300

# COCO category ids (1-based; the model's score column is id - 1) of vehicles.
COCO_CAR: Final = 3
COCO_MOTORCYCLE: Final = 4
COCO_BUS: Final = 6
COCO_TRUCK: Final = 8
_CLASSES: Final = (COCO_CAR, COCO_MOTORCYCLE, COCO_BUS, COCO_TRUCK)

# Boxes kept at all (a plate's vehicle may be half hidden or cut by the frame: a low
# threshold still finds it, and a plate inside the box confirms it).
MIN_SCORE: Final = 0.25
# A vehicle reported without a plate (detection_mode: vehicle) needs more certainty.
UNPLATED_MIN_SCORE: Final = 0.5
NMS_IOU: Final = 0.5
MAX_VEHICLES: Final = 20

# Share of sedans (incl. hatchbacks and coupes) among the vehicles COCO calls "car" (93 of
# 119; the rest SUVs 14 %, vans 6 %, pickups 2 %), and of pickups among its "trucks" (5 of
# 12; sedans, SUVs and vans the rest), on the labelled dev photos of both halves
# (bench/vehicle_labels.csv; bench/engine_vehicles.py prints them).
CAR_IS_SEDAN: Final = 0.78
TRUCK_TYPE_SHARE: Final = 0.42
# A "truck" whose box is taller than this many plate widths is a lorry, not a pickup (a
# pickup is ~6 US plate widths tall, a lorry's cab 9 or more).
BIG_TRUCK_PLATES: Final = 9.0

# Where a plate sits on its vehicle: this much of the plate box inside the vehicle box,
# and its centre below this fraction of the box height (plates are on the bumpers; a car
# further away whose box overlaps the near car's plate has it near its top, or outside).
PLATE_INSIDE: Final = 0.7
PLATE_MIN_REL_Y: Final = 0.35
# A plate at least this share of the frame's width is a close-up (an ANPR camera zoomed
# on the lane): its vehicle is wider than the frame and the detector cannot see it, but
# the plate is on one. `detection_rule: strict` keeps it (its vehicle stays "not found").
CLOSE_UP: Final = 0.25


@dataclass(frozen=True, slots=True)
class Detection:
    """One vehicle box, in the decoded image's pixels."""

    x0: float
    y0: float
    x1: float
    y1: float
    coco: int  # COCO category id
    score: float  # detection score

    def box(self, scale: float) -> Box:
        """In the pixels of the image as received (`scale`: see decode.Decoded)."""
        return Box(
            xmin=round(self.x0 * scale),
            ymin=round(self.y0 * scale),
            xmax=round(self.x1 * scale),
            ymax=round(self.y1 * scale),
        )

    @property
    def area(self) -> float:
        return max(0.0, self.x1 - self.x0) * max(0.0, self.y1 - self.y0)


class VehicleDetector:
    """COCO-SSD vehicle boxes; keeps no per-call state (safe to share between threads)."""

    def __init__(self, model: Model) -> None:
        self._model = model

    def detect(self, img: Image) -> list[Detection]:
        h, w = img.shape[:2]
        small = cv2.resize(img, (INPUT_SIDE, INPUT_SIDE), interpolation=cv2.INTER_AREA)
        rgb = np.ascontiguousarray(small[:, :, ::-1])[None]  # 1x300x300x3 uint8, RGB
        scores, boxes = self._model.run_all(rgb)
        columns = [c - 1 for c in _CLASSES]
        vehicle = scores[0][:, columns]  # anchors x 4 vehicle classes
        best = vehicle.max(axis=1)
        keep = np.flatnonzero(best >= MIN_SCORE)
        if keep.size == 0:
            return []
        # Boxes are [ymin, xmin, ymax, xmax] in 0..1 of the image.
        raw = np.clip(boxes[0][keep, 0, :], 0.0, 1.0)
        rects = [
            [float(b[1] * w), float(b[0] * h), float((b[3] - b[1]) * w), float((b[2] - b[0]) * h)]
            for b in raw
        ]
        picked = cv2.dnn.NMSBoxes(rects, best[keep].tolist(), MIN_SCORE, NMS_IOU)
        out: list[Detection] = []
        for i in np.asarray(picked, dtype=np.int64).reshape(-1)[:MAX_VEHICLES]:
            x, y, bw, bh = rects[i]
            if bw < 4 or bh < 4:
                continue
            k = int(keep[i])
            out.append(
                Detection(x, y, x + bw, y + bh, _CLASSES[int(vehicle[k].argmax())], float(best[k]))
            )
        return out


def owner(plate: Box, vehicles: list[Detection], scale: float) -> Detection | None:
    """The vehicle a plate (in received pixels) is on, or None if it is on none."""
    px0, py0, px1, py1 = (plate.xmin / scale, plate.ymin / scale, plate.xmax / scale,
                          plate.ymax / scale)  # fmt: skip
    area = max(1.0, (px1 - px0) * (py1 - py0))
    cy = (py0 + py1) / 2
    best: Detection | None = None
    for v in vehicles:
        ix = max(0.0, min(px1, v.x1) - max(px0, v.x0))
        iy = max(0.0, min(py1, v.y1) - max(py0, v.y0))
        if ix * iy / area < PLATE_INSIDE:
            continue
        if (cy - v.y0) / max(1.0, v.y1 - v.y0) < PLATE_MIN_REL_Y:
            continue
        if best is None or v.score > best.score:
            best = v
    return best


def vehicle_type(det: Detection, plate_width: float | None) -> tuple[str, float]:
    """(API type, honest score) of a detection; `plate_width` in the same pixels, if any."""
    if det.coco == COCO_BUS:
        return "Bus", det.score
    if det.coco == COCO_MOTORCYCLE:
        return "Motorcycle", det.score
    if det.coco == COCO_TRUCK:
        tall = plate_width is not None and (det.y1 - det.y0) >= BIG_TRUCK_PLATES * plate_width
        return ("Big Truck" if tall else "Pickup Truck"), det.score * TRUCK_TYPE_SHARE
    return "Sedan", det.score * CAR_IS_SEDAN


def attach(
    img: Image,
    scale: float,
    plates: list[PlateRead],
    detections: list[Detection],
    options: ReadOptions,
) -> Reads:
    """Each plate with its vehicle (type, score, box; colour with options.colour).

    `detection_rule: strict` (options.vehicle_rule) drops plates on no vehicle (close-ups
    excepted, see CLOSE_UP); `detection_mode: vehicle` (options.unplated) adds the sure
    vehicles without a plate.
    """
    kept: list[PlateRead] = []
    owned: set[int] = set()
    frame = img.shape[1] * scale
    for plate in plates:
        det = owner(plate.box, detections, scale)
        if det is None:
            close_up = plate.box.xmax - plate.box.xmin >= CLOSE_UP * frame
            if close_up or not options.vehicle_rule:
                kept.append(plate)
            continue
        owned.add(id(det))
        pw = (plate.box.xmax - plate.box.xmin) / scale
        kept.append(replace(plate, vehicle=_vehicle(img, scale, det, pw, plate.box, options)))
    unplated: list[Vehicle] = []
    if options.unplated:
        unplated = [
            _vehicle(img, scale, d, None, None, options)
            for d in detections
            if id(d) not in owned and d.score >= UNPLATED_MIN_SCORE
        ]
    return Reads(kept, unplated)


def _vehicle(
    img: Image,
    scale: float,
    det: Detection,
    plate_width: float | None,
    plate: Box | None,
    options: ReadOptions,
) -> Vehicle:
    kind, score = vehicle_type(det, plate_width)
    color, color_score = "unknown", 0.0
    if options.colour:
        rect = (int(det.x0), int(det.y0), int(det.x1), int(det.y1))
        prect = None
        if plate is not None:
            prect = (
                int(plate.xmin / scale), int(plate.ymin / scale), int(plate.xmax / scale),
                int(plate.ymax / scale),
            )  # fmt: skip
        color, color_score = vehicle_colour(img, rect, prect)
    return Vehicle(det.box(scale), kind, round(score, 3), color, color_score)
