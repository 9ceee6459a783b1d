"""Binary sensor: a watch-list vehicle was read recently (held for `hold_time`)."""

from __future__ import annotations

from typing import Any

from homeassistant.components.binary_sensor import BinarySensorDeviceClass, BinarySensorEntity
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .camera_runtime import CameraRuntime
from .data import PlateRecognizerConfigEntry
from .entity import PlateRecognizerCameraEntity

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PlateRecognizerConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    for subentry_id, runtime in entry.runtime_data.cameras.items():
        async_add_entities([WatchedPresentSensor(runtime)], config_subentry_id=subentry_id)


class WatchedPresentSensor(PlateRecognizerCameraEntity, BinarySensorEntity):
    _attr_device_class = BinarySensorDeviceClass.PRESENCE

    def __init__(self, runtime: CameraRuntime) -> None:
        super().__init__(runtime, "watched_present")

    @property
    def is_on(self) -> bool:
        return self.runtime.watched_present

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        watched = self.runtime.last_watched
        if watched is None or watched.match is None:
            return {}
        return {
            "name": watched.match.entry.name,
            "plate": watched.plate,
            "tags": list(watched.match.entry.tags),
            "distance": watched.match.distance,
        }
