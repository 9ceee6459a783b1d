"""Image entity: the last snapshot that showed a vehicle, with boxes and plate text drawn."""

from __future__ import annotations

from datetime import datetime

from homeassistant.components.image import ImageEntity
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
        async_add_entities([SnapshotImage(hass, runtime)], config_subentry_id=subentry_id)


class SnapshotImage(PlateRecognizerCameraEntity, ImageEntity):
    _attr_content_type = "image/jpeg"

    def __init__(self, hass: HomeAssistant, runtime: CameraRuntime) -> None:
        PlateRecognizerCameraEntity.__init__(self, runtime, "snapshot")
        ImageEntity.__init__(self, hass)

    @property
    def image_last_updated(self) -> datetime | None:
        return self.runtime.snapshot_time if self.runtime.snapshot is not None else None

    async def async_image(self) -> bytes | None:
        return self.runtime.snapshot
