"""Event entity: one event per plate read, typed by the watch-list verdict."""

from __future__ import annotations

from homeassistant.components.event import EventEntity
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .camera_runtime import CameraRuntime
from .const import EVENT_TYPE_DETECTED, EVENT_TYPE_UNKNOWN, EVENT_TYPE_WATCHED, EVENT_TYPES
from .data import PlateRecognizerConfigEntry
from .entity import PlateRecognizerCameraEntity, add_camera_entities
from .reading import CameraRead

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PlateRecognizerConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    add_camera_entities(entry, async_add_entities, lambda camera: [PlateEvent(camera)])


class PlateEvent(PlateRecognizerCameraEntity, EventEntity):
    _attr_event_types = EVENT_TYPES

    def __init__(self, runtime: CameraRuntime) -> None:
        super().__init__(runtime, "plate")

    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        self.async_on_remove(self.runtime.async_add_read_listener(self._async_read))

    @property
    def available(self) -> bool:
        """Always: an event entity's state is its last event; going unavailable and
        back during an API outage would replay that old event's state to triggers."""
        return True

    @callback
    def _async_runtime_updated(self) -> None:
        """Only reads with a plate change this entity (see `_async_read`)."""

    @callback
    def _async_read(self, read: CameraRead) -> None:
        # `plate_detected` for every plate, then whether it is on the watch list,
        # so automations can listen to whichever they need. The picture's headline
        # plate (`plates[0]`: a watched one before any unknown one) comes last, so
        # the entity ends on the plate "Last plate" shows and never hides a
        # watched plate behind another car of the same picture.
        for plate in reversed(read.plates):
            attributes = {
                "camera": read.camera,
                "trigger": read.trigger,
                "read_by": read.read_by,
                **plate.as_dict(),
            }
            self._trigger_event(EVENT_TYPE_DETECTED, attributes)
            self.async_write_ha_state()
            kind = EVENT_TYPE_WATCHED if plate.watched else EVENT_TYPE_UNKNOWN
            self._trigger_event(kind, attributes)
            self.async_write_ha_state()
