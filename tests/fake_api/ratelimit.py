"""Per-token sliding-window throttle, like the cloud API's lookups-per-second limit."""

from __future__ import annotations

import math
from collections import deque


class SlidingWindowLimiter:
    """Admit at most ``capacity`` requests per ``window`` seconds for each key.

    A rate of ``r`` lookups per second becomes ``max(1, floor(r))`` requests per
    ``capacity / r`` seconds, so 8/s allows bursts of 8 per second and 0.5/s allows one
    request every 2 seconds.  The rate is passed on every call because the fake's
    ``rate_limit`` attribute may change between requests.
    """

    def __init__(self) -> None:
        self._admitted: dict[str, deque[float]] = {}

    def check(self, key: str, rate: float, now: float) -> int | None:
        """Admit and remember the request, or return whole seconds to wait (at least 1)."""
        if rate <= 0:
            raise ValueError(f"rate_limit must be positive, got {rate}")
        capacity = max(1, math.floor(rate))
        window = capacity / rate
        admitted = self._admitted.setdefault(key, deque())
        while admitted and admitted[0] <= now - window:
            admitted.popleft()
        if len(admitted) >= capacity:
            # Django REST framework rounds the wait up to whole seconds.
            return max(1, math.ceil(admitted[0] + window - now))
        admitted.append(now)
        return None

    def reset(self) -> None:
        """Forget every admitted request."""
        self._admitted.clear()
