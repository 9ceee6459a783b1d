"""Base classes: camera entities (push) and account entities (polled usage)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .camera_runtime import CameraRuntime
from .const import DOMAIN
from .coordinator import PlateRecognizerCoordinator
from .data import PlateRecognizerConfigEntry


def add_camera_entities(
    entry: PlateRecognizerConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    build: Callable[[CameraRuntime], Iterable[Entity]],
) -> None:
    """Add `build(camera)`'s entities for each camera, under its subentry (its device)."""
    for subentry_id, runtime in entry.runtime_data.cameras.items():
        async_add_entities(build(runtime), config_subentry_id=subentry_id)


class PlateRecognizerCameraEntity(Entity):
    """An entity of a camera device, written whenever that camera reads."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, runtime: CameraRuntime, key: str) -> None:
        self.runtime = runtime
        self._attr_unique_id = f"{runtime.settings.subentry_id}_{key}"
        self._attr_translation_key = key
        self._attr_device_info = DeviceInfo(identifiers={(DOMAIN, runtime.settings.subentry_id)})

    @property
    def available(self) -> bool:
        """Unavailable while the API cannot be reached."""
        return self.runtime.entry.runtime_data.reachability.available

    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        self.async_on_remove(self.runtime.async_add_listener(self._async_runtime_updated))
        self.async_on_remove(
            self.runtime.entry.runtime_data.reachability.async_add_listener(
                self.async_write_ha_state
            )
        )

    @callback
    def _async_runtime_updated(self) -> None:
        self.async_write_ha_state()


class PlateRecognizerAccountEntity(CoordinatorEntity[PlateRecognizerCoordinator]):
    """An entity of the account or server device."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: PlateRecognizerCoordinator, key: str) -> None:
        super().__init__(coordinator)
        entry_id = coordinator.config_entry.entry_id
        self._attr_unique_id = f"{entry_id}_{key}"
        self._attr_translation_key = key
        self._attr_device_info = DeviceInfo(identifiers={(DOMAIN, entry_id)})
