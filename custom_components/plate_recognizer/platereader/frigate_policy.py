"""Frigate's own plate reads (Frigate 0.16+ LPR): when does a lookup still add something?

Frigate 0.16 reads licence plates itself. It attaches a plate to a tracked car
only when the average confidence of its characters reaches its
``lpr.recognition_threshold`` (default 0.9), and then says so twice: in
``frigate/events`` (``recognized_license_plate`` and
``recognized_license_plate_score`` in ``after``) and in
``frigate/tracked_object_update`` (``{"type": "lpr", "id", "camera", "plate",
"score", "name", "plate_box", "timestamp"}``). A cloud lookup for a plate
Frigate already read costs quota and adds nothing, unless the user wants what
only the API gives (make, model and colour), wants two readers to agree before
a watched plate counts, or Frigate has not read the plate.

Pure and free of Home Assistant: the one Frigate event policy
(:mod:`.frigate_flow`, used by the bridge and the integration's Frigate
trigger alike) asks these questions:

* :func:`plate_in_event` and :func:`parse_lpr_update` read Frigate's plate out
  of its two messages;
* :func:`decide` says whether Frigate's read (or its absence) means publish it
  as it is, wait a little for it, or look the picture up;
* :class:`FrigatePlates` remembers, bounded, each tracked object's plate and
  which cameras Frigate reads plates on;
* :func:`frigate_holds` says whether a plate would be written back to Frigate
  although Frigate already holds it.
"""

from __future__ import annotations

import json
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, Literal

from .models import PlateResult
from .watchlist import normalize_plate

__all__ = [
    "DEFAULT_MIN_SCORE",
    "DEFAULT_WAIT",
    "LPR_MODES",
    "MAX_WAIT",
    "READ_BY_API",
    "READ_BY_ENGINE",
    "READ_BY_FRIGATE",
    "Action",
    "FrigatePayloadError",
    "FrigatePlate",
    "FrigatePlates",
    "LprDecision",
    "LprMode",
    "LprOptions",
    "ReadBy",
    "Reason",
    "decide",
    "frigate_holds",
    "lookup_read_by",
    "parse_lpr_update",
    "plate_in_event",
]

# Who read the plate of a published event: Frigate's LPR, the cloud Snapshot
# API, or a local server (the on-premise SDK or our own engine).
ReadBy = Literal["frigate", "api", "engine"]
READ_BY_FRIGATE: Final[ReadBy] = "frigate"
READ_BY_API: Final[ReadBy] = "api"
READ_BY_ENGINE: Final[ReadBy] = "engine"

# "auto": use Frigate's reads, and wait for one only on cameras Frigate is known
# to read plates on; "on": wait on every camera; "off": ignore them (as before 0.16).
LprMode = Literal["auto", "on", "off"]
LPR_MODES: Final = ("auto", "on", "off")

# Frigate's own default recognition_threshold: a read Frigate attaches at its
# default setting is trusted as it is; users who lower Frigate's threshold to
# catch more plates at night get the reads below 0.9 confirmed by a lookup.
DEFAULT_MIN_SCORE: Final = 0.9
# Frigate reads a plate within a second or two of the car being tracked with a
# readable plate; 3 s covers a busy Frigate host, and the snapshot a lookup
# then reads is Frigate's best frame so far, so a passing car is still read.
DEFAULT_WAIT: Final = 3.0
MAX_WAIT: Final = 20.0  # below EventTracker.in_flight_timeout (30 s)

_TEXT_MAX: Final = 100  # Frigate's own limit for sub labels and plates
_LPR_PAYLOAD_MAX: Final = 64 * 1024  # an lpr update is ~250 bytes


def lookup_read_by(is_cloud: bool) -> ReadBy:
    """``read_by`` of an event the lookup produced."""
    return READ_BY_API if is_cloud else READ_BY_ENGINE


class FrigatePayloadError(ValueError):
    """A Frigate message whose plate fields cannot be understood."""


@dataclass(frozen=True, slots=True)
class LprOptions:
    """How Frigate's reads are used (one camera, or every camera of a bridge)."""

    mode: LprMode = "auto"
    min_score: float = DEFAULT_MIN_SCORE
    wait: float = DEFAULT_WAIT
    confirm_watched: bool = False

    def __post_init__(self) -> None:
        if self.mode not in LPR_MODES:
            raise ValueError(f"mode must be one of {', '.join(LPR_MODES)}, got {self.mode!r}")
        if not 0.0 <= self.min_score <= 1.0:
            raise ValueError(f"min_score must be between 0 and 1, got {self.min_score!r}")
        if not 0.0 <= self.wait <= MAX_WAIT:
            raise ValueError(f"wait must be between 0 and {MAX_WAIT:g} s, got {self.wait!r}")

    @property
    def enabled(self) -> bool:
        return self.mode != "off"


@dataclass(frozen=True, slots=True)
class FrigatePlate:
    """A plate Frigate read on one tracked object.

    ``box`` is the plate in Frigate's detect frame, not in a snapshot (which may
    be cropped or resized), so it is kept for reference and never drawn.
    """

    event_id: str
    camera: str
    plate: str
    score: float | None = None
    name: str | None = None  # Frigate's own known-plate name, if any
    box: tuple[float, float, float, float] | None = None

    def confident(self, min_score: float) -> bool:
        return self.score is not None and self.score >= min_score

    def result(self) -> PlateResult:
        """The read as a platereader result, so it goes the way of an API read."""
        return PlateResult(plate=self.plate, score=self.score)


# --------------------------------------------------------------------------- parsing


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _score(value: object, path: str) -> float | None:
    if value is None:
        return None
    # bool is an int subclass; true where a number belongs is a broken payload.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FrigatePayloadError(f"{path} must be a number, got {_kind(value)}")
    score = float(value)
    if not math.isfinite(score):
        raise FrigatePayloadError(f"{path} must be a finite number, got {value!r}")
    return score


def _text(value: object, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise FrigatePayloadError(f"{path} must be a non-empty string, got {_kind(value)}")
    if len(value) > _TEXT_MAX:
        raise FrigatePayloadError(f"{path} must be at most {_TEXT_MAX} characters")
    return value.strip()


def plate_in_event(after: Mapping[str, Any]) -> tuple[str, float | None] | None:
    """``(plate, score)`` Frigate attached to a ``frigate/events`` object, or None.

    The documented form is a string plus ``recognized_license_plate_score``;
    0.16's tracked object publishes the ``(plate, score)`` tuple it stores, i.e.
    a JSON array, and ``[null, null]`` once cleared: all are accepted.
    """
    path = "after.recognized_license_plate"
    value = after.get("recognized_license_plate")
    score = _score(after.get("recognized_license_plate_score"), f"{path}_score")
    if value is None or value == "":
        return None
    if isinstance(value, list) and 1 <= len(value) <= 2:
        if value[0] is None:
            return None
        plate = _text(value[0], f"{path}[0]")
        if len(value) == 2 and score is None:
            score = _score(value[1], f"{path}[1]")
    elif isinstance(value, str):
        plate = _text(value, path)
    else:
        raise FrigatePayloadError(
            f"{path} must be null, a string or [plate, score], got {_kind(value)}"
        )
    return plate, score


def parse_lpr_update(payload: bytes | str) -> FrigatePlate | None:
    """A ``frigate/tracked_object_update`` message: the plate if it is an ``lpr`` one.

    Other update types (``description``, ``face``, ``classification``) give None;
    a malformed ``lpr`` message raises :class:`FrigatePayloadError`.
    """
    if len(payload) > _LPR_PAYLOAD_MAX:
        raise FrigatePayloadError(f"payload over {_LPR_PAYLOAD_MAX} bytes")
    try:
        message = json.loads(payload)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise FrigatePayloadError(f"payload is not JSON ({err})") from None
    if not isinstance(message, dict):
        raise FrigatePayloadError(f"payload must be a JSON object, got {_kind(message)}")
    if message.get("type") != "lpr":
        return None
    event_id = _text(message.get("id"), "id")
    camera = _text(message.get("camera"), "camera")
    plate = _text(message.get("plate"), "plate")
    score = _score(message.get("score"), "score")
    if score is not None and not 0.0 <= score <= 1.0:
        raise FrigatePayloadError(f"score must be between 0 and 1, got {score!r}")
    name = None if message.get("name") is None else _text(message["name"], "name")
    raw_box = message.get("plate_box")
    box: tuple[float, float, float, float] | None = None
    if raw_box is not None:
        if not (
            isinstance(raw_box, list)
            and len(raw_box) == 4
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in raw_box)
        ):
            raise FrigatePayloadError(f"plate_box must be [x1, y1, x2, y2], got {_kind(raw_box)}")
        x1, y1, x2, y2 = (float(v) for v in raw_box)
        box = (x1, y1, x2, y2)
    return FrigatePlate(event_id, camera, plate, score, name, box)


# --------------------------------------------------------------------------- decision


class Action(StrEnum):
    PUBLISH = "publish"  # publish Frigate's read as it is: no lookup
    WAIT = "wait"  # hold the lookup a little: Frigate may still read the plate
    LOOKUP = "lookup"  # read the picture through the API


class Reason(StrEnum):
    """Why :func:`decide` chose its action (stable strings, for metrics and logs)."""

    FRIGATE_READ = "frigate_read"
    LPR_OFF = "lpr_off"
    MMC = "mmc"
    ZONES = "zones"
    CONFIRM_WATCHED = "confirm_watched"
    WAITING = "waiting_for_frigate"
    LOW_SCORE = "frigate_score_low"
    NO_READ = "no_frigate_read"
    NO_LPR = "camera_without_lpr"


@dataclass(frozen=True, slots=True)
class LprDecision:
    action: Action
    reason: Reason


def decide(
    plate: FrigatePlate | None,
    options: LprOptions,
    *,
    reads_plates: bool,
    mmc: bool = False,
    zones: bool = False,
    watched: bool = False,
    waited: bool = False,
) -> LprDecision:
    """What to do about one tracked vehicle, given Frigate's read of it so far.

    ``reads_plates``: Frigate is known to read plates on this camera (its
    config says so, or it has sent one); only then is a lookup held back for a
    read that has not come yet (with mode ``"on"`` always). ``mmc``: the
    lookup would add make, model and colour. ``zones``: the camera keeps only
    plates whose box is in its zones, and Frigate's read has no box in the
    picture. ``watched``: Frigate's plate is on the watch list (only asked for
    with ``confirm_watched``). ``waited``: the wait is over (or the vehicle is
    gone, so Frigate will read nothing more).
    """
    if not options.enabled:
        return LprDecision(Action.LOOKUP, Reason.LPR_OFF)
    if mmc:
        return LprDecision(Action.LOOKUP, Reason.MMC)
    if zones:
        return LprDecision(Action.LOOKUP, Reason.ZONES)
    if plate is not None and plate.confident(options.min_score):
        if watched and options.confirm_watched:
            return LprDecision(Action.LOOKUP, Reason.CONFIRM_WATCHED)
        return LprDecision(Action.PUBLISH, Reason.FRIGATE_READ)
    expected = options.mode == "on" or reads_plates or plate is not None
    if not expected:
        return LprDecision(Action.LOOKUP, Reason.NO_LPR)
    if not waited and options.wait > 0:
        return LprDecision(Action.WAIT, Reason.WAITING)
    return LprDecision(Action.LOOKUP, Reason.NO_READ if plate is None else Reason.LOW_SCORE)


def frigate_holds(plate: str | None, held: FrigatePlate | None) -> bool:
    """Is ``plate`` what Frigate already holds for the object (separators and case aside)?"""
    if not plate or held is None:
        return False
    return normalize_plate(plate) == normalize_plate(held.plate)


# --------------------------------------------------------------------------- memory


@dataclass(slots=True)
class _Entry:
    plate: FrigatePlate
    seen: float
    published: bool = False


class FrigatePlates:
    """Each tracked object's latest Frigate plate, and the cameras Frigate reads on.

    Frigate replaces an object's plate only with a better read, so the latest
    is kept. Bounded: at most ``max_events`` objects (least recently seen go
    first), none kept ``ttl`` seconds after its last plate, ``max_cameras``
    cameras remembered.
    """

    def __init__(
        self,
        *,
        max_events: int = 1024,
        max_cameras: int = 256,
        ttl: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_events < 1 or max_cameras < 1 or ttl <= 0:
            raise ValueError("max_events, max_cameras and ttl must be positive")
        self._events: OrderedDict[str, _Entry] = OrderedDict()
        self._cameras: OrderedDict[str, None] = OrderedDict()
        self._max_events = max_events
        self._max_cameras = max_cameras
        self._ttl = ttl
        self._clock = clock

    def __len__(self) -> int:
        return len(self._events)

    def add(self, plate: FrigatePlate) -> None:
        now = self._clock()
        self._expire(now)
        entry = self._events.get(plate.event_id)
        if entry is None:
            self._events[plate.event_id] = _Entry(plate, now)
            while len(self._events) > self._max_events:
                self._events.popitem(last=False)
        else:
            entry.plate, entry.seen = plate, now
            self._events.move_to_end(plate.event_id)
        self.learn(plate.camera)

    def get(self, event_id: str) -> FrigatePlate | None:
        entry = self._events.get(event_id)
        return None if entry is None else entry.plate

    def learn(self, camera: str) -> None:
        """Frigate reads plates on ``camera`` (from its config, or a plate it sent)."""
        self._cameras[camera] = None
        self._cameras.move_to_end(camera)
        while len(self._cameras) > self._max_cameras:
            self._cameras.popitem(last=False)

    def reads_plates(self, camera: str) -> bool:
        return camera in self._cameras

    def mark_published(self, event_id: str) -> None:
        entry = self._events.get(event_id)
        if entry is not None:
            entry.published = True

    def published(self, event_id: str) -> bool:
        entry = self._events.get(event_id)
        return entry is not None and entry.published

    def forget(self, event_id: str) -> None:
        self._events.pop(event_id, None)

    def _expire(self, now: float) -> None:
        while self._events:
            event_id, entry = next(iter(self._events.items()))
            if now - entry.seen < self._ttl:
                break
            del self._events[event_id]
