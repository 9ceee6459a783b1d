"""The contract between the recogniser (image -> plates) and the HTTP server."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

# The API's pixel box, in the coordinates of the image as received: platereader's one type.
from platereader import Box as Box

# The API's vehicle types and colours (results/vehicle/type, results/color/color).
VEHICLE_TYPES: Final = (
    "Big Truck",
    "Bus",
    "Motorcycle",
    "Pickup Truck",
    "Sedan",
    "SUV",
    "Van",
    "Unknown",
)
COLOURS: Final = (
    "black",
    "blue",
    "brown",
    "green",
    "red",
    "silver",
    "white",
    "yellow",
    "unknown",
)


@dataclass(frozen=True, slots=True)
class Candidate:
    plate: str  # lower case, alphanumerics only, as the API returns it
    score: float


@dataclass(frozen=True, slots=True)
class Vehicle:
    """A vehicle the detector found (plate_engine.vehicles)."""

    box: Box
    type: str  # one of VEHICLE_TYPES
    score: float  # confidence in `type`, 0..1 (see vehicles.py for how it is made honest)
    color: str = "unknown"  # one of COLOURS; "unknown" unless colour was asked for (mmc)
    color_score: float = 0.0


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
    vehicle: Vehicle | None = None  # the vehicle holding the plate; None: none found


class Reads(list[PlateRead]):
    """What `Recognizer.read` returns: the plates (a list, as before) and, apart, the
    vehicles seen without a plate (`unplated`; only filled with `ReadOptions.unplated`,
    for `detection_mode: vehicle`)."""

    def __init__(self, plates: Iterable[PlateRead] = (), unplated: Iterable[Vehicle] = ()) -> None:
        super().__init__(plates)
        self.unplated: tuple[Vehicle, ...] = tuple(unplated)


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
    vehicle_rule: bool = False  # config {"detection_rule": "strict"}: plates need a vehicle
    unplated: bool = False  # config {"detection_mode": "vehicle"}: vehicles without a plate too
    colour: bool = False  # mmc=true: the vehicles' colour
    extra: dict[str, object] = field(default_factory=dict)
