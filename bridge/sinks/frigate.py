"""The plate written back to Frigate's event: its sub label and recognised plate.

For a picture of a Frigate event, the best plate kept (a watched plate first,
then the best score; repeats within the cool-down count too: they are this
event's plate all the same) becomes, per `write_back`:

* the event's sub label: the watch-list name or the plate (`sub_label`);
* its `recognized_license_plate` (Frigate 0.16+), unless Frigate read that
  plate itself (nor a sub label that would only repeat Frigate's read).

Each event is written once per new result. Failures are logged and counted
(`frigate_write_back_errors`); they never hold up a read.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict

from bridge.config import FrigateWriteBackConfig
from bridge.events import PlateEvent
from bridge.frigate import SUB_LABEL_MAX, FrigateClient, FrigateError
from bridge.metrics import Metrics
from platereader.frigate_policy import FrigatePlates, frigate_holds

from .base import Notice, Read

_LOGGER = logging.getLogger(__name__)
_MAX_WRITTEN = 1000  # events whose last write-back is remembered


def best_plate(read: Read) -> PlateEvent | None:
    """The plate to write back: a watched plate first, then the best score."""
    plates = [event for event in read.plates + read.repeats if event.plate]
    if not plates:
        return None
    return max(plates, key=lambda event: (event.watchlist is not None, event.score or 0.0))


def sub_label_for(settings: FrigateWriteBackConfig, event: PlateEvent) -> str | None:
    """The sub label to write for a plate (`write_back.sub_label`), or None."""
    mode = settings.sub_label
    plate = (event.plate or "").upper()
    if mode == "off" or not plate:
        return None
    if mode == "plate":
        return plate[:SUB_LABEL_MAX]
    if event.watchlist is not None:
        return event.watchlist.name[:SUB_LABEL_MAX]
    return None if mode == "name" else plate[:SUB_LABEL_MAX]


class FrigateWriteBack:
    """`plates`: Frigate's own reads, as the Frigate source knows them (never written back)."""

    def __init__(
        self,
        settings: FrigateWriteBackConfig,
        client: FrigateClient,
        plates: FrigatePlates,
        metrics: Metrics,
    ) -> None:
        self.settings = settings
        self.client = client
        self.plates = plates
        self._metrics = metrics
        self._written: OrderedDict[str, tuple[str, str]] = OrderedDict()  # event -> labels
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        return None

    def handle(self, notice: Notice) -> None:
        if not isinstance(notice, Read) or notice.context.source != "frigate":
            return
        event_id = notice.context.source_event_id
        best = best_plate(notice)
        if event_id is None or best is None or (best.score or 0.0) < self.settings.min_score:
            return
        label = sub_label_for(self.settings, best)
        plate = (best.plate or "").upper()
        # Nothing Frigate holds already: its own read, or a sub label that only repeats it.
        held = self.plates.get(event_id)
        holds = frigate_holds(plate, held)
        if holds and label is not None and frigate_holds(label, held):
            label = None
        send_plate = self.settings.recognized_license_plate and not holds
        if label is None and not send_plate:
            return
        if self._written.get(event_id) == (label or "", plate):
            return  # a later attempt of the same event found the same: nothing new
        self._written[event_id] = (label or "", plate)
        self._written.move_to_end(event_id)
        while len(self._written) > _MAX_WRITTEN:
            self._written.popitem(last=False)
        task = asyncio.create_task(
            self._send(event_id, label, plate if send_plate else None, best.score),
            name=f"frigate-write-back-{event_id}",
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(
        self, event_id: str, label: str | None, plate: str | None, score: float | None
    ) -> None:
        try:
            if label is not None:
                await self.client.set_sub_label(event_id, label, score)
                self._metrics.inc("frigate_sub_labels")
            if plate is not None and await self.client.supports_recognized_license_plate():
                await self.client.set_recognized_license_plate(event_id, plate, score)
                self._metrics.inc("frigate_plates_set")
        except FrigateError as err:
            self._metrics.inc("frigate_write_back_errors")
            _LOGGER.warning("Frigate write-back for event %s failed: %s", event_id, err)
        except Exception:
            self._metrics.inc("frigate_write_back_errors")
            _LOGGER.exception("Frigate write-back for event %s failed", event_id)

    async def stop(self, within: float = 5.0) -> None:
        """Let the write-backs in flight finish (up to `within` seconds)."""
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=within)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
