"""Frigate: parse ``frigate/events``, decide when a plate lookup is worth it, fetch snapshots.

Three independent parts, all used by the bridge's pipeline:

* :func:`parse_event` turns a ``frigate/events`` MQTT message (Frigate 0.14,
  0.15, 0.16) into a typed, immutable :class:`FrigateEvent`.
* :class:`FrigateFilter` and :class:`EventTracker` decide whether an event is
  worth a plate lookup. Lookups cost money or quota, and Frigate publishes an
  update at least once a minute for every tracked object — including a car
  parked in the drive for a week — so reading on every message would burn the
  budget on the same parked car. Whether Frigate's own plate read (0.16+ LPR)
  makes a lookup unnecessary is the shared core's decision
  (``platereader.frigate_policy``), applied in ``bridge/sources/frigate.py``.
* :class:`FrigateClient` fetches the event's snapshot over Frigate's HTTP API,
  handling the query parameter names and authentication of each version.

What differs between versions (checked against Frigate's source and docs):

* MQTT payload: 0.14+ include ``snapshot`` (the best frame so far:
  ``frame_time``, ``box``, ``area``, ``region``, ``score``, ``attributes``) and
  ``active``; older versions had ``snapshot_time`` instead. ``sub_label`` is
  ``[name, score]`` (a JSON-encoded tuple) in 0.14+, a bare string in older
  payloads and some third-party publishers, or null. 0.16 adds
  ``recognized_license_plate``: the documented form is a string plus
  ``recognized_license_plate_score``, while 0.16's tracked object publishes the
  ``(plate, score)`` tuple it stores, i.e. a JSON array; both are accepted.
* HTTP API: 0.14 is a Flask app reading the resize height from ``h``; 0.15
  moved to FastAPI and the parameter became ``height`` (both for
  ``/api/events/<id>/snapshot.jpg`` and ``/api/<camera>/latest.jpg``). Each
  ignores the other's name, so a wrong guess silently loses resizing rather
  than failing; :class:`FrigateClient` picks the name from the version.
* Authentication (0.14+): ``POST /api/login`` with ``{"user", "password"}``
  sets a JWT cookie (``frigate_token`` by default), and the API also accepts
  that JWT as ``Authorization: Bearer``. The internal port (5000) needs no
  auth. Frigate has no HTTP Basic auth of its own; Basic is for reverse
  proxies in front of it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import math
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final, Literal, cast
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import httpx

from platereader.frigate_policy import FrigatePayloadError, FrigatePlate, plate_in_event

__all__ = [
    "DEFAULT_LABELS",
    "SUB_LABEL_MAX",
    "Decision",
    "DecisionReason",
    "EventTracker",
    "EventType",
    "FrigateClient",
    "FrigateError",
    "FrigateEvent",
    "FrigateEventError",
    "FrigateFilter",
    "Snapshot",
    "height_param_for",
    "parse_event",
    "parse_version",
]

logger = logging.getLogger(__name__)

EventType = Literal["new", "update", "end"]
_EVENT_TYPES: Final = frozenset({"new", "update", "end"})

Box = tuple[float, float, float, float]

# Frigate's vehicle labels (COCO labelmap, also Frigate+). Motorcycles carry
# plates too; bicycles don't.
DEFAULT_LABELS: Final = frozenset({"car", "motorcycle", "bus", "truck"})


# --------------------------------------------------------------------------- events


class FrigateEventError(ValueError):
    """A ``frigate/events`` payload that cannot be understood."""


@dataclass(frozen=True)
class FrigateEvent:
    """One ``frigate/events`` message, reduced to the ``after`` state the bridge needs.

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


def _fail(path: str, expected: str, value: object) -> FrigateEventError:
    shown = type(value).__name__ if value is not None else "null"
    return FrigateEventError(f"frigate event: {path} must be {expected}, got {shown}")


def _opt_number(obj: Mapping[str, Any], key: str, path: str) -> float | None:
    value = obj.get(key)
    if value is None:
        return None
    # bool is an int subclass; true/false where a number belongs is a broken payload.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(f"{path}.{key}", "a number", value)
    result = float(value)
    if not math.isfinite(result):
        raise _fail(f"{path}.{key}", "a finite number", value)
    return result


def _number(obj: Mapping[str, Any], key: str, path: str, default: float) -> float:
    value = _opt_number(obj, key, path)
    return default if value is None else value


def _opt_int(obj: Mapping[str, Any], key: str, path: str) -> int | None:
    value = _opt_number(obj, key, path)
    return None if value is None else int(value)


def _bool(obj: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
    value = obj.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _fail(f"{path}.{key}", "true or false", value)
    return value


def _required_str(obj: Mapping[str, Any], key: str, path: str) -> str:
    if key not in obj:
        raise FrigateEventError(f"frigate event: {path}.{key} is missing")
    value = obj[key]
    if not isinstance(value, str) or not value:
        raise _fail(f"{path}.{key}", "a non-empty string", value)
    return value


def _str_list(obj: Mapping[str, Any], key: str, path: str) -> tuple[str, ...]:
    value = obj.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(f"{path}.{key}", "a list of strings", value)
    return tuple(value)


def _box(value: object, path: str) -> Box | None:
    if value is None:
        return None
    if (
        not isinstance(value, list)
        or len(value) != 4
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    ):
        raise _fail(path, "[x1, y1, x2, y2]", value)
    x1, y1, x2, y2 = (float(v) for v in value)
    return (x1, y1, x2, y2)


def _labelled_score(value: object, path: str) -> tuple[str, float | None] | None:
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
            raise _fail(f"{path}[0]", "a string", name)
        if score is not None and (isinstance(score, bool) or not isinstance(score, int | float)):
            raise _fail(f"{path}[1]", "a number or null", score)
        return (name, None if score is None else float(score)) if name else None
    raise _fail(path, "null, a string or [name, score]", value)


def _version_hint(after: Mapping[str, Any]) -> str | None:
    # Only fields whose presence is tied to a release line; anything subtler
    # (e.g. speed estimation fields) moved around during development.
    if "recognized_license_plate" in after:
        return "0.16+"
    if "snapshot" in after:
        return "0.14-0.15"
    if "snapshot_time" in after:
        return "<0.14"
    return None


def parse_event(payload: bytes | str) -> FrigateEvent:
    """Parse one ``frigate/events`` message; raise :class:`FrigateEventError` if malformed.

    Only ``after`` is read (``before`` is the previous state and adds
    nothing); unknown fields are ignored so newer Frigate versions keep working.
    """
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
        raise _fail("payload", "a JSON object", message)

    event_type = message.get("type")
    if event_type not in _EVENT_TYPES:
        raise FrigateEventError(
            f"frigate event: type must be 'new', 'update' or 'end', got {event_type!r}"
        )
    if "after" not in message:
        raise FrigateEventError("frigate event: 'after' is missing")
    after = message["after"]
    if not isinstance(after, dict):
        raise _fail("after", "an object", after)

    event_id = _required_str(after, "id", "after")
    camera = _required_str(after, "camera", "after")
    label = _required_str(after, "label", "after")

    score = _number(after, "score", "after", 0.0)
    top_score = _number(after, "top_score", "after", score)

    snapshot = after.get("snapshot")
    snapshot_score: float | None = None
    snapshot_frame_time: float | None = None
    snapshot_area: int | None = None
    snapshot_box: Box | None = None
    if snapshot is not None:
        if not isinstance(snapshot, dict):
            raise _fail("after.snapshot", "an object or null", snapshot)
        snapshot_score = _opt_number(snapshot, "score", "after.snapshot")
        snapshot_frame_time = _opt_number(snapshot, "frame_time", "after.snapshot")
        snapshot_area = _opt_int(snapshot, "area", "after.snapshot")
        snapshot_box = _box(snapshot.get("box"), "after.snapshot.box")
    else:
        # Before 0.14 the best frame's time was a top-level field; 0.0 meant none yet.
        legacy_time = _opt_number(after, "snapshot_time", "after")
        if legacy_time:
            snapshot_frame_time = legacy_time

    stationary = _bool(after, "stationary", "after", False)
    active = _bool(after, "active", "after", not stationary)

    try:
        plate = plate_in_event(after)
    except FrigatePayloadError as err:
        raise FrigateEventError(f"frigate event: {err}") from None

    start_time = _number(after, "start_time", "after", 0.0)
    end_time = _opt_number(after, "end_time", "after")

    return FrigateEvent(
        type=cast(EventType, event_type),
        id=event_id,
        camera=camera,
        label=label,
        score=score,
        top_score=top_score,
        area=int(_number(after, "area", "after", 0.0)),
        box=_box(after.get("box"), "after.box"),
        current_zones=_str_list(after, "current_zones", "after"),
        entered_zones=_str_list(after, "entered_zones", "after"),
        stationary=stationary,
        active=active,
        has_snapshot=_bool(after, "has_snapshot", "after", False),
        snapshot_score=top_score if snapshot_score is None else snapshot_score,
        snapshot_frame_time=snapshot_frame_time,
        sub_label=_labelled_score(after.get("sub_label"), "after.sub_label"),
        recognized_license_plate=None if plate is None else plate[0],
        recognized_license_plate_score=None if plate is None else plate[1],
        false_positive=_bool(after, "false_positive", "after", False),
        start_time=start_time,
        end_time=end_time,
        frigate_version_hint=_version_hint(after),
        frame_time=_opt_number(after, "frame_time", "after"),
        has_clip=_bool(after, "has_clip", "after", False),
        snapshot_area=snapshot_area,
        snapshot_box=snapshot_box,
        motionless_count=_opt_int(after, "motionless_count", "after"),
        position_changes=_opt_int(after, "position_changes", "after"),
    )


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


# --------------------------------------------------------------------------- tracker


class DecisionReason(StrEnum):
    """Why :class:`EventTracker` did or did not ask for a lookup (stable, for metrics)."""

    FIRST_SNAPSHOT = "first_snapshot"
    BETTER_SNAPSHOT = "better_snapshot"
    END_UNREAD = "end_unread"
    NO_SNAPSHOT = "no_snapshot"
    SNAPSHOT_NOT_IMPROVED = "snapshot_not_improved"
    STATIONARY = "stationary"
    POSITION_UNCHANGED = "position_unchanged"
    PLATE_FOUND = "plate_found"
    MAX_ATTEMPTS = "max_attempts"
    READ_IN_FLIGHT = "read_in_flight"
    END_ALREADY_READ = "end_already_read"


@dataclass(frozen=True)
class Decision:
    """Outcome of :meth:`EventTracker.decide`; truthy when a lookup should happen."""

    read: bool
    reason: DecisionReason
    attempt: int = 0  # 1-based number of this lookup for the event when read, else 0

    def __bool__(self) -> bool:
        return self.read


@dataclass
class _EventState:
    last_seen: float
    attempts: int = 0
    done: bool = False
    in_flight_since: float | None = None
    read_snapshot_time: float | None = None
    read_snapshot_score: float | None = None
    read_box: Box | None = None


def _iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else (1.0 if a == b else 0.0)


class EventTracker:
    """Decides, per Frigate event, whether this message deserves a plate lookup.

    A lookup happens on ``new``/``update`` only when the event has a snapshot
    that is better than the one last read (Frigate replaces its snapshot only
    when it finds a better frame, so a newer ``snapshot.frame_time`` means a
    better image; without frame times a higher score is required) — and never:

    * for stationary vehicles (``stationary`` true, or the box has not moved
      since the last lookup): a parked car keeps producing updates for hours;
    * after a plate scored ``>= stop_score`` (see :meth:`record`);
    * beyond ``max_attempts`` lookups per event;
    * while a lookup for the event is still in flight (async pipelines would
      otherwise read the same car twice in parallel; ``in_flight_timeout``
      covers a caller that never calls :meth:`record`).

    On ``end`` a lookup happens only if the event was never read and a saved
    snapshot exists (a car that passed faster than an update). Call
    :meth:`end` once the end message is handled to forget the event; entries
    also expire ``ttl`` seconds after their last message, and at most
    ``max_events`` are kept (least recently seen dropped first).
    """

    def __init__(
        self,
        max_attempts: int = 3,
        stop_score: float = 0.8,
        ttl: float = 3600,
        clock: Callable[[], float] = time.monotonic,
        *,
        max_events: int = 1024,
        in_flight_timeout: float = 30.0,
        still_iou: float = 0.9,
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {max_attempts!r}")
        if ttl <= 0 or max_events < 1:
            raise ValueError("ttl and max_events must be positive")
        self.max_attempts = max_attempts
        self.stop_score = stop_score
        self.ttl = ttl
        self.max_events = max_events
        self.in_flight_timeout = in_flight_timeout
        # Boxes overlapping at least this much count as "not moved": detector
        # boxes of a parked car jitter by a few pixels between frames.
        self.still_iou = still_iou
        self._clock = clock
        self._events: OrderedDict[str, _EventState] = OrderedDict()

    def __len__(self) -> int:
        return len(self._events)

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._events

    def attempts(self, event_id: str) -> int:
        state = self._events.get(event_id)
        return 0 if state is None else state.attempts

    def _expire(self, now: float) -> None:
        # OrderedDict is kept in last-seen order, so expired entries are at the front.
        while self._events:
            event_id, state = next(iter(self._events.items()))
            if now - state.last_seen < self.ttl:
                break
            del self._events[event_id]

    def _touch(self, event_id: str, now: float) -> _EventState:
        state = self._events.get(event_id)
        if state is None:
            state = _EventState(last_seen=now)
            self._events[event_id] = state
            while len(self._events) > self.max_events:
                self._events.popitem(last=False)
        else:
            state.last_seen = now
            self._events.move_to_end(event_id)
        return state

    def decide(self, event: FrigateEvent) -> Decision:
        """Decide for one message; a positive decision counts as an attempt."""
        now = self._clock()
        self._expire(now)
        state = self._touch(event.id, now)

        if (
            state.in_flight_since is not None
            and now - state.in_flight_since >= self.in_flight_timeout
        ):
            state.in_flight_since = None  # the caller never reported back; don't block forever
        if state.done:
            return Decision(False, DecisionReason.PLATE_FOUND)
        if state.attempts >= self.max_attempts:
            return Decision(False, DecisionReason.MAX_ATTEMPTS)
        if state.in_flight_since is not None:
            return Decision(False, DecisionReason.READ_IN_FLIGHT)
        if event.type == "end" and state.attempts > 0:
            return Decision(False, DecisionReason.END_ALREADY_READ)
        if not event.snapshot_available:
            return Decision(False, DecisionReason.NO_SNAPSHOT)
        if event.stationary:
            return Decision(False, DecisionReason.STATIONARY)

        # Where the vehicle is now (not where it was in the snapshot, which
        # stays put until Frigate finds a better frame).
        box = event.box if event.box is not None else event.snapshot_box
        if state.attempts > 0:
            if not self._improved(state, event):
                return Decision(False, DecisionReason.SNAPSHOT_NOT_IMPROVED)
            if (
                box is not None
                and state.read_box is not None
                and _iou(box, state.read_box) >= self.still_iou
            ):
                # A "better" frame of a car that has not moved since the last
                # lookup (parked, not yet flagged stationary): same plate view.
                return Decision(False, DecisionReason.POSITION_UNCHANGED)

        if event.type == "end":
            reason = DecisionReason.END_UNREAD
        elif state.attempts == 0:
            reason = DecisionReason.FIRST_SNAPSHOT
        else:
            reason = DecisionReason.BETTER_SNAPSHOT
        state.attempts += 1
        state.in_flight_since = now
        state.read_snapshot_time = event.snapshot_frame_time
        state.read_snapshot_score = event.snapshot_score
        state.read_box = box
        return Decision(True, reason, state.attempts)

    @staticmethod
    def _improved(state: _EventState, event: FrigateEvent) -> bool:
        if event.snapshot_frame_time is not None and state.read_snapshot_time is not None:
            return event.snapshot_frame_time > state.read_snapshot_time
        # No frame times to compare (pre-0.14 payloads without snapshot_time):
        # only a clearly higher confidence counts as a better image.
        last = state.read_snapshot_score if state.read_snapshot_score is not None else 0.0
        return event.snapshot_score > last + 0.01

    def should_read(self, event: FrigateEvent) -> bool:
        """``decide(event).read``."""
        return self.decide(event).read

    def record(self, event_id: str, best_plate_score: float | None) -> None:
        """Report a finished lookup: the best plate's score, or None (nothing read / failed).

        Always call it after a positive decision, success or not: it ends the
        in-flight state that holds back parallel lookups of the same event.
        """
        state = self._events.get(event_id)
        if state is None:
            return  # already ended or expired: nothing left to stop
        state.in_flight_since = None
        if best_plate_score is not None and best_plate_score >= self.stop_score:
            state.done = True

    def settle(self, event_id: str) -> None:
        """The event's plate is known without a lookup (Frigate read it): no more lookups."""
        state = self._touch(event_id, self._clock())
        state.done = True
        state.in_flight_since = None

    def settled(self, event_id: str) -> bool:
        """Has a lookup (or :meth:`settle`) found the event's plate?"""
        state = self._events.get(event_id)
        return state is not None and state.done

    def end(self, event_id: str) -> None:
        """Forget an event (after its ``end`` message was handled)."""
        self._events.pop(event_id, None)


# --------------------------------------------------------------------------- HTTP client


class FrigateError(Exception):
    """Talking to Frigate's HTTP API failed. Messages never contain credentials."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Snapshot:
    """Image bytes and where they came from."""

    data: bytes
    content_type: str
    source: Literal["event", "latest"]
    url_path: str = field(default="")


_VERSION_RE = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")


def parse_version(text: str) -> tuple[int, int, int] | None:
    """``"0.14.1-f4f3cfa"`` -> ``(0, 14, 1)``; None if there is no version number."""
    match = _VERSION_RE.search(text)
    if match is None:
        return None
    major, minor, patch = match.groups()
    return (int(major), int(minor), int(patch or 0))


def height_param_for(version: str | None) -> str:
    """Query parameter carrying the resize height for a Frigate version.

    Flask-based Frigate (0.14 and older) reads ``h``; the FastAPI rewrite
    (0.15+) reads ``height``. Unknown versions get ``height``: current
    releases are the likelier target, and an older Frigate ignores the
    unknown name (full-size image) rather than failing.
    """
    parsed = parse_version(version) if version else None
    if parsed is not None and parsed < (0, 15, 0):
        return "h"
    return "height"


_JPEG_MAGIC: Final = b"\xff\xd8\xff"
_PNG_MAGIC: Final = b"\x89PNG\r\n\x1a\n"


def _image_type(data: bytes) -> str | None:
    # Sniff rather than trust Content-Type: proxies and error pages lie, and
    # Frigate 0.14's latest.jpg answers WebP bytes.
    if data.startswith(_JPEG_MAGIC):
        return "image/jpeg"
    if data.startswith(_PNG_MAGIC):
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


AuthMode = Literal["auto", "login", "basic"]


class FrigateClient:
    """Async client for the parts of Frigate's HTTP API the bridge uses.

    ``session`` is owned by the caller (shared connection pool); this class
    never closes it. Authentication, chosen by what is given:

    * ``token``: sent as ``Authorization: Bearer`` (a Frigate JWT, or a
      token a reverse proxy expects).
    * ``username`` + ``password`` with ``auth="auto"`` (default): nothing is
      sent until Frigate answers 401 (the internal port 5000 needs no auth);
      then ``POST /api/login`` (0.14+) and the returned JWT is sent as a
      Bearer token, logging in again when it expires. If there is no login
      endpoint (404/405: a reverse proxy or pre-0.14 Frigate), HTTP Basic is
      used instead. ``auth="login"`` or ``auth="basic"`` force one method.

    ``version`` selects the resize parameter name (:func:`height_param_for`);
    when None and a ``height`` is set it is detected once via ``/api/version``.
    """

    def __init__(
        self,
        base_url: str,
        *,
        session: httpx.AsyncClient,
        version: str | None = None,
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        quality: int = 95,
        height: int | None = None,
        crop: bool = True,
        timeout: float = 10,
        auth: AuthMode = "auto",
        cookie_name: str = "frigate_token",
    ) -> None:
        parts = urlsplit(base_url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("base_url must be an http(s) URL like http://frigate:5000")
        # Credentials embedded in the URL (http://user:pass@host) are moved to
        # username/password so they never appear in logged URLs or errors.
        if parts.username is not None and username is None:
            username = unquote(parts.username)
            if password is None and parts.password is not None:
                password = unquote(parts.password)
        netloc = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
        if ":" in parts.hostname:  # IPv6 literal
            netloc = f"[{parts.hostname}]" + ("" if parts.port is None else f":{parts.port}")
        path = parts.path.rstrip("/")
        if path.endswith("/api"):
            path = path[: -len("/api")]  # accept ".../api" as well as the root
        self.base_url = urlunsplit((parts.scheme, netloc, path, "", ""))
        if (username is None) != (password is None):
            raise ValueError("username and password must be given together")
        if not 1 <= quality <= 100:
            raise ValueError(f"quality must be 1..100, got {quality!r}")
        if height is not None and height < 1:
            raise ValueError(f"height must be positive, got {height!r}")
        self._session = session
        self._version = version
        self._version_checked = version is not None
        self._username = username
        self._password = password
        self._token = token
        self._jwt: str | None = None
        self._use_basic = auth == "basic"
        self._auth_mode: AuthMode = auth
        self._cookie_name = cookie_name
        self.quality = quality
        self.height = height
        self.crop = crop
        self.timeout = timeout

    # -- auth -------------------------------------------------------------------------

    def _auth_headers(self) -> dict[str, str]:
        if self._token is not None:
            return {"Authorization": f"Bearer {self._token}"}
        if self._jwt is not None:
            return {"Authorization": f"Bearer {self._jwt}"}
        if self._use_basic and self._username is not None and self._password is not None:
            raw = f"{self._username}:{self._password}".encode()
            return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}
        return {}

    async def _authenticate(self) -> bool:
        """After a 401: obtain credentials to retry with. False if there is nothing to try."""
        if self._token is not None or self._username is None or self._password is None:
            return False
        if self._auth_mode == "basic":
            return False  # Basic was already sent and refused
        url = f"{self.base_url}/api/login"
        try:
            response = await self._session.post(
                url,
                json={"user": self._username, "password": self._password},
                timeout=self.timeout,
            )
        except httpx.HTTPError as err:
            raise FrigateError(
                f"Frigate login at {self._where('/api/login')} failed: {type(err).__name__}"
            ) from None
        if response.status_code in (404, 405) and self._auth_mode == "auto" and not self._use_basic:
            # No Frigate login here (reverse proxy or pre-0.14): try Basic.
            self._use_basic = True
            return True
        if response.status_code in (404, 405):
            raise FrigateError(
                f"Frigate has no login endpoint at {self._where('/api/login')} "
                f"(HTTP {response.status_code}); is it older than 0.14? Try auth='basic'",
                status=response.status_code,
            )
        if response.status_code >= 400:
            # 0.14 answers 400 for bad credentials, later versions 401.
            raise FrigateError(
                f"Frigate login as {self._username!r} was refused (HTTP {response.status_code})",
                status=response.status_code,
            )
        token = response.cookies.get(self._cookie_name)
        if token is None:
            # Cookie renamed in Frigate's config (auth.cookie_name): take the one cookie set.
            token = next(iter(response.cookies.values()), None)
        if not token:
            raise FrigateError("Frigate login succeeded but returned no session cookie")
        self._forget_cookie(token)
        self._jwt = token
        return True

    def _forget_cookie(self, token: str) -> None:
        # httpx stored the session cookie in the shared client's jar, where it
        # would ride along on every request to this host, including those of
        # other FrigateClients with other (or no) credentials. The JWT is sent
        # as a Bearer header instead, so drop the cookie.
        jar = self._session.cookies.jar
        for cookie in list(jar):
            if cookie.value == token:
                jar.clear(cookie.domain, cookie.path, cookie.name)

    def _where(self, path: str) -> str:
        return f"{self.base_url}{path}"

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json_body: object = None,
    ) -> httpx.Response:
        """One API call with auth; on 401 re-authenticates once and retries."""
        url = self._where(path)
        retried = False
        while True:
            try:
                response = await self._session.request(
                    method,
                    url,
                    params=params,
                    json=json_body,
                    headers=self._auth_headers(),
                    timeout=self.timeout,
                )
            except httpx.TimeoutException:
                raise FrigateError(
                    f"Frigate did not answer within {self.timeout:g}s: {method} {url}"
                ) from None
            except httpx.HTTPError as err:
                # The exception text can echo headers on some transports; the type is enough.
                raise FrigateError(
                    f"Frigate request failed: {method} {url}: {type(err).__name__}"
                ) from None
            if response.status_code == 401 and not retried:
                self._jwt = None  # expired or revoked: log in again
                if await self._authenticate():
                    retried = True
                    continue
            if response.status_code in (401, 403):
                if response.status_code == 401 and retried:
                    what = "refused the credentials"
                elif self._username is None and self._token is None:
                    what = "requires authentication (no credentials configured)"
                else:
                    what = "refused access"
                raise FrigateError(
                    f"Frigate {what} (HTTP {response.status_code}): {method} {url}",
                    status=response.status_code,
                )
            return response

    # -- API --------------------------------------------------------------------------

    async def version(self) -> str:
        """Frigate's version string from ``/api/version`` (e.g. ``"0.15.1-4d4d54f"``)."""
        response = await self._request("GET", "/api/version")
        if response.status_code != 200:
            raise FrigateError(
                f"Frigate version check failed (HTTP {response.status_code})",
                status=response.status_code,
            )
        text = response.text.strip().strip('"')
        if parse_version(text) is None:
            raise FrigateError(f"Frigate /api/version returned no version number: {text[:40]!r}")
        return text

    async def lpr_cameras(self) -> frozenset[str]:
        """Cameras on which Frigate's own licence plate recognition runs (0.16+).

        From ``/api/config``, where each camera's ``lpr.enabled`` is already
        merged with the global switch. Empty for older versions (no ``lpr``).
        """
        response = await self._request("GET", "/api/config")
        if response.status_code != 200:
            raise FrigateError(
                f"Frigate config request failed (HTTP {response.status_code})",
                status=response.status_code,
            )
        try:
            config = response.json()
        except ValueError:
            raise FrigateError("Frigate /api/config did not return JSON") from None
        cameras = config.get("cameras") if isinstance(config, dict) else None
        if not isinstance(cameras, dict):
            return frozenset()
        return frozenset(
            name
            for name, camera in cameras.items()
            if isinstance(camera, dict)
            and isinstance(camera.get("lpr"), dict)
            and camera["lpr"].get("enabled") is True
        )

    async def _height_param(self) -> str:
        if not self._version_checked:
            self._version_checked = True  # detect once, even if it fails
            try:
                self._version = await self.version()
            except FrigateError as err:
                logger.warning("Frigate version unknown (%s); assuming 0.15+ parameter names", err)
        return height_param_for(self._version)

    async def snapshot(self, event_id: str, camera: str) -> bytes:
        """The event's best snapshot, or the camera's latest frame if there is none."""
        return (await self.fetch_snapshot(event_id, camera)).data

    async def fetch_snapshot(self, event_id: str, camera: str) -> Snapshot:
        """Like :meth:`snapshot`, also saying whether the fallback was used."""
        if not event_id or not camera:
            raise ValueError("event_id and camera are required")
        height_name = await self._height_param() if self.height is not None else None

        params: dict[str, str | int] = {"crop": 1 if self.crop else 0, "quality": self.quality}
        if height_name is not None and self.height is not None:
            params[height_name] = self.height
        path = f"/api/events/{quote(event_id, safe='')}/snapshot.jpg"
        response = await self._request("GET", path, params=params)
        if response.status_code == 200:
            kind = _image_type(response.content)
            if kind is not None:
                return Snapshot(response.content, kind, "event", path)
            logger.debug("Frigate event %s snapshot is not an image; using latest frame", event_id)
        elif response.status_code != 404:
            raise FrigateError(
                f"Frigate snapshot for event {event_id} failed (HTTP {response.status_code})",
                status=response.status_code,
            )

        # The event has no snapshot (yet, or any more): the camera's current frame
        # still likely shows the car. latest.jpg has no crop parameter.
        latest_params: dict[str, str | int] = {"quality": self.quality}
        if height_name is not None and self.height is not None:
            latest_params[height_name] = self.height
        latest_path = f"/api/{quote(camera, safe='')}/latest.jpg"
        response = await self._request("GET", latest_path, params=latest_params)
        if response.status_code != 200:
            raise FrigateError(
                f"Frigate has no snapshot for event {event_id} and latest frame of camera "
                f"{camera!r} failed (HTTP {response.status_code})",
                status=response.status_code,
            )
        kind = _image_type(response.content)
        if kind is None:
            raise FrigateError(f"Frigate latest frame of camera {camera!r} is not an image")
        return Snapshot(response.content, kind, "latest", latest_path)

    # -- write-back ----------------------------------------------------------------------

    async def detected_version(self) -> str | None:
        """The configured version, else ``/api/version`` asked once (None if unknown)."""
        if not self._version_checked:
            self._version_checked = True
            try:
                self._version = await self.version()
            except FrigateError as err:
                logger.warning("Frigate version unknown: %s", err)
        return self._version

    async def supports_recognized_license_plate(self) -> bool:
        """Frigate 0.16+ has ``POST /api/events/<id>/recognized_license_plate``."""
        version = await self.detected_version()
        parsed = parse_version(version) if version else None
        return parsed is not None and parsed >= (0, 16, 0)

    async def set_sub_label(self, event_id: str, label: str, score: float | None = None) -> None:
        """``POST /api/events/<id>/sub_label`` with ``{"subLabel", "subLabelScore"}``.

        Frigate refuses labels over 100 characters and scores outside (0, 1]:
        the label is cut, the score left out when it is not in range.
        """
        body: dict[str, object] = {"subLabel": label[:SUB_LABEL_MAX]}
        if score is not None and 0 < score <= 1:
            body["subLabelScore"] = round(score, 4)
        await self._post_event(event_id, "sub_label", body)

    async def set_recognized_license_plate(
        self, event_id: str, plate: str, score: float | None = None
    ) -> None:
        """``POST /api/events/<id>/recognized_license_plate`` (Frigate 0.16+) with
        ``{"recognizedLicensePlate", "recognizedLicensePlateScore"}``."""
        body: dict[str, object] = {"recognizedLicensePlate": plate[:SUB_LABEL_MAX]}
        if score is not None and 0 < score <= 1:
            body["recognizedLicensePlateScore"] = round(score, 4)
        await self._post_event(event_id, "recognized_license_plate", body)

    async def _post_event(self, event_id: str, what: str, body: dict[str, object]) -> None:
        if not event_id:
            raise ValueError("event_id is required")
        path = f"/api/events/{quote(event_id, safe='')}/{what}"
        response = await self._request("POST", path, json_body=body)
        if response.status_code != 200:
            detail = ""
            with contextlib.suppress(ValueError, AttributeError):
                detail = str(response.json().get("message", ""))[:200]
            raise FrigateError(
                f"Frigate refused the {what} of event {event_id} "
                f"(HTTP {response.status_code}){': ' + detail if detail else ''}",
                status=response.status_code,
            )


SUB_LABEL_MAX: Final = 100  # Frigate's limit for sub labels and plates
