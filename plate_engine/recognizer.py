"""Image -> plate reads: detection, recognition and format choice glued together."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from . import filters, formats
from .decode import Image, decode_image
from .detect import TextBox, TextDetector
from .errors import ImageDecodeError
from .models import DET_MODEL, REC_MODEL, open_session
from .ocr import LineRead, LineRecognizer
from .types import Box, Candidate, PlateRead, ReadOptions

FloatArray = npt.NDArray[np.float32]

# Defaults of ReadOptions.threshold_d / threshold_o (None). Detection: the DB detector's
# own line threshold is 0.5, lines that reach it are worth reading. OCR: the geometric
# mean of the plate characters' probabilities; real plates read >= 0.8 almost always,
# background text that survives the format rules sits lower.
DEFAULT_THRESHOLD_D = 0.5
DEFAULT_THRESHOLD_O = 0.5

# Longest side the detector sees, per pass. The detector's cost grows with the pixels
# (~110 ms at 960x544 on one core, ~215 ms at 1280x704), and plates close enough to read
# are found at 640-768; small, distant plates need the image's own resolution. So the
# first pass looks at a reduced image, and only if it finds no plate-format read does a
# second pass look at full resolution (capped at 1280).
DET_PASSES = (640, 1280)
DET_PASSES_FAST = (640,)

# Shortest plate text kept (a 2-3 character read is a badge, a sticker, a house number).
MIN_CHARS = 4

# Reads without any digit (vanity plates) need a surer OCR: a badge is a short word too.
VANITY_MIN_SCORE = 0.85


@dataclass(frozen=True, slots=True)
class _Found:
    rank: float  # OCR probability x format prior, per character
    plate: PlateRead
    weak: bool  # matched only a vanity format, or none


@dataclass(frozen=True, slots=True)
class _Line:
    quad: FloatArray
    dscore: float
    merged: bool


class Recognizer:
    """Offline plate reader.

    Thread safety: `read` may be called from several threads at once. The two
    onnxruntime sessions are created once and `InferenceSession.run` is thread-safe;
    everything else in a call lives on that call's stack. Each call runs its model
    steps with `threads` intra-op threads, so a pool of N workers uses up to
    N x `threads` threads: on a 2-core machine use threads=1 with 2-4 workers for
    throughput, or threads=2 with one worker for the lowest single-image latency.
    """

    def __init__(self, *, threads: int = 2) -> None:
        self._detector = TextDetector(open_session(DET_MODEL, threads))
        self._ocr = LineRecognizer(open_session(REC_MODEL, threads))

    def read(
        self, image: bytes | npt.NDArray[np.generic], options: ReadOptions = ReadOptions()
    ) -> list[PlateRead]:
        decoded = decode_image(image)  # ImageDecodeError for anything but an image
        img = decoded.image
        th_d = DEFAULT_THRESHOLD_D if options.threshold_d is None else options.threshold_d
        th_o = DEFAULT_THRESHOLD_O if options.threshold_o is None else options.threshold_o

        found: list[_Found] = []
        long_side = max(img.shape[:2])
        passes = DET_PASSES_FAST if options.fast else DET_PASSES
        for i, side in enumerate(passes):
            if i > 0 and min(side, long_side) <= min(passes[i - 1], long_side):
                break  # the image is no bigger than the last pass saw
            found += self._pass(img, decoded.scale, side, options, th_d, th_o)
            if any(not f.weak for f in found):
                break  # a plate-format read: the finer pass would only cost time
        return _drop_badges(_suppress(found))

    def _pass(
        self,
        img: Image,
        scale: float,
        side: int,
        options: ReadOptions,
        th_d: float,
        th_o: float,
    ) -> list[_Found]:
        """Detect at `side` pixels, read every plate-like line, keep plate-like reads."""
        boxes = [b for b in self._detector.detect(img, side) if _plate_like(b)]
        lines = [_Line(b.quad, b.score, False) for b in boxes]
        if not options.fast:
            lines += _merge_neighbours(boxes)
        lines = [ln for ln in lines if ln.dscore >= th_d]
        if not lines:
            return []
        pads = CROP_PADS_FAST if options.fast else CROP_PADS
        crops = [_crop(img, ln.quad, pad) for ln in lines for pad in pads]
        reads = self._ocr.read(crops)
        k = len(pads)
        found: list[_Found] = []
        for i, line in enumerate(lines):
            ranked = self._plate(line, reads[i * k : (i + 1) * k], options, scale, img.shape)
            if ranked is not None and ranked.plate.score >= th_o:
                found.append(ranked)
        return found

    def _plate(
        self,
        line: _Line,
        ocrs: list[LineRead],
        options: ReadOptions,
        scale: float,
        shape: tuple[int, ...],
    ) -> _Found | None:
        """The line's best plate string and its rank (OCR x format prior), or None.

        `ocrs` are reads of the same line cropped with different margins; the
        recogniser's answer shifts with the crop, and pooling the reads steadies it.
        """
        if any(filters.is_overlay(o.raw) or filters.is_written_text(o.raw) for o in ocrs):
            return None
        regions = list(options.regions)
        strict = options.strict_region and bool(regions)
        top_k = max(1, options.top_k)
        rankings = [
            formats.choose(
                o.text,
                o.probs,
                regions=regions,
                strict=strict,
                text_formats=options.text_formats,
                top_k=top_k,
            )
            for o in ocrs
            if MIN_CHARS <= len(o.text) <= 10
        ]
        choices = formats.merge(rankings, top_k)
        if not choices:
            return None
        best = choices[0]
        has_digit = any(c.isdigit() for c in best.text)
        if best.fmt is None and not (has_digit and 4 <= len(best.text) <= 8):
            return None
        n = max(1, len(best.text))
        score = float(best.ocr ** (1.0 / n))
        if filters.is_known_word(best.text) or any(filters.is_known_word(o.text) for o in ocrs):
            return None
        if len(best.text) < MIN_CHARS or len(set(best.text)) == 1:
            return None
        # A line the OCR read without any digit is a word unless a vanity plate: turning
        # its letters into look-alike digits to fit a format makes "ALT1MA" of ALTIMA.
        no_digit = not any(c.isdigit() for o in ocrs for c in o.text)
        weak = best.fmt is None or best.fmt.weak or no_digit
        if weak and (score < VANITY_MIN_SCORE or not formats.plausible_vanity(best.text)):
            return None
        candidates = tuple(
            Candidate(c.text.lower(), round(float(c.ocr ** (1.0 / max(1, len(c.text)))), 3))
            for c in choices
        )
        code, rscore = formats.region_of(best.text, regions, strict)
        plate = PlateRead(
            plate=best.text.lower(),
            box=_plate_box(line.quad, scale, shape),
            score=round(score, 3),
            dscore=round(float(line.dscore), 3),
            candidates=candidates,
            region_code=code,
            region_score=rscore,
        )
        return _Found(best.rank ** (1.0 / n), plate, weak)


def _plate_like(box: TextBox) -> bool:
    """Text lines that could hold a plate: not tiny, not a paragraph, roughly horizontal."""
    h, w = box.height, box.width
    return h >= 8 and w >= h * 0.8 and w <= h * 14


def _merge_neighbours(boxes: list[TextBox]) -> list[_Line]:
    """Join side-by-side lines of the same height: plates split at a gap or an emblem."""
    out: list[_Line] = []
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            left, right = (a, b) if a.bounds[0] <= b.bounds[0] else (b, a)
            h = max(left.height, right.height)
            if min(left.height, right.height) < 0.7 * h:
                continue
            ly = (left.bounds[1] + left.bounds[3]) / 2
            ry = (right.bounds[1] + right.bounds[3]) / 2
            gap = right.bounds[0] - left.bounds[2]
            if abs(ly - ry) > 0.35 * h or gap > 1.2 * h or gap < -0.3 * h:
                continue
            quad = np.array(
                [left.quad[0], right.quad[1], right.quad[2], left.quad[3]], dtype=np.float32
            )
            out.append(_Line(quad, min(left.score, right.score), True))
    return out


def _crop(img: Image, quad: FloatArray, pad: float) -> Image:
    """Warp the quad to an upright rectangle (plates are often slanted).

    The detector's box hugs the characters and sometimes clips the last stroke of an
    end character ("I" next to the frame): pad left and right by a fraction of the height.
    """
    quad = _pad(quad, pad)
    w = round(max(np.linalg.norm(quad[1] - quad[0]), np.linalg.norm(quad[2] - quad[3])))
    h = round(max(np.linalg.norm(quad[3] - quad[0]), np.linalg.norm(quad[2] - quad[1])))
    w, h = max(w, 4), max(h, 4)
    dst = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    m = cv2.getPerspectiveTransform(quad.astype(np.float32), dst)
    return cv2.warpPerspective(img, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)


# Left/right margins (x line height) of the crops read per line: two reads, pooled.
CROP_PADS = (0.0, 0.15)
CROP_PADS_FAST = (0.1,)


def _pad(quad: FloatArray, frac: float) -> FloatArray:
    """Move the left and right edges of the quad outwards by frac x its height."""
    top, bottom = quad[1] - quad[0], quad[2] - quad[3]
    height = float(np.linalg.norm(quad[3] - quad[0]))
    ut = top / max(float(np.linalg.norm(top)), 1e-6) * frac * height
    ub = bottom / max(float(np.linalg.norm(bottom)), 1e-6) * frac * height
    return np.array(
        [quad[0] - ut, quad[1] + ut, quad[2] + ub, quad[3] - ub], dtype=np.float32
    )


# The detector boxes the characters; the API reports the plate. Grow the text box by
# these fractions of its width / height on each side (measured on the dev images).
_GROW_X = 0.0
_GROW_Y = 0.05


def _plate_box(quad: FloatArray, scale: float, shape: tuple[int, ...]) -> Box:
    x0, y0 = quad[:, 0].min(), quad[:, 1].min()
    x1, y1 = quad[:, 0].max(), quad[:, 1].max()
    gx, gy = (x1 - x0) * _GROW_X, (y1 - y0) * _GROW_Y
    h, w = shape[0], shape[1]
    x0, x1 = max(0.0, x0 - gx), min(w - 1.0, x1 + gx)
    y0, y1 = max(0.0, y0 - gy), min(h - 1.0, y1 + gy)
    return Box(
        round(x0 * scale), round(y0 * scale), round(x1 * scale), round(y1 * scale)
    )


def _iou(a: Box, b: Box) -> float:
    ix = max(0, min(a.xmax, b.xmax) - max(a.xmin, b.xmin))
    iy = max(0, min(a.ymax, b.ymax) - max(a.ymin, b.ymin))
    inter = ix * iy
    area_a = (a.xmax - a.xmin) * (a.ymax - a.ymin)
    area_b = (b.xmax - b.xmin) * (b.ymax - b.ymin)
    return inter / max(1, min(area_a, area_b))


def _drop_badges(plates: list[_Found]) -> list[PlateRead]:
    """Weak reads (vanity or no format) only count when no read matches a plate format.

    A photo with a regular plate has its make, model and dealer words around it; only
    when no such plate is seen can a free-form read be a vanity plate (one at most).
    """
    strong = [f.plate for f in plates if not f.weak]
    if strong:
        return strong
    # Letters and digits mixed is plate-like (a plate of an unlisted format); a lone word
    # or number is only taken when nothing else is there.
    mixed = [f.plate for f in plates if _mixed(f.plate.plate)]
    return mixed[:2] or [f.plate for f in plates[:1]]


def _mixed(text: str) -> bool:
    return any(c.isdigit() for c in text) and any(c.isalpha() for c in text)


def _suppress(found: list[_Found]) -> list[_Found]:
    """One read per plate: overlapping reads (a line and its merge) keep the best."""
    found.sort(key=lambda f: f.rank, reverse=True)
    kept: list[_Found] = []
    for f in found:
        if all(_iou(f.plate.box, k.plate.box) < 0.5 for k in kept):
            kept.append(f)
    return kept
