"""Text-line detection (PP-OCR DB detector): where is text in the image?"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from .decode import Image
from .models import Model

FloatArray = npt.NDArray[np.float32]

# Largest detector input, in pixels (1280x736). Time and memory grow with the pixels:
# ~215 ms on one core and ~190 MB of activations at 1280x704; a square 1280x1280 photo
# would cost 1.8x that for no gain in plate size, so it is seen at ~970x970 instead.
MAX_PIXELS = 1280 * 736


@dataclass(frozen=True, slots=True)
class TextBox:
    """A detected text line as a rotated rectangle, in the pixels of the decoded image."""

    quad: FloatArray  # 4x2: top-left, top-right, bottom-right, bottom-left
    score: float  # mean text probability inside the line, 0..1

    @property
    def width(self) -> float:
        return float(np.linalg.norm(self.quad[1] - self.quad[0]))

    @property
    def height(self) -> float:
        return float(np.linalg.norm(self.quad[3] - self.quad[0]))

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        xs, ys = self.quad[:, 0], self.quad[:, 1]
        return float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())


class TextDetector:
    """DB text detector; keeps no per-call state (safe to share between threads)."""

    def __init__(self, model: Model) -> None:
        self._model = model
        self.bin_thresh = 0.3  # pixel probability that counts as text (PP-OCR default)
        self.box_thresh = 0.5  # mean probability a line needs (PP-OCR default)
        self.unclip = 1.6  # how far to grow the shrunk DB kernel back to the text's edge

    def detect(
        self, img: Image, max_side: int, upscale: float = 1.0, min_score: float | None = None
    ) -> list[TextBox]:
        """Text lines of `img`, seen at most `max_side` pixels long (enlarged <= upscale).

        min_score: keep lines down to this mean probability when below box_thresh.
        """
        h, w = img.shape[:2]
        ratio = min(upscale, max_side / max(h, w), math.sqrt(MAX_PIXELS / (h * w)))
        # The network downsamples by 32: round each side to a multiple of 32.
        rh = max(32, round(h * ratio / 32) * 32)
        rw = max(32, round(w * ratio / 32) * 32)
        resized = cv2.resize(img, (rw, rh), interpolation=cv2.INTER_AREA if ratio < 1 else 1)
        # (x/255 - 0.5) / 0.5 in one pass, channels first.
        blob = np.asarray(
            cv2.dnn.blobFromImage(resized, scalefactor=2 / 255.0, mean=(127.5, 127.5, 127.5)),
            dtype=np.float32,
        )
        prob: FloatArray = self._model.run(blob)[0, 0]
        floor = self.box_thresh if min_score is None else min(self.box_thresh, min_score)
        return self._boxes(prob, w / rw, h / rh, floor)

    def _boxes(self, prob: FloatArray, sx: float, sy: float, floor: float) -> list[TextBox]:
        mask = (prob > self.bin_thresh).astype(np.uint8)
        mask = np.asarray(cv2.dilate(mask, np.ones((2, 2), np.uint8)), dtype=np.uint8)
        contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        out: list[TextBox] = []
        ph, pw = prob.shape
        for contour in contours[:1000]:
            if len(contour) < 4:
                continue
            rect = cv2.minAreaRect(contour)
            (cx, cy), (rw, rh), angle = rect
            if min(rw, rh) < 3:
                continue
            x0, y0, bw, bh = cv2.boundingRect(contour)
            cmask = np.zeros((bh, bw), np.uint8)
            cv2.drawContours(cmask, [contour - np.array([x0, y0])], -1, 1, thickness=-1)
            score = float(cv2.mean(prob[y0 : y0 + bh, x0 : x0 + bw], cmask)[0])
            if score < floor:
                continue
            # DB predicts a shrunk kernel: grow it by area * ratio / perimeter on every side.
            d = rw * rh * self.unclip / (2 * (rw + rh))
            grown = ((cx, cy), (rw + 2 * d, rh + 2 * d), angle)
            quad = _order(np.asarray(cv2.boxPoints(grown), dtype=np.float32))
            quad[:, 0] = np.clip(quad[:, 0] * sx, 0, pw * sx - 1)
            quad[:, 1] = np.clip(quad[:, 1] * sy, 0, ph * sy - 1)
            box = TextBox(quad.astype(np.float32), score)
            if box.width > 4 and box.height > 4:
                out.append(box)
        return out


def _order(pts: FloatArray) -> FloatArray:
    """Order 4 points as top-left, top-right, bottom-right, bottom-left (reading order)."""
    by_x = pts[np.argsort(pts[:, 0], kind="stable")]
    left = by_x[:2][np.argsort(by_x[:2, 1], kind="stable")]
    right = by_x[2:][np.argsort(by_x[2:, 1], kind="stable")]
    return np.array([left[0], right[0], right[1], left[1]], dtype=np.float32)
