"""The `plate_recognizer.read_plate` action: read a camera now and return the result."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import voluptuous as vol
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv

from .camera_runtime import CameraRuntime
from .const import (
    ATTR_CAMERA,
    ATTR_CONFIG,
    ATTR_CONFIG_ENTRY_ID,
    ATTR_MMC,
    ATTR_REGIONS,
    DOMAIN,
    SERVICE_READ_PLATE,
)
from .data import PlateRecognizerConfigEntry
from .platereader import EngineConfig, PlateReaderConfigError, normalize_regions, require_regions
from .settings import CameraSettings

TRIGGER_ACTION = "action"


def _regions(value: Any) -> list[str]:
    try:
        return normalize_regions(cv.ensure_list(value))
    except ValueError as err:
        raise vol.Invalid(str(err)) from err


READ_PLATE_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_CAMERA): cv.entity_domain("camera"),
        vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Optional(ATTR_REGIONS): _regions,
        vol.Optional(ATTR_MMC): cv.boolean,
        vol.Optional(ATTR_CONFIG): vol.Any(dict, cv.string),
    }
)


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    async def _async_read_plate(call: ServiceCall) -> ServiceResponse:
        camera: str = call.data[ATTR_CAMERA]
        entry, runtime = _find_camera(hass, camera, call.data.get(ATTR_CONFIG_ENTRY_ID))
        configured = runtime is not None
        if runtime is None:
            if hass.states.get(camera) is None:
                raise ServiceValidationError(
                    translation_domain=DOMAIN,
                    translation_key="unknown_camera",
                    translation_placeholders={"camera": camera},
                )
            # Any camera can be read with the entry's settings; only a configured one
            # has entities to update and events to fire.
            runtime = CameraRuntime(
                hass, entry, CameraSettings(subentry_id="", title=camera, camera_entity=camera)
            )
        settings = entry.runtime_data.settings
        config = settings.engine
        if ATTR_CONFIG in call.data:
            try:
                config = EngineConfig.parse(call.data[ATTR_CONFIG])
            except PlateReaderConfigError as err:
                raise ServiceValidationError(
                    translation_domain=DOMAIN,
                    translation_key="invalid_config",
                    translation_placeholders={"error": str(err)},
                ) from err
        regions: Sequence[str] | None = call.data.get(ATTR_REGIONS)
        if regions is None:
            regions = runtime.settings.regions or settings.regions
        try:
            require_regions(config, regions)  # the caller's mistake: no ERROR log
        except PlateReaderConfigError as err:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="strict_needs_regions",
                translation_placeholders={"error": str(err)},
            ) from err
        read = await runtime.async_read(
            TRIGGER_ACTION,
            regions=regions,
            mmc=call.data.get(ATTR_MMC),
            config=config,
            publish=configured,
        )
        return read.as_dict()

    hass.services.async_register(
        DOMAIN,
        SERVICE_READ_PLATE,
        _async_read_plate,
        schema=READ_PLATE_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )


def _find_camera(
    hass: HomeAssistant, camera: str, entry_id: str | None
) -> tuple[PlateRecognizerConfigEntry, CameraRuntime | None]:
    """The loaded entry (the one given, if any) that configures `camera`, with its runtime;
    else the first loaded entry and None."""
    entries: list[PlateRecognizerConfigEntry] = [
        entry
        for entry in hass.config_entries.async_entries(DOMAIN)
        if entry.state is ConfigEntryState.LOADED and entry_id in (None, entry.entry_id)
    ]
    if not entries:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="not_loaded")
    for entry in entries:
        for runtime in entry.runtime_data.cameras.values():
            if runtime.settings.camera_entity == camera:
                return entry, runtime
    return entries[0], None
