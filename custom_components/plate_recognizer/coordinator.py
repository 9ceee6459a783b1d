"""Polls the account's (cloud) or the server's (on-premise) usage; what an entry keeps.

The entry's runtime data is declared here, next to the coordinator it holds (as
elgato does). It is generic in the camera type because `camera_runtime` needs this
module (its cameras read through the entry's reader and coordinator): naming
`CameraRuntime` here would make an import cycle. `data.py`, above both, names the
concrete types the platforms use.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from .const import CLOUD_SCAN_INTERVAL, DOMAIN, LOCAL_SCAN_INTERVAL
from .issues import async_set_no_credits_issue
from .platereader import (
    PlateReader,
    PlateReaderAuthenticationError,
    PlateReaderError,
    PlateReaderNoCreditsError,
    ReadResponse,
)
from .settings import Settings

_LOGGER = logging.getLogger(__name__)


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


@dataclass(frozen=True, slots=True)
class Usage:
    """Lookups used and left this period; `total`/`remaining` unknown for unlimited SDKs."""

    calls: int
    total: int | None
    resets_on: datetime | None = None
    version: str | None = None

    @property
    def remaining(self) -> int | None:
        return None if self.total is None else max(self.total - self.calls, 0)


class PlateRecognizerCoordinator(DataUpdateCoordinator[Usage]):
    """Usage of one account or server.

    Statistics do not cost lookups, but they change only when we read, so
    the poll is slow and each read updates the figures locally in between.
    """

    config_entry: ConfigEntry[RuntimeData[Any]]

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry[RuntimeData[Any]],
        reader: PlateReader,
        reachability: Reachability,
    ) -> None:
        super().__init__(
            hass,
            _LOGGER,
            config_entry=entry,
            name=DOMAIN,
            update_interval=CLOUD_SCAN_INTERVAL if reader.is_cloud else LOCAL_SCAN_INTERVAL,
        )
        self.reader = reader
        self.reachability = reachability

    async def _async_update_data(self) -> Usage:
        try:
            if self.reader.is_cloud:
                stats = await self.reader.statistics()
                usage = Usage(calls=stats.calls, total=stats.total_calls, resets_on=stats.resets_on)
            else:
                info = await self.reader.info()
                usage = Usage(calls=info.calls, total=info.total_calls, version=info.version)
        except PlateReaderNoCreditsError:
            # A server refusing even the statistics for lack of credits is still up.
            self.reachability.succeeded()
            async_set_no_credits_issue(self.hass, self.config_entry, True)
            # `data` is None until the first refresh, whatever its annotation says.
            previous: Usage | None = self.data
            if previous is None:
                return Usage(calls=0, total=0)
            return replace(previous, calls=previous.total or previous.calls)
        except PlateReaderAuthenticationError as err:
            if self.reader.is_cloud:
                raise ConfigEntryAuthFailed(
                    translation_domain=DOMAIN, translation_key="invalid_auth"
                ) from err
            # An on-premise SDK refusing us is a licence problem on the server, not ours.
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="server_refused",
                translation_placeholders={"error": str(err)},
            ) from err
        except PlateReaderError as err:
            self.reachability.failed(err)
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="cannot_connect",
                translation_placeholders={"error": str(err)},
            ) from err
        self.reachability.succeeded()
        async_set_no_credits_issue(self.hass, self.config_entry, usage.remaining == 0)
        return usage

    def note_read(self, response: ReadResponse) -> None:
        """Count a successful lookup without another request."""
        async_set_no_credits_issue(self.hass, self.config_entry, False)
        current = self.data  # set: the first refresh happens before any read
        if response.usage is not None:  # on-premise answers carry the counters
            usage = replace(
                current,
                calls=response.usage.calls,
                total=response.usage.max_calls if response.usage.max_calls else current.total,
            )
        else:
            usage = replace(current, calls=current.calls + 1)
        self.async_set_updated_data(usage)

    def note_no_credits(self) -> None:
        async_set_no_credits_issue(self.hass, self.config_entry, True)
        current = self.data
        if current.total is not None:
            self.async_set_updated_data(replace(current, calls=current.total))


@dataclass
class RuntimeData[CameraT]:
    """What a loaded config entry keeps at run time (`entry.runtime_data`)."""

    reader: PlateReader
    coordinator: PlateRecognizerCoordinator
    settings: Settings
    reachability: Reachability
    is_cloud: bool
    cameras: dict[str, CameraT] = field(default_factory=dict)


type PlateRecognizerConfigEntry[CameraT] = ConfigEntry[RuntimeData[CameraT]]
"""A config entry of this integration, whose cameras are `CameraT` (`CameraRuntime`)."""
