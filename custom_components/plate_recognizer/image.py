"""Image entity: the last snapshot that showed a vehicle, with boxes and plate text drawn."""

from __future__ import annotations

from datetime import datetime

from homeassistant.components.image import ImageEntity
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .camera_runtime import CameraRuntime
from .data import PlateRecognizerConfigEntry
from .entity import PlateRecognizerCameraEntity, add_camera_entities

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PlateRecognizerConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    add_camera_entities(entry, async_add_entities, lambda camera: [SnapshotImage(hass, camera)])


class SnapshotImage(PlateRecognizerCameraEntity, ImageEntity):
    _attr_content_type = "image/jpeg"

    def __init__(self, hass: HomeAssistant, runtime: CameraRuntime) -> None:
        PlateRecognizerCameraEntity.__init__(self, runtime, "snapshot")
        ImageEntity.__init__(self, hass)
        self._picture_time: datetime | None = None

    @property
    def image_last_updated(self) -> datetime | None:
        return self.runtime.snapshot_time if self.runtime.snapshot is not None else None

    @property
    def entity_picture(self) -> str | None:
        """The picture's URL, once there is a picture.

        Before the first read there is none: without this the frontend would
        load a URL that fails, and keep showing that blank image after the read
        (the URL would not change). With no URL it shows the entity's icon.
        """
        if self.runtime.snapshot is None:
            return None
        return super().entity_picture

    @callback
    def _async_runtime_updated(self) -> None:
        if self.runtime.snapshot is not None and self.runtime.snapshot_time != self._picture_time:
            self._picture_time = self.runtime.snapshot_time
            # A new access token gives each picture its own URL, so every view
            # (entity row, more-info, dashboard) loads it instead of a cached one.
            self.async_update_token()
        super()._async_runtime_updated()

    async def async_image(self) -> bytes | None:
        return self.runtime.snapshot
