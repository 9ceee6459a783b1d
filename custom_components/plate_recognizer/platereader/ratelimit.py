"""A shared async rate limiter for lookups.

The cloud API throttles per API key (1 lookup/s on the Free plan, 8/s on a
subscription) with a sliding one-second window. One `RateLimiter` shared by
every caller of a key keeps all of them under that limit together.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class RateLimiter:
    """Token bucket in its "virtual scheduling" form (GCRA).

    Each `acquire()` reserves the next free slot and sleeps until it, so
    concurrent callers are served first come, first served and the rate holds
    exactly however many wait. `burst` slots may be used back to back after an
    idle period. `guard` lengthens each window of `rate` lookups by that many
    seconds, so network jitter cannot put `rate + 1` arrivals into one server
    window (which would be answered 429).
    """

    def __init__(
        self,
        rate: float | None,
        *,
        burst: int = 1,
        guard: float = 0.01,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive, or None for no limit")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self.rate = rate
        self.burst = burst
        self._interval = 0.0 if rate is None else (1.0 + guard) / rate
        self._clock = clock
        self._next_free = 0.0  # theoretical arrival time of the next lookup

    @property
    def unlimited(self) -> bool:
        return self.rate is None

    def reserve(self) -> float:
        """Reserve the next slot; return how long the caller must wait for it."""
        if self.rate is None:
            return 0.0
        now = self._clock()
        slot = max(self._next_free, now)
        self._next_free = slot + self._interval
        return max(slot - (self.burst - 1) * self._interval - now, 0.0)

    async def acquire(self) -> None:
        """Wait until this caller may send a lookup."""
        delay = self.reserve()
        if delay > 0:
            await asyncio.sleep(delay)

    def pause(self, seconds: float) -> None:
        """Hold every caller back for `seconds` (the server said it was throttling)."""
        if self.rate is None or seconds <= 0:
            return
        self._next_free = max(self._next_free, self._clock() + seconds)

    def __repr__(self) -> str:
        return f"RateLimiter(rate={self.rate!r}, burst={self.burst})"
