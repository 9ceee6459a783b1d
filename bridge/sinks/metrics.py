"""The retained metrics topic: every `metrics_interval`, on connecting, soon after an error."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from bridge.events import ErrorEvent, Topics, encode
from bridge.metrics import Metrics
from bridge.mqtt import MqttLink
from bridge.outbox import OutMessage

from .base import Notice

_SOON = 1.0  # seconds from an error to the metrics that show it


class MetricsSink:
    """`payload` makes the metrics document (the counters plus the read gate's status)."""

    def __init__(
        self,
        link: MqttLink,
        topics: Topics,
        metrics: Metrics,
        payload: Callable[[], dict[str, Any]],
        interval: float,
    ) -> None:
        self.link = link
        self.topics = topics
        self.metrics = metrics
        self.payload = payload
        self.interval = interval
        self._task: asyncio.Task[None] | None = None
        self._soon: asyncio.TimerHandle | None = None

    async def start(self) -> None:
        self.link.on_connected.append(self.publish)
        if self.interval > 0:
            self._task = asyncio.create_task(self._periodic(), name="metrics")

    def handle(self, notice: Notice) -> None:
        if isinstance(notice, ErrorEvent):
            self.metrics.last_error = notice
            self._publish_soon()

    def publish(self) -> None:
        data = encode(self.payload())
        self.link.publish([OutMessage(self.topics.metrics, data, retain=True)])

    def _publish_soon(self) -> None:
        """After an error: metrics within a second (the 'last error' sensor), not
        once per error in a storm."""
        if self._soon is None:

            def publish() -> None:
                self._soon = None
                self.publish()

            self._soon = asyncio.get_running_loop().call_later(_SOON, publish)

    async def _periodic(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            self.publish()

    async def stop(self) -> None:
        """The last figures, after everything else has stopped."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._soon is not None:
            self._soon.cancel()
            self._soon = None
        self.publish()
