"""The bridge's typed events, the JSON payloads made from them, and their topics.

A read becomes `PlateEvent`s (and a failure an `ErrorEvent`) in the pipeline;
every sink (MQTT, Home Assistant, snapshots, history, Frigate write-back) gets
the models, and the JSON on MQTT is `model_dump(mode="json")`. Every field is
documented in docs/bridge.md ("Topics and payloads"); keep the two in step.
Payloads are compact JSON, UTF-8, keys always present (null when unknown) so
that templates in Home Assistant and Node-RED need no guards. Field order is
the payload's key order: do not reorder.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypedDict, Unpack

from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer

from platereader import Box, PlateResult
from platereader.frigate_policy import ReadBy
from platereader.watchlist import WatchMatch

SCHEMA_VERSION = 1

EventType = Literal["plate_detected", "watched_plate", "unknown_plate", "no_plate"]
EVENT_DETECTED: EventType = "plate_detected"
EVENT_WATCHED: EventType = "watched_plate"
EVENT_UNKNOWN: EventType = "unknown_plate"
EVENT_NO_PLATE: EventType = "no_plate"
EVENT_TYPES: tuple[EventType, ...] = (EVENT_DETECTED, EVENT_WATCHED, EVENT_UNKNOWN, EVENT_NO_PLATE)

SourceKind = Literal["frigate", "mqtt", "folder"]
SnapshotKind = Literal["frigate", "mqtt", "file"]
MatchKind = Literal["exact", "lookalike", "tolerance"]
# docs/bridge.md "Error event": failures of a read or an input, then the read
# gate's state changes (`budget`, `forbidden`, `resumed`).
ErrorKind = Literal[
    "payload",
    "image",
    "snapshot",
    "api_unavailable",
    "rate_limited",
    "forbidden",
    "no_credits",
    "api_error",
    "config",
    "internal",
    "budget",
    "resumed",
]


@dataclass(frozen=True, slots=True)
class Topics:
    """Every topic under `mqtt.base_topic`."""

    base: str

    @property
    def status(self) -> str:
        return f"{self.base}/status"

    @property
    def errors(self) -> str:
        return f"{self.base}/errors"

    @property
    def all_plates(self) -> str:
        return f"{self.base}/plates"

    @property
    def watchlist(self) -> str:
        return f"{self.base}/watchlist"

    @property
    def metrics(self) -> str:
        return f"{self.base}/metrics"

    def camera_plate(self, camera: str) -> str:
        return f"{self.base}/{camera}/plate"

    def camera_state(self, camera: str) -> str:
        return f"{self.base}/{camera}/state"

    def camera_watchlist(self, camera: str) -> str:
        return f"{self.base}/{camera}/watchlist"

    def camera_image(self, camera: str) -> str:
        return f"{self.base}/{camera}/image"

    @property
    def discovery_sync(self) -> str:
        return f"{self.base}/discovery_sync"

    def snapshot_input(self, camera: str) -> str:
        return f"{self.base}/{camera}/snapshot"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SnapshotRef(_Model):
    """Where the picture that was read can be found again."""

    kind: SnapshotKind
    url: str | None = None
    topic: str | None = None
    path: str | None = None
    saved: str | None = None  # annotated copy under storage.path, when enabled


class Candidate(_Model):
    plate: str
    score: float | None


class Region(_Model):
    code: str
    score: float | None


class Vehicle(_Model):
    type: str | None
    score: float | None
    box: Box | None


class Watch(_Model):
    """The watch-list match (`WatchMatch.as_dict`, shared with the integration)."""

    name: str
    plate: str
    owner: str | None
    tags: list[str]
    tolerance: int
    kind: MatchKind
    exact: bool
    differences: int
    lookalikes: int
    distance: float
    matched_text: str
    matched_score: float | None
    source: Literal["plate", "candidate"]
    candidate: int


class FrigateContext(_Model):
    """What Frigate said about the object when the picture was taken (`extra.frigate`)."""

    label: str
    top_score: float
    sub_label: tuple[str, float | None] | None  # [name, score]
    recognized_license_plate: str | None
    recognized_license_plate_score: float | None
    current_zones: list[str]
    entered_zones: list[str]
    attempt: int  # the event's lookup (1, 2 ...); 0 for Frigate's own read


class SourceExtra(_Model):
    """Source details (`extra`): one key per source that has some; `{}` for the others."""

    frigate: FrigateContext | None = None

    @model_serializer(mode="wrap")
    def _present(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return {key: value for key, value in data.items() if value is not None}


class PlateEvent(_Model):
    """One plate read (or, with `publish_no_plate`, a lookup that found none)."""

    v: int = SCHEMA_VERSION
    id: str
    event_type: EventType
    camera: str
    source: SourceKind
    source_event_id: str | None
    read_by: ReadBy | None
    label: str | None
    time: str
    read_time: str
    plate: str | None
    score: float | None
    dscore: float | None
    candidates: list[Candidate]
    region: Region | None
    box: Box | None
    vehicle: Vehicle | None
    make: str | None
    model: str | None
    make_model_score: float | None
    color: str | None
    color_score: float | None
    orientation: str | None
    orientation_score: float | None
    watchlist: Watch | None
    snapshot: SnapshotRef
    extra: SourceExtra


class ErrorEvent(_Model):
    """The payload on `<base>/errors`."""

    v: int = SCHEMA_VERSION
    time: str
    kind: ErrorKind
    message: str
    camera: str | None = None
    source: SourceKind | None = None
    source_event_id: str | None = None
    retryable: bool = False


@dataclass(slots=True)
class ReadContext:
    """What the bridge knows about the picture, independent of the lookup."""

    camera: str
    source: SourceKind
    source_event_id: str | None
    time: datetime
    snapshot: SnapshotRef
    label: str | None = None  # Frigate's object label (car, truck ...)
    extra: SourceExtra = field(default_factory=SourceExtra)


def utc_iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _box(box: Box | None) -> Box | None:
    return None if box is None or box.is_empty else box


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def plate_event(
    context: ReadContext,
    result: PlateResult,
    match: WatchMatch | None,
    *,
    read_time: datetime,
    event_type: EventType | None = None,
    read_by: ReadBy | None = None,
) -> PlateEvent:
    """The event of one plate read (documented in docs/bridge.md).

    `event_type`: `watched_plate`, `unknown_plate` (not on a non-empty watch
    list), `plate_detected` (no watch list) or `no_plate`; by default derived
    from `match` alone. `read_by`: who read the plate, `frigate` (Frigate's own
    LPR), `api` (the cloud API) or `engine` (a local server).
    """
    if event_type is None:
        if result.plate is None:
            event_type = EVENT_NO_PLATE
        else:
            event_type = EVENT_WATCHED if match is not None else EVENT_UNKNOWN
    vehicle = result.vehicle
    make_model = result.make_model[0] if result.make_model else None
    colour = result.color[0] if result.color else None
    orientation = result.orientation[0] if result.orientation else None
    return PlateEvent(
        id=uuid.uuid4().hex,
        event_type=event_type,
        camera=context.camera,
        source=context.source,
        source_event_id=context.source_event_id,
        read_by=read_by,
        label=context.label,
        time=utc_iso(context.time),
        read_time=utc_iso(read_time),
        plate=result.plate,
        score=_round(result.score),
        dscore=_round(result.dscore),
        candidates=[Candidate(plate=c.plate, score=_round(c.score)) for c in result.candidates],
        region=(
            Region(code=result.region.code, score=_round(result.region.score))
            if result.region
            else None
        ),
        box=_box(result.box),
        vehicle=(
            Vehicle(type=vehicle.type, score=_round(vehicle.score), box=_box(vehicle.box))
            if vehicle is not None and vehicle.detected
            else None
        ),
        make=make_model.make if make_model else None,
        model=make_model.model if make_model else None,
        make_model_score=_round(make_model.score) if make_model else None,
        color=colour.value if colour else None,
        color_score=_round(colour.score) if colour else None,
        orientation=orientation.value if orientation else None,
        orientation_score=_round(orientation.score) if orientation else None,
        watchlist=Watch.model_validate(match.as_dict()) if match is not None else None,
        snapshot=context.snapshot,
        extra=context.extra,
    )


class ErrorWhere(TypedDict, total=False):
    """Where an error happened and whether to retry: the optional fields of ErrorEvent."""

    camera: str | None
    source: SourceKind | None
    source_event_id: str | None
    retryable: bool


def error_event(kind: ErrorKind, message: str, **where: Unpack[ErrorWhere]) -> ErrorEvent:
    """The event on `<base>/errors`, now."""
    return ErrorEvent(time=utc_iso(datetime.now(UTC)), kind=kind, message=message, **where)


def encode(payload: BaseModel | dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON; a model as `model_dump(mode="json")`."""
    if isinstance(payload, BaseModel):
        payload = payload.model_dump(mode="json")
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
