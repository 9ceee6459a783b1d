"""Counters, gauges and latency percentiles of one bridge instance.

Published (retained) on `<base>/metrics` every `pipeline.metrics_interval`
seconds and logged at shutdown. Counter names are documented in docs/bridge.md.
"""

from __future__ import annotations

import math
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .events import ErrorEvent


class Latency:
    """The last `size` samples (seconds); percentiles in milliseconds."""

    def __init__(self, size: int = 10_000) -> None:
        self._samples: deque[float] = deque(maxlen=size)
        self.count = 0

    def add(self, seconds: float) -> None:
        self._samples.append(seconds)
        self.count += 1

    def percentile(self, p: float) -> float | None:
        if not self._samples:
            return None
        ordered = sorted(self._samples)
        index = min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))
        return ordered[index] * 1000

    def summary(self) -> dict[str, float | int | None]:
        def rounded(value: float | None) -> float | None:
            return None if value is None else round(value, 3)

        return {
            "count": self.count,
            "p50_ms": rounded(self.percentile(50)),
            "p99_ms": rounded(self.percentile(99)),
            "max_ms": rounded(max(self._samples) * 1000 if self._samples else None),
        }

    def samples(self) -> list[float]:
        return list(self._samples)


class Metrics:
    """Everything the bridge counts. `gauges` are read when a snapshot is taken."""

    def __init__(self) -> None:
        self.counters: Counter[str] = Counter()
        self.overhead = Latency()  # receipt to publication, minus snapshot fetch and API time
        self.api_time = Latency()
        self.queue_wait = Latency()  # receipt until a reader takes it (part of the overhead)
        self.processing = Latency()  # the overhead without the queue wait
        self.gauges: dict[str, Callable[[], Any]] = {}
        self.started = time.time()
        self.last_error: ErrorEvent | None = None  # the last error event published

    def inc(self, name: str, amount: int = 1) -> None:
        self.counters[name] += amount

    def __getitem__(self, name: str) -> int:
        return self.counters[name]

    def snapshot(self) -> dict[str, Any]:
        return {
            "uptime_s": round(time.time() - self.started, 1),
            "counters": dict(sorted(self.counters.items())),
            "gauges": {name: read() for name, read in sorted(self.gauges.items())},
            "overhead": self.overhead.summary(),
            "api_time": self.api_time.summary(),
            "queue_wait": self.queue_wait.summary(),
            "processing": self.processing.summary(),
            "last_error": (
                None if self.last_error is None else self.last_error.model_dump(mode="json")
            ),
        }
