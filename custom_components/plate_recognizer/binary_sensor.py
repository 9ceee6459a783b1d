"""Binary sensor: a watch-list vehicle was read recently (held for `hold_time`)."""

from __future__ import annotations

from typing import Any

from homeassistant.components.binary_sensor import BinarySensorEntity
from homeassistant.core import HomeAssistant
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
    add_camera_entities(entry, async_add_entities, lambda camera: [WatchedPresentSensor(camera)])


class WatchedPresentSensor(PlateRecognizerCameraEntity, BinarySensorEntity):
    # No device class: `presence` reads Home/Away ("detected at home") and suits
    # people, not a car at a gate. The states are translated Present/Not present.
    def __init__(self, runtime: CameraRuntime) -> None:
        super().__init__(runtime, "watched_present")

    @property
    def available(self) -> bool:
        """Always: the state is the camera's own past reads, not a view of the API.

        Following the API's reachability made an outage within the hold time
        go on -> unavailable -> on, and a `to: "on"` trigger fired twice for
        one car. While the API is down no read happens, so it simply stays off
        (or turns off when the hold time of the last read ends).
        """
        return True

    @property
    def is_on(self) -> bool:
        return self.runtime.watched_present

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        watched = self.runtime.last_watched
        if watched is None or watched.match is None:
            return {}
        match = watched.match
        return {
            "name": match.entry.name,
            "plate": watched.plate,
            "tags": list(match.entry.tags),
            # Why it matched: exact, lookalike or tolerance, and through which text.
            "match": match.kind,
            "matched_text": match.text.text,
            "candidate": match.text.index,
            "differences": match.distance.differences,
            "lookalikes": match.distance.lookalikes,
            "distance": match.distance.weighted,
        }
