"""Frigate's ``frigate/events`` messages: typed payloads, and which events are candidates.

Pure and free of Home Assistant: the bridge (``bridge/sources/frigate.py``) and
the integration (``frigate_trigger.py``) parse and filter Frigate's events here,
and ask :mod:`.frigate_tracker` whether one deserves a lookup.

* :func:`parse_event` turns one message (Frigate 0.14, 0.15, 0.16) into a
  typed, immutable :class:`FrigateEvent`. The wire format is described by
  pydantic models; unknown fields are ignored so newer Frigate versions keep
  working, wrong types raise :class:`FrigateEventError` naming the field, and
  the error keeps the event's camera and id when the payload has them.
* :class:`FrigateFilter` says whether an event is a candidate at all (camera,
  label, zones, score, area).

What differs between versions (checked against Frigate's source and docs):
0.14+ include ``snapshot`` (the best frame so far: ``frame_time``, ``box``,
``area``, ``region``, ``score``, ``attributes``) and ``active``; older
versions had ``snapshot_time`` instead. ``sub_label`` is ``[name, score]`` (a
JSON-encoded tuple) in 0.14+, a bare string in older payloads and some
third-party publishers, or null. 0.16 adds ``recognized_license_plate``
(:func:`.frigate_policy.plate_in_event` reads both of its forms).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, PlainValidator, ValidationError

from .frigate_policy import FrigatePayloadError, FrigatePlate, plate_in_event

__all__ = [
    "DEFAULT_LABELS",
    "PAYLOAD_MAX",
    "Box",
    "EventType",
    "FrigateEvent",
    "FrigateEventError",
    "FrigateFilter",
    "parse_event",
]

EventType = Literal["new", "update", "end"]
Box = tuple[float, float, float, float]

# Frigate's vehicle labels (COCO labelmap, also Frigate+). Motorcycles carry
# plates too; bicycles don't.
DEFAULT_LABELS: Final = frozenset({"car", "motorcycle", "bus", "truck"})

# A Frigate event is 1-3 KB; anything near this is not one, and is refused
# before JSON decoding so a hostile publisher cannot make a worker chew on it.
PAYLOAD_MAX: Final = 256 * 1024


class FrigateEventError(ValueError):
    """A ``frigate/events`` payload that cannot be understood.

    ``camera`` and ``event_id`` are the payload's own, when it has them as
    strings, so an error can still be told apart per camera and event.
    """

    def __init__(
        self, message: str, *, camera: str | None = None, event_id: str | None = None
    ) -> None:
        super().__init__(message)
        self.camera = camera
        self.event_id = event_id


# --------------------------------------------------------------------------- wire types


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


class _WrongType(ValueError):
    """A field of the wrong type; the message follows the field's path."""


def _wrong(expected: str, value: object, sub: str = "") -> _WrongType:
    # `sub` locates the fault inside the value (e.g. "[0]" of a [name, score] pair).
    return _WrongType(f"{sub} must be {expected}, got {_kind(value)}")


def _is_number(value: object) -> bool:
    # bool is an int subclass; true/false where a number belongs is a broken payload.
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(value: object) -> float | None:
    if value is None:
        return None
    if not _is_number(value):
        raise _wrong("a number", value)
    result = float(value)  # type: ignore[arg-type]  # checked by _is_number
    if not math.isfinite(result):
        raise _wrong("a finite number", value)
    return result


def _flag(value: object) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise _wrong("true or false", value)
    return value


def _text(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise _wrong("a non-empty string", value)
    return value


def _names(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _wrong("a list of strings", value)
    return tuple(value)


def _box(value: object) -> Box | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 4 or not all(_is_number(v) for v in value):
        raise _wrong("[x1, y1, x2, y2]", value)
    x1, y1, x2, y2 = (float(v) for v in value)
    return (x1, y1, x2, y2)


def _labelled(value: object) -> tuple[str, float | None] | None:
    """``null``, ``"name"`` or ``[name, score]`` (Frigate's JSON-encoded tuple).

    ``[null, null]`` is what Frigate publishes after a label is cleared.
    """
    if value is None:
        return None
    if isinstance(value, str):
        return (value, None) if value else None
    if isinstance(value, list) and 1 <= len(value) <= 2:
        name = value[0]
        score = value[1] if len(value) == 2 else None
        if name is None:
            return None
        if not isinstance(name, str):
            raise _wrong("a string", name, "[0]")
        if score is not None and not _is_number(score):
            raise _wrong("a number or null", score, "[1]")
        return (name, None if score is None else float(score)) if name else None
    raise _wrong("null, a string or [name, score]", value)


Number = Annotated[float | None, PlainValidator(_number)]
Flag = Annotated[bool | None, PlainValidator(_flag)]
Text = Annotated[str, PlainValidator(_text)]
Names = Annotated[tuple[str, ...], PlainValidator(_names)]
OptBox = Annotated[Box | None, PlainValidator(_box)]
Labelled = Annotated[tuple[str, float | None] | None, PlainValidator(_labelled)]


class _Payload(BaseModel):
    # Frigate adds fields with most releases: ignore what is not read.
    model_config = ConfigDict(extra="ignore")


class SnapshotPayload(_Payload):
    """``after.snapshot`` (0.14+): the best frame Frigate has kept so far."""

    frame_time: Number = None
    score: Number = None
    area: Number = None
    box: OptBox = None


class ObjectPayload(_Payload):
    """``after``: the tracked object's state. Fields in the order they are checked."""

    id: Text
    camera: Text
    label: Text
    score: Number = None
    top_score: Number = None
    snapshot: SnapshotPayload | None = None
    snapshot_time: Number = None  # before 0.14: the best frame's time, 0.0 for none
    stationary: Flag = None
    active: Flag = None
    start_time: Number = None
    end_time: Number = None
    area: Number = None
    box: OptBox = None
    current_zones: Names = ()
    entered_zones: Names = ()
    has_snapshot: Flag = None
    sub_label: Labelled = None
    false_positive: Flag = None
    frame_time: Number = None
    has_clip: Flag = None
    motionless_count: Number = None
    position_changes: Number = None


class EventPayload(_Payload):
    """One ``frigate/events`` message. Only ``after`` is read: ``before`` adds nothing."""

    type: EventType
    after: ObjectPayload


# --------------------------------------------------------------------------- the event


@dataclass(frozen=True)
class FrigateEvent:
    """One ``frigate/events`` message, reduced to the ``after`` state that decisions need.

    ``area`` is the current box's pixel area; ``snapshot_*`` describe the best
    frame Frigate has kept so far, which is what the snapshot API returns.
    """

    type: EventType
    id: str
    camera: str
    label: str
    score: float
    top_score: float
    area: int
    box: Box | None
    current_zones: tuple[str, ...]
    entered_zones: tuple[str, ...]
    stationary: bool
    active: bool
    has_snapshot: bool
    snapshot_score: float
    snapshot_frame_time: float | None
    sub_label: tuple[str, float | None] | None
    recognized_license_plate: str | None
    recognized_license_plate_score: float | None
    false_positive: bool
    start_time: float
    end_time: float | None
    frigate_version_hint: str | None
    # Extras (not needed by every caller, useful for decisions and logs).
    frame_time: float | None = None
    has_clip: bool = False
    snapshot_area: int | None = None
    snapshot_box: Box | None = None
    motionless_count: int | None = None
    position_changes: int | None = None

    @property
    def frigate_plate(self) -> FrigatePlate | None:
        """The plate Frigate's own LPR (0.16+) attached to the object, if any."""
        if self.recognized_license_plate is None:
            return None
        return FrigatePlate(
            self.id, self.camera, self.recognized_license_plate, self.recognized_license_plate_score
        )

    @property
    def snapshot_available(self) -> bool:
        """Can ``/api/events/<id>/snapshot.jpg`` serve an image right now?

        ``has_snapshot`` only says Frigate will *save* one to disk (false when
        snapshots are disabled in its config, or for objects that never moved).
        While the event is in progress the API serves the tracked object's best
        frame regardless, and 0.14+ announce that frame in ``snapshot``. After
        ``end`` only a saved snapshot is left.
        """
        if self.type == "end":
            return self.has_snapshot
        return self.has_snapshot or self.snapshot_frame_time is not None


# --------------------------------------------------------------------------- parsing


def _path(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _message(error: Mapping[str, Any]) -> str:
    """Pydantic's first error, in the words of the rest of the bridge's errors."""
    loc, kind, value = tuple(error["loc"]), error["type"], error.get("input")
    path = _path(loc)
    if loc == ("type",):
        got = None if kind == "missing" else value
        return f"type must be 'new', 'update' or 'end', got {got!r}"
    if kind == "missing":
        return "'after' is missing" if loc == ("after",) else f"{path} is missing"
    if kind == "model_type":
        expected = "an object" if loc == ("after",) else "an object or null"
        return f"{path} must be {expected}, got {_kind(value)}"
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, _WrongType):
        return f"{path}{cause}"
    return f"{path}: {error['msg']}"


def _version_hint(after: dict[str, Any]) -> str | None:
    # Only fields whose presence is tied to a release line; anything subtler
    # (e.g. speed estimation fields) moved around during development.
    if "recognized_license_plate" in after:
        return "0.16+"
    if "snapshot" in after:
        return "0.14-0.15"
    if "snapshot_time" in after:
        return "<0.14"
    return None


def _identity(message: object) -> tuple[str | None, str | None]:
    """``(camera, id)`` of a payload that failed, as far as it has them."""
    after = message.get("after") if isinstance(message, dict) else None
    if not isinstance(after, dict):
        return None, None
    camera, event_id = after.get("camera"), after.get("id")
    return (
        camera if isinstance(camera, str) and camera else None,
        event_id if isinstance(event_id, str) and event_id else None,
    )


def parse_event(payload: bytes | str) -> FrigateEvent:
    """Parse one ``frigate/events`` message; raise :class:`FrigateEventError` if malformed."""
    if len(payload) > PAYLOAD_MAX:
        raise FrigateEventError(f"frigate event: payload over {PAYLOAD_MAX} bytes")
    if isinstance(payload, bytes | bytearray):
        try:
            text = bytes(payload).decode("utf-8")
        except UnicodeDecodeError as err:
            raise FrigateEventError(f"frigate event: payload is not UTF-8 text ({err})") from None
    else:
        text = payload
    try:
        message = json.loads(text)
    except json.JSONDecodeError as err:
        raise FrigateEventError(f"frigate event: payload is not JSON ({err})") from None
    if not isinstance(message, dict):
        raise FrigateEventError(
            f"frigate event: payload must be a JSON object, got {_kind(message)}"
        )
    camera, event_id = _identity(message)
    try:
        parsed = EventPayload.model_validate(message)
        plate = plate_in_event(message["after"])
    except ValidationError as err:
        raise FrigateEventError(
            f"frigate event: {_message(err.errors()[0])}", camera=camera, event_id=event_id
        ) from None
    except FrigatePayloadError as err:
        raise FrigateEventError(f"frigate event: {err}", camera=camera, event_id=event_id) from None
    return _event(parsed, plate, _version_hint(message["after"]))


def _event(
    message: EventPayload, plate: tuple[str, float | None] | None, hint: str | None
) -> FrigateEvent:
    after = message.after
    score = after.score or 0.0
    top_score = score if after.top_score is None else after.top_score
    snapshot = after.snapshot
    if snapshot is not None:
        snapshot_frame_time = snapshot.frame_time
    else:
        # Before 0.14 the best frame's time was a top-level field; 0.0 meant none yet.
        snapshot_frame_time = after.snapshot_time or None
    stationary = bool(after.stationary)
    return FrigateEvent(
        type=message.type,
        id=after.id,
        camera=after.camera,
        label=after.label,
        score=score,
        top_score=top_score,
        area=int(after.area or 0),
        box=after.box,
        current_zones=after.current_zones,
        entered_zones=after.entered_zones,
        stationary=stationary,
        active=not stationary if after.active is None else after.active,
        has_snapshot=bool(after.has_snapshot),
        snapshot_score=(
            top_score if snapshot is None or snapshot.score is None else snapshot.score
        ),
        snapshot_frame_time=snapshot_frame_time,
        sub_label=after.sub_label,
        recognized_license_plate=None if plate is None else plate[0],
        recognized_license_plate_score=None if plate is None else plate[1],
        false_positive=bool(after.false_positive),
        start_time=after.start_time or 0.0,
        end_time=after.end_time,
        frigate_version_hint=hint,
        frame_time=after.frame_time,
        has_clip=bool(after.has_clip),
        snapshot_area=None if snapshot is None or snapshot.area is None else int(snapshot.area),
        snapshot_box=None if snapshot is None else snapshot.box,
        motionless_count=_opt_int(after.motionless_count),
        position_changes=_opt_int(after.position_changes),
    )


def _opt_int(value: float | None) -> int | None:
    return None if value is None else int(value)


# --------------------------------------------------------------------------- filter


def _frozen(values: Iterable[str] | str) -> frozenset[str]:
    # A bare string from config would otherwise become a set of characters.
    if isinstance(values, str):
        return frozenset({values})
    return frozenset(values)


@dataclass
class FrigateFilter:
    """Which events are candidates for a plate lookup at all.

    Empty ``cameras`` or ``zones`` mean "any". ``min_score`` is compared with
    ``top_score`` (Frigate's median-smoothed confidence, stable across
    updates; the per-frame ``score`` drops to 0 when the car leaves).
    ``min_area`` is compared with the snapshot's box area when known — that is
    the image that will be read, and a tiny car means an unreadable plate —
    else with the current box area.
    """

    cameras: frozenset[str] = frozenset()
    labels: frozenset[str] = DEFAULT_LABELS
    zones: frozenset[str] = frozenset()
    min_score: float = 0.0
    min_area: int = 0

    def __post_init__(self) -> None:
        self.cameras = _frozen(self.cameras)
        self.labels = _frozen(self.labels)
        self.zones = _frozen(self.zones)
        if not 0.0 <= self.min_score <= 1.0:
            raise ValueError(f"min_score must be between 0 and 1, got {self.min_score!r}")
        if self.min_area < 0:
            raise ValueError(f"min_area must be >= 0, got {self.min_area!r}")

    def reason(self, event: FrigateEvent) -> str | None:
        """Why ``event`` is rejected (for debug logs), or None if accepted."""
        if event.false_positive:
            return "false positive"
        if self.cameras and event.camera not in self.cameras:
            return f"camera {event.camera!r} not in {sorted(self.cameras)}"
        if event.label not in self.labels:
            return f"label {event.label!r} not in {sorted(self.labels)}"
        if self.zones and self.zones.isdisjoint((*event.current_zones, *event.entered_zones)):
            zones = sorted(set(event.current_zones) | set(event.entered_zones))
            return f"zones {zones} do not include any of {sorted(self.zones)}"
        if event.top_score < self.min_score:
            return f"top score {event.top_score:.2f} < {self.min_score:.2f}"
        area = event.snapshot_area if event.snapshot_area is not None else event.area
        if area < self.min_area:
            return f"area {area} < {self.min_area}"
        return None

    def accepts(self, event: FrigateEvent) -> bool:
        return self.reason(event) is None
