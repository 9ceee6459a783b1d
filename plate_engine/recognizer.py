"""Image -> plate reads: detection, recognition and format choice glued together."""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np
import numpy.typing as npt

from . import filters, formats, region_formats, vehicles
from .decode import Image, decode_image
from .detect import TextBox, TextDetector
from .models import DET_MODEL, REC_MODEL, Gate, Model, default_slots, limit_malloc_arenas
from .ocr import LineRead, LineRecognizer
from .types import Box, Candidate, PlateRead, ReadOptions, Reads

FloatArray = npt.NDArray[np.float32]

# Defaults of ReadOptions.threshold_d / threshold_o (None). Detection: the DB detector's
# own line threshold is 0.5, lines that reach it are worth reading. OCR: the geometric
# mean of the plate characters' probabilities; real plates read >= 0.8 almost always,
# background text that survives the format rules sits lower.
DEFAULT_THRESHOLD_D = 0.5
DEFAULT_THRESHOLD_O = 0.5
# Redaction mode wants every plate, a blurred one too: accept fainter lines.
REDACTION_THRESHOLD_D = 0.35

# Longest side the detector sees. The detector's cost grows with the pixels (~37 ms at
# 640x352 on one core, ~110 ms at 960x544, ~215 ms at 1280x704) and plates close enough
# to read are found at 640; small, distant plates need full resolution (capped at 1280).
FIRST_SIDE = 640
FULL_SIDE = 1280
# A plate read in the first pass whose text is at least this tall in the detector's input
# was found whole; smaller text is often boxed partially at that scale (the "SU216" of
# "6LSU216"), so its neighbourhood is looked at again at full resolution.
RELIABLE_HEIGHT = 16.0
# Fast mode looks again around small plates too: on the dev photos it costs ~10 ms per
# call and is worth ~2 points of exact US reads (79.8% -> 81.6%).
REFINE_FAST = True

# A read is "strong" (a plate beyond doubt, whose neighbours' badge words can go) when
# its best format weighs at least this: a region's main formats, not a catch-all one.
STRONG_PRIOR = 0.3

# Shortest plate text kept (a 2-3 character read is a badge, a sticker, a house number);
# 4 characters fit so many formats ("LX14", "FY33") that such a read only stands alone.
MIN_CHARS = 4
STRONG_MIN_CHARS = 5

# Reads without any digit (vanity plates) need a surer OCR: a badge is a short word too.
VANITY_MIN_SCORE = 0.85


_DEFAULTS = ReadOptions()  # frozen: safe to share as the default argument


@dataclass(frozen=True, slots=True)
class _Found:
    rank: float  # OCR probability x format prior, per character
    plate: PlateRead
    weak: bool  # matched only a vanity format, or none
    det_height: float = 0.0  # text height in the detector's input pixels
    quad: FloatArray | None = None  # the line, in the decoded image's pixels


@dataclass(frozen=True, slots=True)
class _Line:
    quad: FloatArray
    dscore: float
    merged: bool


class Recognizer:
    """Offline plate reader: `read(image, options) -> [PlateRead]`.

    Thread safety: concurrent `read` calls from a worker pool are safe; the server need
    not serialise them. The onnxruntime sessions are created once in __init__ and
    `InferenceSession.run` is thread-safe; everything else of a call lives on its own
    stack. A shared gate lets at most one model run per CPU core execute at a time
    (more would only time-slice the cores while each holds its activations); the others
    wait. A run that is alone uses `threads` intra-op threads (lowest latency for one
    image), a run that has company uses one thread (best throughput): so 2-4 workers
    with the default threads=2 suit a 2-core machine.

    Construction loads ~50 MB of models (OCR ~30, vehicles 18) and caps glibc's malloc
    arenas for the process (see models.limit_malloc_arenas), which keeps the peak RSS of
    concurrent calls low.
    """

    def __init__(self, *, threads: int = 2) -> None:
        limit_malloc_arenas()
        gate = Gate(default_slots())
        self._detector = TextDetector(Model(DET_MODEL, threads, gate))
        self._ocr = LineRecognizer(Model(REC_MODEL, threads, gate))
        self._vehicles = vehicles.VehicleDetector(Model(vehicles.MODEL_PATH, threads, gate))

    def read(
        self, image: bytes | npt.NDArray[np.generic], options: ReadOptions = _DEFAULTS
    ) -> Reads:
        """The plates of the image, each with its vehicle (see `Reads` and vehicles.py)."""
        decoded = decode_image(image)  # ImageDecodeError for anything but an image
        img = decoded.image
        th_d = (
            (REDACTION_THRESHOLD_D if options.redaction else DEFAULT_THRESHOLD_D)
            if options.threshold_d is None
            else options.threshold_d
        )
        th_o = DEFAULT_THRESHOLD_O if options.threshold_o is None else options.threshold_o

        # Pass 1 looks at a reduced image. If it finds no plate-format read, pass 2 looks
        # at full resolution; if it finds plates too small to be sure they were boxed
        # whole, each is looked at again in its own neighbourhood at full resolution.
        # Redaction mode (find every plate) always looks at full resolution too.
        whole = (0, 0, img.shape[1], img.shape[0])
        found = self._pass(img, whole, FIRST_SIDE, 1.0, options, th_d, th_o, decoded.scale)
        strong = [f for f in found if not f.weak]
        if not strong or options.redaction:
            if max(img.shape[:2]) > FIRST_SIDE:
                found += self._pass(img, whole, FULL_SIDE, 1.0, options, th_d, th_o, decoded.scale)
        elif REFINE_FAST or not options.fast:
            for f in strong:
                if f.det_height < RELIABLE_HEIGHT:
                    roi, upscale = _neighbourhood(f.quad, img.shape)
                    found += self._pass(
                        img, roi, FULL_SIDE, upscale, options, th_d, th_o, decoded.scale, f.quad
                    )
        plates = _drop_badges(_suppress(found))
        # The vehicle detector sees 300x300 (~18 ms on one core): run whenever there is a
        # plate, so every plate carries its vehicle as the API's answers do, and in vehicle
        # mode. A photo without a plate in plate mode has nothing to attach a vehicle to.
        if not plates and not options.unplated:
            return Reads()
        detections = self._vehicles.detect(img)
        return vehicles.attach(img, decoded.scale, plates, detections, options)

    def _pass(
        self,
        img: Image,
        roi: tuple[int, int, int, int],
        side: int,
        upscale: float,
        options: ReadOptions,
        th_d: float,
        th_o: float,
        scale: float,
        known: FloatArray | None = None,
    ) -> list[_Found]:
        """Detect lines in `roi` of the image, read the plate-like ones, keep plate reads.

        `known`: a line already read; a line boxed the same way again is not re-read.
        """
        x0, y0, x1, y1 = roi
        part = img[y0:y1, x0:x1]
        offset = np.array([x0, y0], dtype=np.float32)
        boxes = [
            TextBox(b.quad + offset, b.score)
            for b in self._detector.detect(part, side, upscale, min_score=th_d)
            if _plate_like(b)
        ]
        lines = [_Line(b.quad, b.score, False) for b in boxes]
        if not options.fast:
            lines += _merge_neighbours(boxes)
        lines = [ln for ln in lines if ln.dscore >= th_d]
        if known is not None:
            lines = [ln for ln in lines if _quad_iou(ln.quad, known) < SAME_LINE_IOU]
        if not lines:
            return []
        reads = self._read_lines(img, lines, options.fast)
        ratio = min(upscale, side / max(part.shape[:2]))
        found: list[_Found] = []
        for i, line in enumerate(lines):
            ranked = self._plate(line, reads[i], options, scale, img.shape)
            if ranked is not None and ranked.plate.score >= th_o:
                height = float(np.linalg.norm(line.quad[3] - line.quad[0])) * ratio
                found.append(replace(ranked, det_height=height, quad=line.quad))
        return found

    def _read_lines(self, img: Image, lines: list[_Line], fast: bool) -> list[list[LineRead]]:
        """Each line's OCR reads, from differently cropped copies (pooled by `_plate`).

        The recogniser's answer shifts with the crop's margins. Every line is read at the
        middle margin first; fast mode stops there. Regular mode also reads the two outer
        margins of a line the first read was unsure of (a character below SURE_CHAR), and
        the three reads are pooled. A sure read stands alone: on the dev photos it reads as
        well as the pool of three, for a third less OCR (see CROP_PADS).
        """
        mid = CROP_PADS_FAST[0] if fast else CROP_PADS[1]
        first = self._ocr.read([_crop(img, ln.quad, mid) for ln in lines])
        reads = [[r] for r in first]
        if fast:
            return reads
        unsure = [i for i, r in enumerate(first) if not _sure(r)]
        outer = (CROP_PADS[0], CROP_PADS[-1])
        more = self._ocr.read([_crop(img, lines[i].quad, p) for i in unsure for p in outer])
        for n, i in enumerate(unsure):
            reads[i] = [more[2 * n], first[i], more[2 * n + 1]]
        return reads

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
        # A line any read of which is a known word or a date is no plate, whatever the
        # formats make of it: checked before ranking them (the costly part of a line).
        if any(filters.is_known_word(o.text) or filters.is_dateish(o.text) for o in ocrs):
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
                aspect=formats.line_aspect(line.quad),  # the plate's shape, a soft hint
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
        if filters.is_known_word(best.text) or filters.is_dateish(best.text):
            return None
        if len(best.text) < MIN_CHARS or len(set(best.text)) == 1:
            return None
        # A line the OCR read without any digit is a word unless a vanity plate: turning
        # its letters into look-alike digits to fit a format makes "ALT1MA" of ALTIMA.
        no_digit = not any(c.isdigit() for o in ocrs for c in o.text)
        # A foreign car's plate (a format of a region not requested) weighs less in the
        # ranking, not in being a plate.
        requested = {r.lower() for r in regions}
        foreign = bool(requested) and best.fmt is not None and best.fmt.region not in requested
        strong_prior = STRONG_PRIOR * (region_formats.FOREIGN_WEIGHT if foreign else 1.0)
        weak = (
            best.fmt is None
            or best.fmt.weak
            or best.prior < strong_prior
            or no_digit
            or len(best.text) < STRONG_MIN_CHARS
        )
        # How sure the OCR was of what it saw (its own best path), before any format
        # turned letters into look-alike digits.
        seen = max(formats.geometric_mean(float(c) for c in o.conf) for o in ocrs)
        if weak and (
            max(score, seen) < VANITY_MIN_SCORE or not region_formats.plausible_vanity(best.text)
        ):
            return None
        candidates = _ranked_candidates(
            [(c.text.lower(), float(c.ocr ** (1.0 / max(1, len(c.text))))) for c in choices]
        )
        code, rscore = region_formats.region_of(best.text, regions, strict)
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


# A line read with every character at least this sure (the read's own probability of
# it) is settled by one read; below, two more crops are read and the three pooled.
SURE_CHAR = 0.9


def _sure(read: LineRead) -> bool:
    return bool(read.text) and float(read.conf.min()) >= SURE_CHAR


def _ranked_candidates(choices: list[tuple[str, float]]) -> tuple[Candidate, ...]:
    """Candidates in the engine's order (OCR x format prior), scores never rising.

    The per-character OCR score alone favours a string that drops a doubtful character
    ("y649ag" 0.997 and "by49ag" 1.0 against "by649ag" 0.997), which the format ranking
    rightly puts below; a client reading `candidates` as "best first" (the API's promise,
    the first being `plate`) must not see a later one score higher: each score is capped
    by the one before it.
    """
    out: list[Candidate] = []
    ceiling = 1.0
    for text, score in choices:
        ceiling = min(ceiling, score)
        out.append(Candidate(text, round(ceiling, 3)))
    return tuple(out)


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
    return np.asarray(
        cv2.warpPerspective(img, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE),
        dtype=np.uint8,
    )


def _neighbourhood(
    quad: FloatArray | None, shape: tuple[int, ...]
) -> tuple[tuple[int, int, int, int], float]:
    """The area around a small plate read, and how much to enlarge it for the detector.

    Wide enough for characters the first pass missed at either end, high enough for the
    detector to see the plate's outline; enlarged so the text is ~32 px tall (at most 2x).
    """
    assert quad is not None
    x0, y0 = float(quad[:, 0].min()), float(quad[:, 1].min())
    x1, y1 = float(quad[:, 0].max()), float(quad[:, 1].max())
    w, h = x1 - x0, max(y1 - y0, 1.0)
    roi = (
        max(0, int(x0 - 0.6 * w)),
        max(0, int(y0 - 1.5 * h)),
        min(shape[1], int(x1 + 0.6 * w) + 1),
        min(shape[0], int(y1 + 1.5 * h) + 1),
    )
    return roi, min(2.0, max(1.0, 32.0 / h))


# Left/right margins (x line height) of the crops read per line: a read flips a
# character or two on ~5% of plates depending on the margin, and three reads pooled agree
# more often. Regular mode reads the middle crop and adds the outer two only when that
# read is unsure (`_read_lines`): 6.1 crops per photo instead of 9.2 on half "a" of the
# dev photos, reading it as well, and half "b" better (US 80.3 -> 81.8 %). Always two
# crops (0.0, 0.2) lost 2 of 66 US plates on half "b"; fast mode reads one.
CROP_PADS = (0.0, 0.1, 0.2)
CROP_PADS_FAST = (0.1,)


def _pad(quad: FloatArray, frac: float) -> FloatArray:
    """Move the left and right edges of the quad outwards by frac x its height."""
    top, bottom = quad[1] - quad[0], quad[2] - quad[3]
    height = float(np.linalg.norm(quad[3] - quad[0]))
    ut = top / max(float(np.linalg.norm(top)), 1e-6) * frac * height
    ub = bottom / max(float(np.linalg.norm(bottom)), 1e-6) * frac * height
    return np.array([quad[0] - ut, quad[1] + ut, quad[2] + ub, quad[3] - ub], dtype=np.float32)


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
        xmin=round(x0 * scale),
        ymin=round(y0 * scale),
        xmax=round(x1 * scale),
        ymax=round(y1 * scale),
    )


# A line re-detected with at least this overlap (of axis-aligned bounds) is the same line.
SAME_LINE_IOU = 0.8


def _quad_iou(a: FloatArray, b: FloatArray) -> float:
    ax0, ay0, ax1, ay1 = a[:, 0].min(), a[:, 1].min(), a[:, 0].max(), a[:, 1].max()
    bx0, by0, bx1, by1 = b[:, 0].min(), b[:, 1].min(), b[:, 0].max(), b[:, 1].max()
    ix = max(0.0, float(min(ax1, bx1) - max(ax0, bx0)))
    iy = max(0.0, float(min(ay1, by1) - max(ay0, by0)))
    inter = ix * iy
    union = float((ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0)) - inter
    return inter / union if union > 0 else 0.0


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
