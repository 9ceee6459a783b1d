"""Diagnostics: settings, usage and the last read of each camera, token and plates redacted."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .const import CONF_API_URL, CONF_TOKEN
from .data import PlateRecognizerConfigEntry

# Plates and names identify people: they are redacted like the token.
TO_REDACT = {CONF_TOKEN, "plate", "plates", "name", "read", "matched_text", "candidates", "title"}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: PlateRecognizerConfigEntry
) -> dict[str, Any]:
    data = entry.runtime_data
    usage = data.coordinator.data
    cameras = []
    for runtime in data.cameras.values():
        last = runtime.last_read
        cameras.append(
            {
                "settings": asdict(runtime.settings),
                "watched_present": runtime.watched_present,
                "last_read": last.as_dict() if last else None,
            }
        )
    return async_redact_data(
        {
            "entry": {
                # The URL may carry user:password; the client's copy does not.
                "data": {**entry.data, CONF_API_URL: data.reader.api_url},
                "options": dict(entry.options),
                "title": entry.title,
            },
            "api_url": data.reader.api_url,
            "cloud": data.is_cloud,
            "reachable": data.reachability.available,
            "usage": asdict(usage) if usage else None,
            "cameras": cameras,
        },
        TO_REDACT,
    )
