"""Polls the account's (cloud) or the server's (on-premise) usage."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from .const import CLOUD_SCAN_INTERVAL, DOMAIN, LOCAL_SCAN_INTERVAL
from .data import Reachability
from .issues import async_set_no_credits_issue
from .platereader import (
    PlateReader,
    PlateReaderAuthenticationError,
    PlateReaderError,
    PlateReaderNoCreditsError,
    ReadResponse,
)

_LOGGER = logging.getLogger(__name__)


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

    config_entry: ConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
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
