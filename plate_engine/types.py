"""The contract between the recogniser (image -> plates) and the HTTP server."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Box:
    """Pixel box in the coordinates of the image as received."""

    xmin: int
    ymin: int
    xmax: int
    ymax: int


@dataclass(frozen=True, slots=True)
class Candidate:
    plate: str  # lower case, alphanumerics only, as the API returns it
    score: float


@dataclass(frozen=True, slots=True)
class PlateRead:
    """One plate found in an image."""

    plate: str  # top prediction, lower case (== candidates[0].plate)
    box: Box
    score: float  # OCR confidence, 0..1
    dscore: float  # detection confidence, 0..1
    candidates: tuple[Candidate, ...]
    region_code: str  # a code from the API's country list, e.g. "us-ca", "gb", "br"
    region_score: float


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """The request's `regions` and `config` keys that steer recognition."""

    regions: Sequence[str] = ()
    fast: bool = False  # config {"mode": "fast"}
    redaction: bool = False  # config {"mode": "redaction"}: more detection candidates
    strict_region: bool = False  # config {"region": "strict"}; only with regions
    text_formats: Sequence[str] = ()  # config {"text_formats": [...]}, regexes (lower case)
    threshold_d: float | None = None  # None: the engine's default
    threshold_o: float | None = None
    top_k: int = 10  # candidates per plate
    extra: dict[str, object] = field(default_factory=dict)
