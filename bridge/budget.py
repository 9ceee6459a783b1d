"""When reads must stop: the monthly budget, and the API refusing us (403).

`ReadGate` answers one question before each lookup: may we spend one now?

* Budget (cloud only): `/v1/statistics/` says how many lookups the plan has
  used this month and how many it allows. The gate counts lookups locally
  between two refreshes and pauses once `used + reserve` reaches the limit
  (`api.monthly_budget` if set, else the plan's quota), until the quota
  resets (`resets_on`) or a refresh shows room again.
* Forbidden: after a 403 (bad token or no credits) reads pause for
  `api.forbidden_pause` seconds, then one read is tried again.

Each pause and resume is announced once through `on_change`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from platereader import PlateReader, PlateReaderError

_LOGGER = logging.getLogger(__name__)

OnChange = Callable[[str | None, str], None]  # (pause kind or None when resumed, message)


class ReadGate:
    def __init__(
        self,
        reader: PlateReader,
        *,
        cloud: bool,
        monthly_budget: int | None,
        reserve: int,
        check_interval: float,
        forbidden_pause: float,
        on_change: OnChange,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._reader = reader
        self.cloud = cloud
        self.monthly_budget = monthly_budget
        self.reserve = reserve
        self.check_interval = check_interval
        self.forbidden_pause = forbidden_pause
        self._on_change = on_change
        self._clock = clock
        self.used: int | None = None  # as of the last refresh, plus local count
        self.limit: int | None = monthly_budget
        self.resets_on: datetime | None = None
        self._forbidden_until: float | None = None
        self.paused: str | None = None  # "budget" | "forbidden" | None
        self._task: asyncio.Task[None] | None = None

    # -- checks -------------------------------------------------------------------

    def blocked(self) -> str | None:
        """The reason reads are paused now, or None."""
        if self._forbidden_until is not None:
            if self._clock() < self._forbidden_until:
                return "forbidden"
            self._forbidden_until = None  # try one read again
            self._set(None, "reads resumed: trying the API again after the 403")
        if self.cloud and self.limit is not None and self.used is not None:
            if self.used + self.reserve >= self.limit:
                if self.resets_on is not None and datetime.now(UTC) >= self.resets_on:
                    return None  # a new month: the next refresh will tell
                self._set("budget", self._budget_message())
                return "budget"
            if self.paused == "budget":
                self._set(None, f"reads resumed: {self.limit - self.used} lookups left")
        return None

    def spend(self) -> None:
        if self.used is not None:
            self.used += 1

    def forbidden(self, message: str) -> None:
        self._forbidden_until = self._clock() + self.forbidden_pause
        self._set(
            "forbidden",
            f"reads paused for {self.forbidden_pause:g} s: {message}",
        )

    def no_credits(self, message: str) -> None:
        if self.limit is not None:
            self.used = self.limit
        self.forbidden(message)

    def status(self) -> dict[str, object]:
        remaining = None
        if self.limit is not None and self.used is not None:
            remaining = max(self.limit - self.used, 0)
        return {
            "paused": self.paused,
            "used": self.used,
            "limit": self.limit,
            "remaining": remaining,
            "reserve": self.reserve,
            "resets_on": self.resets_on.isoformat() if self.resets_on else None,
            "source": "statistics" if self.cloud else "info",
        }

    # -- statistics ------------------------------------------------------------------

    async def refresh_info(self) -> None:
        """On-premise: the SDK's own usage counters (`/info/`), for display only."""
        try:
            info = await self._reader.info()
        except PlateReaderError as err:
            _LOGGER.info("cannot read the on-premise server's /info/: %s", err)
            return
        self.used = info.calls
        self.limit = info.total_calls

    async def refresh(self) -> None:
        if not self.cloud:
            await self.refresh_info()
            return
        try:
            stats = await self._reader.statistics()
        except PlateReaderError as err:
            _LOGGER.warning("cannot read the API usage statistics: %s", err)
            return
        limit = stats.total_calls
        if self.monthly_budget is not None:
            limit = min(limit, self.monthly_budget)
        self.limit = limit
        self.used = stats.calls
        self.resets_on = stats.resets_on
        _LOGGER.info(
            "API usage: %d of %d lookups this month (budget %d, reserve %d)",
            stats.calls,
            stats.total_calls,
            limit,
            self.reserve,
        )
        self.blocked()  # announce a pause or a resume now

    async def start(self) -> None:
        if self.cloud:
            await self.refresh()
            self._task = asyncio.create_task(self._poll(), name="budget-refresh")
        else:
            # Never delay the start for it: the usage is only shown, not enforced.
            self._task = asyncio.create_task(self._poll(first=True), name="usage-refresh")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _poll(self, *, first: bool = False) -> None:
        if first:
            await self.refresh()
        while True:
            await asyncio.sleep(self.check_interval)
            await self.refresh()

    # -- internals --------------------------------------------------------------------

    def _budget_message(self) -> str:
        resets = f"; the quota resets on {self.resets_on:%Y-%m-%d}" if self.resets_on else ""
        return (
            f"cloud reads paused: {self.used} of {self.limit} lookups used this month "
            f"(reserve {self.reserve}){resets}"
        )

    def _set(self, paused: str | None, message: str) -> None:
        if paused == self.paused:
            return
        self.paused = paused
        if paused:
            _LOGGER.warning("%s", message)
        else:
            _LOGGER.info("%s", message)
        self._on_change(paused, message)
