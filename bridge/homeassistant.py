"""Home Assistant MQTT discovery messages: devices, entities and triggers with no YAML.

One device per camera and one for the bridge, on
`<prefix>/<component>/<node_id>/<object_id>/config`. Every entity is
unavailable when `<base>/status` is `offline`. When they are announced and how
stale ones are removed is the sink's job (`bridge.sinks.homeassistant`). Every
entity and topic is documented in docs/bridge.md ("Home Assistant").

The states come from the bridge's ordinary topics through value templates:
nothing extra is published per read except the image and, for watched plates,
`<base>/<camera>/watchlist`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from . import __version__
from .config import BridgeConfig
from .events import (
    EVENT_DETECTED,
    EVENT_NO_PLATE,
    EVENT_UNKNOWN,
    EVENT_WATCHED,
    EventType,
    Topics,
    encode,
)

ORIGIN = {"name": "plate-bridge", "sw_version": __version__}
BRIDGE_PREFIX = "_bridge_"  # object ids of the bridge device's entities

# Per-camera entity keys; object ids are `<camera>_<key>`.
CAMERA_KEYS = (
    "last_plate",
    "vehicle_type",
    "make_model",
    "colour",
    "orientation",
    "region",
    "plate_event",
    "watched_present",
    "snapshot",
    "trigger_plate_detected",
    "trigger_watched_plate",
    "trigger_unknown_plate",
)
MMC_KEYS = frozenset({"make_model", "colour", "orientation"})
# Entities whose state is a past read, not a live view of the bridge: they do
# not follow `<base>/status`. Home Assistant would otherwise show them
# unavailable while the bridge reconnects and then put the old state back
# (unavailable -> on), which a `to: "on"` or event-state trigger takes for a
# second car. The binary sensor still turns off by itself (`off_delay`).
OWN_AVAILABILITY = frozenset({"plate_event", "watched_present"})

_PLATE_TEXT = {
    "upper": "{{ value_json.plate | upper }}",
    "read": "{{ value_json.plate }}",
    "watchlist": (
        "{{ value_json.watchlist.plate if value_json.watchlist else value_json.plate | upper }}"
    ),
    "name": "{{ value_json.watchlist.name if value_json.watchlist else value_json.plate | upper }}",
}
_PLATE_ATTRIBUTES = (
    "{{ {'score': value_json.score, 'candidates': value_json.candidates, "
    "'region': value_json.region.code if value_json.region else none, "
    "'region_score': value_json.region.score if value_json.region else none, "
    "'box': value_json.box, 'watched': value_json.watchlist is not none, "
    "'watchlist': value_json.watchlist, 'plate': value_json.plate, "
    "'event_type': value_json.event_type, 'time': value_json.time, "
    "'source': value_json.source, 'source_event_id': value_json.source_event_id, "
    "'read_by': value_json.get('read_by'), "
    "'vehicle': value_json.vehicle} | to_json }}"
)
_EVENT_PAYLOAD = (
    "{{ {'event_type': value_json.event_type, 'plate': value_json.plate, "
    "'score': value_json.score, "
    "'watchlist': value_json.watchlist.name if value_json.watchlist else none, "
    "'owner': value_json.watchlist.owner if value_json.watchlist else none, "
    "'match': value_json.watchlist.get('kind') if value_json.watchlist else none, "
    "'vehicle_type': value_json.vehicle.type if value_json.vehicle else none, "
    "'camera': value_json.camera, 'time': value_json.time, 'id': value_json.id, "
    "'source_event_id': value_json.source_event_id, "
    "'read_by': value_json.get('read_by')} | to_json }}"
)
_WATCHED_ATTRIBUTES = (
    "{{ {'plate': value_json.plate, 'name': value_json.watchlist.name, "
    "'owner': value_json.watchlist.owner, 'tags': value_json.watchlist.tags, "
    "'match': value_json.watchlist.get('kind'), "
    "'matched_text': value_json.watchlist.get('matched_text'), "
    "'differences': value_json.watchlist.get('differences'), "
    "'lookalikes': value_json.watchlist.get('lookalikes'), "
    "'candidate': value_json.watchlist.get('candidate'), "
    "'time': value_json.time} | to_json if value_json.watchlist else '{}' }}"
)


def object_key(name: str) -> str:
    """A camera (or node) name as it may appear in object ids and unique ids."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)


def _title(camera: str) -> str:
    return re.sub(r"[_-]+", " ", camera).strip().title() or camera


class Entities:
    """The discovery messages: `<prefix>/<component>/<node_id>/<object_id>/config` -> payload.

    Pure (no MQTT): the sink `bridge.sinks.homeassistant.DiscoverySink` publishes them.
    """

    def __init__(self, config: BridgeConfig, topics: Topics) -> None:
        self.config = config
        self.settings = config.homeassistant
        self.topics = topics
        self.node = config.node_id
        self.prefix = self.settings.prefix

    def camera_of(self, topic: str) -> str | None:
        """The camera a discovery topic of ours belongs to (None: the bridge's own)."""
        parts = topic.split("/")
        if len(parts) < 4:
            return None
        object_id = parts[-2]
        if object_id.startswith(BRIDGE_PREFIX):
            return None
        for key in sorted(CAMERA_KEYS, key=len, reverse=True):
            if object_id.endswith("_" + key) and len(object_id) > len(key) + 1:
                return object_id[: -len(key) - 1]
        return None

    def configs(self, cameras: Iterable[str]) -> dict[str, bytes]:
        """Every message for the bridge's device and for each of `cameras`."""
        configs = self.bridge_configs()
        for camera in sorted(cameras):
            configs.update(self.camera_configs(camera))
        return configs

    def _topic(self, component: str, object_id: str) -> str:
        return f"{self.prefix}/{component}/{self.node}/{object_id}/config"

    @property
    def bridge_device(self) -> dict[str, Any]:
        return {
            "identifiers": [f"{self.node}_bridge"],
            "name": "Plate bridge" if self.node == "plate_bridge" else f"Plate bridge {self.node}",
            "manufacturer": "plate-bridge",
            "model": "MQTT bridge",
            "sw_version": __version__,
        }

    def camera_device(self, camera: str) -> dict[str, Any]:
        return {
            "identifiers": [f"{self.node}_{object_key(camera)}"],
            "name": _title(camera),
            "manufacturer": "plate-bridge",
            "model": "Plate reader camera",
            "sw_version": __version__,
            "via_device": f"{self.node}_bridge",
        }

    def _common(self, unique: str, name: str, device: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": name,
            "unique_id": f"{self.node}_{unique}",
            "object_id": f"{self.node}_{unique}",
            "device": device,
            "origin": ORIGIN,
            "availability_topic": self.topics.status,
            "qos": 1,
        }

    def bridge_configs(self) -> dict[str, bytes]:
        metrics = self.topics.metrics
        device = self.bridge_device
        entities: list[tuple[str, str, dict[str, Any]]] = [
            (
                "sensor",
                "api_calls_used",
                {
                    "name": "API calls used",
                    "state_topic": metrics,
                    "value_template": "{{ value_json.budget.used if value_json.budget.used "
                    "is not none else 'None' }}",
                    "state_class": "total_increasing",
                    "unit_of_measurement": "calls",
                    "icon": "mdi:counter",
                },
            ),
            (
                "sensor",
                "api_calls_remaining",
                {
                    "name": "API calls remaining",
                    "state_topic": metrics,
                    "value_template": "{{ value_json.budget.remaining if value_json.budget."
                    "remaining is not none else 'None' }}",
                    "state_class": "measurement",
                    "unit_of_measurement": "calls",
                    "icon": "mdi:counter",
                },
            ),
            (
                "sensor",
                "api_period_resets",
                {
                    "name": "API period resets",
                    "state_topic": metrics,
                    "value_template": "{{ value_json.budget.resets_on or 'None' }}",
                    "device_class": "timestamp",
                    "icon": "mdi:calendar-refresh",
                },
            ),
            (
                "sensor",
                "queue_depth",
                {
                    "name": "Queue depth",
                    "state_topic": metrics,
                    "value_template": "{{ value_json.gauges.queue_depth }}",
                    "state_class": "measurement",
                    "entity_category": "diagnostic",
                    "icon": "mdi:tray-full",
                },
            ),
            (
                "sensor",
                "last_error",
                {
                    "name": "Last error",
                    "state_topic": metrics,
                    "value_template": "{{ (value_json.last_error.kind ~ ': ' ~ "
                    "value_json.last_error.message)[:250] if value_json.last_error "
                    "else 'None' }}",
                    "json_attributes_topic": metrics,
                    "json_attributes_template": "{{ value_json.last_error | to_json "
                    "if value_json.last_error else '{}' }}",
                    "entity_category": "diagnostic",
                    "icon": "mdi:alert-circle-outline",
                },
            ),
            (
                "binary_sensor",
                "reads_paused",
                {
                    "name": "Reads paused",
                    "state_topic": metrics,
                    "value_template": "{{ 'ON' if value_json.budget.paused else 'OFF' }}",
                    "json_attributes_topic": metrics,
                    "json_attributes_template": "{{ {'reason': value_json.budget.paused} "
                    "| to_json }}",
                    "device_class": "problem",
                    "entity_category": "diagnostic",
                },
            ),
        ]
        configs = {}
        for component, key, specific in entities:
            payload = self._common(f"bridge_{key}", specific.pop("name"), device)
            payload.update(specific)
            configs[self._topic(component, f"{BRIDGE_PREFIX}{key}")] = encode(payload)
        return configs

    def _mmc(self, camera: str) -> bool:
        mmc = self.config.camera(camera).mmc
        return bool(mmc if mmc is not None else self.config.api.mmc)

    def event_types(self) -> list[EventType]:
        types: list[EventType] = (
            [EVENT_WATCHED, EVENT_UNKNOWN] if self.config.watchlist else [EVENT_DETECTED]
        )
        if self.config.pipeline.publish_no_plate:
            types.append(EVENT_NO_PLATE)
        return types

    def camera_configs(self, camera: str) -> dict[str, bytes]:
        topics = self.topics
        device = self.camera_device(camera)
        state = topics.camera_state(camera)
        plate = topics.camera_plate(camera)
        key = object_key(camera)
        entities: list[tuple[str, str, dict[str, Any]]] = [
            (
                "sensor",
                "last_plate",
                {
                    "name": "Last plate",
                    "state_topic": state,
                    "value_template": _PLATE_TEXT[self.settings.plate_text],
                    "json_attributes_topic": state,
                    "json_attributes_template": _PLATE_ATTRIBUTES,
                    "icon": "mdi:card-text-outline",
                },
            ),
            (
                "sensor",
                "vehicle_type",
                {
                    "name": "Vehicle type",
                    "state_topic": state,
                    "value_template": "{{ value_json.vehicle.type if value_json.vehicle "
                    "else 'None' }}",
                    "icon": "mdi:car-side",
                },
            ),
            (
                "sensor",
                "make_model",
                {
                    "name": "Make and model",
                    "state_topic": state,
                    "value_template": "{{ (value_json.make ~ ' ' ~ (value_json.model or ''))"
                    " | trim if value_json.make else 'None' }}",
                    "icon": "mdi:car-info",
                },
            ),
            (
                "sensor",
                "colour",
                {
                    "name": "Colour",
                    "state_topic": state,
                    "value_template": "{{ value_json.color or 'None' }}",
                    "icon": "mdi:palette",
                },
            ),
            (
                "sensor",
                "orientation",
                {
                    "name": "Orientation",
                    "state_topic": state,
                    "value_template": "{{ value_json.orientation or 'None' }}",
                    "icon": "mdi:compass-outline",
                },
            ),
            (
                "sensor",
                "region",
                {
                    "name": "Plate region",
                    "state_topic": state,
                    "value_template": "{{ value_json.region.code if value_json.region "
                    "else 'None' }}",
                    "icon": "mdi:earth",
                },
            ),
            (
                "event",
                "plate_event",
                {
                    "name": "Plate",
                    "state_topic": plate,
                    "value_template": _EVENT_PAYLOAD,
                    "event_types": self.event_types(),
                    "icon": "mdi:car-arrow-right",
                },
            ),
            (
                "binary_sensor",
                "watched_present",
                {
                    "name": "Watched vehicle present",
                    "state_topic": topics.camera_watchlist(camera),
                    "value_template": "{{ 'ON' if value_json.watchlist else 'OFF' }}",
                    "json_attributes_topic": topics.camera_watchlist(camera),
                    "json_attributes_template": _WATCHED_ATTRIBUTES,
                    "off_delay": self.settings.hold_time,
                    # Not `presence`: HA renders that as Home/Away and logs "was
                    # detected at home", which is wrong for a car at a gate.
                    # `occupancy` reads Detected/Clear.
                    "device_class": "occupancy",
                    "icon": "mdi:car-key",
                },
            ),
        ]
        if self.settings.image:
            entities.append(
                (
                    "image",
                    "snapshot",
                    {
                        "name": "Last snapshot",
                        "image_topic": topics.camera_image(camera),
                        "content_type": "image/jpeg",
                    },
                )
            )
        configs = {}
        for component, name, specific in entities:
            if name in MMC_KEYS and not self._mmc(camera):
                continue
            payload = self._common(f"{key}_{name}", specific.pop("name"), device)
            payload.update(specific)
            if name in OWN_AVAILABILITY:
                del payload["availability_topic"]
            configs[self._topic(component, f"{key}_{name}")] = encode(payload)
        if self.settings.device_triggers:
            configs.update(self._triggers(camera, key, device))
        return configs

    def _triggers(self, camera: str, key: str, device: dict[str, Any]) -> dict[str, bytes]:
        plate = self.topics.camera_plate(camera)
        any_plate = "{{ 'plate_detected' if value_json.plate else 'no_plate' }}"
        triggers = [
            ("plate_detected", any_plate),
            (EVENT_WATCHED, "{{ value_json.event_type }}"),
            (EVENT_UNKNOWN, "{{ value_json.event_type }}"),
        ]
        configs = {}
        for kind, template in triggers:
            payload = {
                "automation_type": "trigger",
                "type": kind,
                "subtype": camera,
                "topic": plate,
                "value_template": template,
                "payload": kind,
                "qos": 1,
                "device": device,
                "origin": ORIGIN,
            }
            configs[self._topic("device_automation", f"{key}_trigger_{kind}")] = encode(payload)
        return configs
