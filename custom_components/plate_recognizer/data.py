"""What a loaded config entry keeps at run time (`entry.runtime_data`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, callback

from .platereader import PlateReader
from .settings import Settings

if TYPE_CHECKING:
    from .camera_runtime import CameraRuntime
    from .coordinator import PlateRecognizerCoordinator

_LOGGER = logging.getLogger(__package__)


class Reachability:
    """Whether the API answers, shared by every entity of an entry.

    A camera can go hours without a read, so both the usage poll and every
    read report here. The outage is logged once when it starts and once when
    it ends, not on every failed call.
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self.available = True
        self._listeners: list[Callable[[], None]] = []

    @callback
    def async_add_listener(self, listener: Callable[[], None]) -> CALLBACK_TYPE:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    @callback
    def failed(self, err: Exception) -> None:
        if not self.available:
            return
        _LOGGER.warning("%s is unreachable: %s", self._name, err)
        self.available = False
        self._notify()

    @callback
    def succeeded(self) -> None:
        if self.available:
            return
        _LOGGER.info("%s is reachable again", self._name)
        self.available = True
        self._notify()

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()


@dataclass
class PlateRecognizerData:
    reader: PlateReader
    coordinator: PlateRecognizerCoordinator
    settings: Settings
    reachability: Reachability
    is_cloud: bool
    cameras: dict[str, CameraRuntime] = field(default_factory=dict)


type PlateRecognizerConfigEntry = ConfigEntry[PlateRecognizerData]
