"""The bounded work queue between the inputs and the readers.

Overload policy (documented in docs/bridge.md):

* each camera has at most `queue_per_camera` pending reads; when a new one
  arrives, that camera's *oldest* pending read is dropped (`dropped_camera_full`):
  the newest picture is the one worth reading;
* a new read with the same key as a pending one (the same Frigate event)
  replaces it in place (`coalesced`): one lookup, on the better snapshot;
* over all cameras at most `queue_max` reads wait; when full, the oldest read
  of the camera with the most pending is dropped (`dropped_queue_full`), so a
  busy camera cannot starve a quiet one;
* cameras are served round-robin.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from .metrics import Metrics


@dataclass(eq=False, slots=True)
class Queued:
    camera: str
    key: str | None


class CameraQueue[T: Queued]:
    def __init__(
        self,
        per_camera: int,
        total: int,
        metrics: Metrics,
        on_drop: Callable[[T, str], None] | None = None,
    ) -> None:
        self.per_camera = per_camera
        self.total = total
        self._metrics = metrics
        self._on_drop = on_drop
        self._queues: OrderedDict[str, deque[T]] = OrderedDict()
        self._size = 0
        self._ready = asyncio.Event()
        metrics.gauges["queue_depth"] = lambda: self._size

    def __len__(self) -> int:
        return self._size

    def put(self, item: T) -> None:
        queue = self._queues.get(item.camera)
        if queue is None:
            queue = self._queues[item.camera] = deque()
        if item.key is not None:
            for index, pending in enumerate(queue):
                if pending.key == item.key:
                    queue[index] = item
                    self._metrics.inc("coalesced")
                    self._drop(pending, "coalesced", count=False)
                    return
        if len(queue) >= self.per_camera:
            self._drop(queue.popleft(), "dropped_camera_full")
            self._size -= 1
        elif self._size >= self.total:
            busiest = max(self._queues.values(), key=len)
            self._drop(busiest.popleft(), "dropped_queue_full")
            self._size -= 1
        queue.append(item)
        self._size += 1
        self._metrics.inc("enqueued")
        self._ready.set()

    async def get(self) -> T:
        while True:
            for camera, queue in self._queues.items():
                if queue:
                    item = queue.popleft()
                    self._size -= 1
                    self._queues.move_to_end(camera)  # round-robin
                    if not queue:
                        del self._queues[camera]
                    return item
            self._ready.clear()
            await self._ready.wait()

    def drain(self) -> list[T]:
        """Remove and return everything pending."""
        items = [item for queue in self._queues.values() for item in queue]
        self._queues.clear()
        self._size = 0
        return items

    def _drop(self, item: T, reason: str, *, count: bool = True) -> None:
        if count:
            self._metrics.inc(reason)
        if self._on_drop is not None:
            self._on_drop(item, reason)
