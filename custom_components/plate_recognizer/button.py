"""Button: read the camera's plate now."""

from __future__ import annotations

from homeassistant.components.button import ButtonEntity
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .camera_runtime import CameraRuntime
from .data import PlateRecognizerConfigEntry
from .entity import PlateRecognizerCameraEntity, add_camera_entities

# Each press costs a lookup: one at a time.
PARALLEL_UPDATES = 1

TRIGGER_BUTTON = "button"


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PlateRecognizerConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    add_camera_entities(entry, async_add_entities, lambda camera: [ReadNowButton(camera)])


class ReadNowButton(PlateRecognizerCameraEntity, ButtonEntity):
    def __init__(self, runtime: CameraRuntime) -> None:
        super().__init__(runtime, "read_now")

    async def async_press(self) -> None:
        await self.runtime.async_read(TRIGGER_BUTTON)
