"""The JSON payloads the bridge publishes, and the topics they go to.

Every field is documented in docs/bridge.md ("Topics and payloads"); keep the
two in step. Payloads are compact JSON, UTF-8, keys always present (null when
unknown) so that templates in Home Assistant and Node-RED need no guards.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from platereader import Box, PlateResult
from platereader.watchlist import WatchMatch

from .outbox import OutMessage

SCHEMA_VERSION = 1

EVENT_DETECTED = "plate_detected"
EVENT_WATCHED = "watched_plate"
EVENT_UNKNOWN = "unknown_plate"
EVENT_NO_PLATE = "no_plate"
EVENT_TYPES = (EVENT_DETECTED, EVENT_WATCHED, EVENT_UNKNOWN, EVENT_NO_PLATE)


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


@dataclass(frozen=True, slots=True)
class SnapshotRef:
    """Where the picture that was read can be found again."""

    kind: str  # "frigate" | "mqtt" | "file"
    url: str | None = None
    topic: str | None = None
    path: str | None = None
    saved: str | None = None  # annotated copy under storage.path, when enabled

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "url": self.url,
            "topic": self.topic,
            "path": self.path,
            "saved": self.saved,
        }


@dataclass(slots=True)
class ReadContext:
    """What the bridge knows about the picture, independent of the lookup."""

    camera: str
    source: str  # "frigate" | "mqtt" | "folder"
    source_event_id: str | None
    time: datetime
    snapshot: SnapshotRef
    label: str | None = None  # Frigate's object label (car, truck ...)
    extra: dict[str, Any] = field(default_factory=dict)


def utc_iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _box(box: Box | None) -> dict[str, int] | None:
    if box is None or box.is_empty:
        return None
    return {"xmin": box.xmin, "ymin": box.ymin, "xmax": box.xmax, "ymax": box.ymax}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def plate_event(
    context: ReadContext,
    result: PlateResult,
    match: WatchMatch | None,
    *,
    read_time: datetime,
    event_type: str | None = None,
    read_by: str | None = None,
) -> dict[str, Any]:
    """The payload of one plate read (documented in docs/bridge.md).

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
    return {
        "v": SCHEMA_VERSION,
        "id": uuid.uuid4().hex,
        "event_type": event_type,
        "camera": context.camera,
        "source": context.source,
        "source_event_id": context.source_event_id,
        "read_by": read_by,
        "label": context.label,
        "time": utc_iso(context.time),
        "read_time": utc_iso(read_time),
        "plate": result.plate,
        "score": _round(result.score),
        "dscore": _round(result.dscore),
        "candidates": [{"plate": c.plate, "score": _round(c.score)} for c in result.candidates],
        "region": (
            {"code": result.region.code, "score": _round(result.region.score)}
            if result.region
            else None
        ),
        "box": _box(result.box),
        "vehicle": (
            {"type": vehicle.type, "score": _round(vehicle.score), "box": _box(vehicle.box)}
            if vehicle is not None and vehicle.detected
            else None
        ),
        "make": make_model.make if make_model else None,
        "model": make_model.model if make_model else None,
        "make_model_score": _round(make_model.score) if make_model else None,
        "color": colour.value if colour else None,
        "color_score": _round(colour.score) if colour else None,
        "orientation": orientation.value if orientation else None,
        "orientation_score": _round(orientation.score) if orientation else None,
        "watchlist": match.as_dict() if match is not None else None,
        "snapshot": context.snapshot.to_dict(),
        "extra": context.extra,
    }


def error_event(
    kind: str,
    message: str,
    *,
    camera: str | None = None,
    source: str | None = None,
    source_event_id: str | None = None,
    retryable: bool = False,
) -> dict[str, Any]:
    """The payload on `<base>/errors`."""
    return {
        "v": SCHEMA_VERSION,
        "time": utc_iso(datetime.now(UTC)),
        "kind": kind,
        "message": message,
        "camera": camera,
        "source": source,
        "source_event_id": source_event_id,
        "retryable": retryable,
    }


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def plate_messages(topics: Topics, event: dict[str, Any]) -> list[OutMessage]:
    """A read goes to its camera's topic, the all-cameras topic and (retained) the state."""
    camera = str(event["camera"])
    data = encode(event)
    messages = [
        OutMessage(topics.camera_plate(camera), data),
        OutMessage(topics.all_plates, data),
        OutMessage(topics.camera_state(camera), data, retain=True),
    ]
    if event.get("watchlist") is not None:
        messages.append(OutMessage(topics.watchlist, data))
        # The "watched vehicle present" signal: live, so a broker outage cannot
        # deliver it late (after reconnecting) as if the car were at the gate now.
        messages.append(OutMessage(topics.camera_watchlist(camera), data, live=True))
    return messages
