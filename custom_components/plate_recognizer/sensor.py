"""Sensors: usage of the account or server; last plate and vehicle of each camera."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .camera_runtime import CameraRuntime
from .const import DOMAIN
from .coordinator import PlateRecognizerCoordinator, Usage
from .data import PlateRecognizerConfigEntry, PlateRecognizerData
from .entity import (
    PlateRecognizerAccountEntity,
    PlateRecognizerCameraEntity,
    add_camera_entities,
)
from .reading import PlateRead

# Push and coordinator entities: nothing to throttle.
PARALLEL_UPDATES = 0

UNIT_CALLS = "calls"


@dataclass(frozen=True, kw_only=True)
class UsageSensorDescription(SensorEntityDescription):
    value_fn: Callable[[Usage], int | datetime | None]
    cloud_only: bool = False
    # Only where there is a quota: a local server without one has no "remaining".
    quota_only: bool = False


USAGE_SENSORS: tuple[UsageSensorDescription, ...] = (
    UsageSensorDescription(
        key="calls_used",
        native_unit_of_measurement=UNIT_CALLS,
        # Counts up, then drops to zero when the period resets.
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda usage: usage.calls,
    ),
    UsageSensorDescription(
        key="calls_remaining",
        native_unit_of_measurement=UNIT_CALLS,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda usage: usage.remaining,
        quota_only=True,
    ),
    UsageSensorDescription(
        key="resets_on",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda usage: usage.resets_on,
        cloud_only=True,
    ),
)


@dataclass(frozen=True, kw_only=True)
class PlateSensorDescription(SensorEntityDescription):
    value_fn: Callable[[PlateRead], str | None]
    attrs_fn: Callable[[CameraRuntime], dict[str, Any]] = lambda _runtime: {}
    mmc_only: bool = False


def _last_plate_attributes(runtime: CameraRuntime) -> dict[str, Any]:
    plate, read = runtime.last_plate, runtime.last_plate_read
    if plate is None or read is None:
        return {}
    details = plate.as_dict()
    return {
        "score": details["score"],
        "candidates": details["candidates"],
        "region": details["region"],
        "box": details["box"],
        "watched": details["watched"],
        "match": details["match"],
        "vehicle_type": plate.vehicle_type,
        "vehicles": read.vehicle_list(),
        # Every plate of the picture, the one shown first; the watched ones apart.
        "plates": [other.plate for other in read.plates],
        "watched_plates": [other.plate for other in read.watched],
        "trigger": read.trigger,
        "read_by": read.read_by,
        "read_at": read.time.isoformat(),
    }


def _make_model(plate: PlateRead) -> str | None:
    make_model = plate.make_model
    return f"{make_model['make']} {make_model['model']}" if make_model else None


def _make_model_attributes(runtime: CameraRuntime) -> dict[str, Any]:
    make_model = runtime.last_plate.make_model if runtime.last_plate else None
    return dict(make_model) if make_model else {}


PLATE_SENSORS: tuple[PlateSensorDescription, ...] = (
    PlateSensorDescription(
        key="last_plate",
        value_fn=lambda plate: plate.plate,
        attrs_fn=_last_plate_attributes,
    ),
    PlateSensorDescription(key="vehicle_type", value_fn=lambda plate: plate.vehicle_type),
    PlateSensorDescription(
        key="make_model",
        value_fn=_make_model,
        attrs_fn=_make_model_attributes,
        mmc_only=True,
    ),
    PlateSensorDescription(key="color", value_fn=lambda plate: plate.color, mmc_only=True),
    PlateSensorDescription(
        key="orientation", value_fn=lambda plate: plate.orientation, mmc_only=True
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PlateRecognizerConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    data = entry.runtime_data
    usage = [description for description in USAGE_SENSORS if _has_usage_sensor(data, description)]
    async_add_entities(UsageSensor(data.coordinator, description) for description in usage)
    # A sensor this server does not get (no quota) would stay "Unavailable" in
    # the registry from an earlier version: remove it.
    registry = er.async_get(hass)
    for description in USAGE_SENSORS:
        if description not in usage and (
            entity_id := registry.async_get_entity_id(
                "sensor", DOMAIN, f"{entry.entry_id}_{description.key}"
            )
        ):
            registry.async_remove(entity_id)
    add_camera_entities(
        entry,
        async_add_entities,
        lambda camera: (
            PlateSensor(camera, description)
            for description in PLATE_SENSORS
            if data.settings.mmc or not description.mmc_only
        ),
    )


def _has_usage_sensor(data: PlateRecognizerData, description: UsageSensorDescription) -> bool:
    """The cloud has every usage sensor; a local server a quota only if it reports one."""
    if data.is_cloud:
        return True
    if description.cloud_only:
        return False
    return not description.quota_only or data.coordinator.data.total is not None


class UsageSensor(PlateRecognizerAccountEntity, SensorEntity):
    entity_description: UsageSensorDescription

    def __init__(
        self, coordinator: PlateRecognizerCoordinator, description: UsageSensorDescription
    ) -> None:
        super().__init__(coordinator, description.key)
        self.entity_description = description

    @property
    def native_value(self) -> int | datetime | None:
        return self.entity_description.value_fn(self.coordinator.data)


class PlateSensor(PlateRecognizerCameraEntity, SensorEntity):
    entity_description: PlateSensorDescription
    # Long lists change with every read: keep them out of the recorder.
    _unrecorded_attributes = frozenset(
        {"candidates", "box", "vehicles", "plates", "watched_plates", "match"}
    )

    def __init__(self, runtime: CameraRuntime, description: PlateSensorDescription) -> None:
        super().__init__(runtime, description.key)
        self.entity_description = description

    @property
    def native_value(self) -> str | None:
        plate = self.runtime.last_plate
        return self.entity_description.value_fn(plate) if plate is not None else None

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        return self.entity_description.attrs_fn(self.runtime)
