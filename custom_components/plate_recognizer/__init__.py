"""Plate Recognizer: licence plates read from Home Assistant cameras.

One config entry is one account (cloud) or one server (on-premise SDK or our
engine); each camera is a config subentry with its own device.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.httpx_client import get_async_client
from homeassistant.helpers.typing import ConfigType

from .camera_runtime import CameraRuntime
from .const import (
    CONF_API_URL,
    CONF_LOOKUPS_PER_SECOND,
    CONF_TOKEN,
    DEFAULT_LOOKUPS_PER_SECOND,
    DOMAIN,
    SUBENTRY_CAMERA,
)
from .coordinator import PlateRecognizerCoordinator, Reachability
from .data import PlateRecognizerConfigEntry, PlateRecognizerData
from .platereader import PlateReader, PlateReaderConfigError
from .services import async_setup_services
from .settings import CameraSettings, Settings, migrate_watchlist_options

_LOGGER = logging.getLogger(__name__)

PLATFORMS = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.EVENT,
    Platform.IMAGE,
    Platform.SENSOR,
]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the action once, whether or not any entry loads."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: PlateRecognizerConfigEntry) -> bool:
    try:
        reader = PlateReader(
            entry.data[CONF_API_URL],
            entry.data.get(CONF_TOKEN),
            session=get_async_client(hass),
            # A passing car is gone in seconds: one quick retry, not a long backoff.
            retries=1,
            # The cloud plan's lookups per second; on-premise has no limit.
            rate_limit=(
                float(entry.options.get(CONF_LOOKUPS_PER_SECOND, DEFAULT_LOOKUPS_PER_SECOND))
                if entry.data.get(CONF_TOKEN)
                else None
            ),
        )
        settings = Settings.from_options(entry.options)
    except (PlateReaderConfigError, ValueError) as err:  # a bad URL, engine or watch entry
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="invalid_settings",
            translation_placeholders={"error": str(err)},
        ) from err
    reachability = Reachability(entry.title)
    coordinator = PlateRecognizerCoordinator(hass, entry, reader, reachability)
    entry.runtime_data = PlateRecognizerData(
        reader=reader,
        coordinator=coordinator,
        settings=settings,
        reachability=reachability,
        is_cloud=reader.is_cloud,
    )
    await coordinator.async_config_entry_first_refresh()

    _register_devices(hass, entry)
    for subentry_id, subentry in entry.subentries.items():
        if subentry.subentry_type != SUBENTRY_CAMERA:  # pragma: no cover - the only type
            continue
        camera = CameraSettings.from_subentry(subentry_id, subentry.title, subentry.data)
        entry.runtime_data.cameras[subentry_id] = CameraRuntime(hass, entry, camera)

    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    for runtime in entry.runtime_data.cameras.values():
        await runtime.async_start()
        entry.async_on_unload(runtime.async_stop)

    # Options and cameras change what is set up: reload on those. Token and URL
    # changes come from reauth/reconfigure, which reload by themselves.
    entry.async_on_unload(entry.add_update_listener(_make_update_listener(_loaded_with(entry))))
    return True


async def async_migrate_entry(hass: HomeAssistant, entry: PlateRecognizerConfigEntry) -> bool:
    """1.1 -> 1.2: watch-list tolerances become counts of real characters."""
    if entry.version > 1:
        return False  # written by a newer version
    if entry.minor_version < 2:
        hass.config_entries.async_update_entry(
            entry, options=migrate_watchlist_options(entry.options), minor_version=2
        )
        _LOGGER.info("%s: watch-list tolerances migrated to characters", entry.title)
    return True


def _loaded_with(entry: PlateRecognizerConfigEntry) -> Any:
    """A copy of what the entry was set up with, for the update listener to compare.

    A deep copy, not the objects: Home Assistant changes a camera subentry in
    place when its Reconfigure flow saves, so comparing `entry.subentries` with
    a dict of the same subentry objects never saw a change (the camera kept its
    old trigger until a manual reload).
    """
    return copy.deepcopy(
        (
            dict(entry.options),
            {key: subentry.as_dict() for key, subentry in entry.subentries.items()},
        )
    )


def _register_devices(hass: HomeAssistant, entry: PlateRecognizerConfigEntry) -> None:
    """Account/server device first, so the camera devices can hang off it."""
    registry = dr.async_get(hass)
    data = entry.runtime_data
    registry.async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={(DOMAIN, entry.entry_id)},
        name=entry.title,
        manufacturer="Plate Recognizer",
        model="Snapshot API (cloud)" if data.is_cloud else "On-premise server",
        sw_version=data.coordinator.data.version,
        entry_type=dr.DeviceEntryType.SERVICE,
        configuration_url="https://app.platerecognizer.com/" if data.is_cloud else None,
    )
    for subentry_id, subentry in entry.subentries.items():
        registry.async_get_or_create(
            config_entry_id=entry.entry_id,
            config_subentry_id=subentry_id,
            identifiers={(DOMAIN, subentry_id)},
            name=subentry.title,
            manufacturer="Plate Recognizer",
            model="Camera",
            via_device=(DOMAIN, entry.entry_id),
        )


def _make_update_listener(loaded_with: Any) -> Any:
    async def _async_update_listener(
        hass: HomeAssistant, entry: PlateRecognizerConfigEntry
    ) -> None:
        if _loaded_with(entry) != loaded_with:
            hass.config_entries.async_schedule_reload(entry.entry_id)

    return _async_update_listener


async def async_unload_entry(hass: HomeAssistant, entry: PlateRecognizerConfigEntry) -> bool:
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
