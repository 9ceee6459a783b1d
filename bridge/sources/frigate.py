"""Frigate: `<prefix>/events` messages in, snapshots fetched from Frigate's HTTP API.

Filtering (cameras, labels, zones, score, area) is `FrigateFilter`'s job and
the per-event decision (first snapshot, better snapshot, stop after a good
plate, attempt budget, stationary vehicles) is `EventTracker`'s; this module
wires both to the pipeline. The snapshot is fetched when a reader starts on
the job, so a job that waited in the queue reads Frigate's best snapshot as
of then: updates for an event whose read is pending are coalesced into it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

import httpx

from bridge.config import FrigateConfig
from bridge.events import ReadContext, SnapshotRef
from bridge.frigate import (
    SUB_LABEL_MAX,
    EventTracker,
    FrigateClient,
    FrigateError,
    FrigateEvent,
    FrigateEventError,
    FrigateFilter,
    parse_event,
)
from bridge.metrics import Metrics
from bridge.mqtt import InMessage, MqttLink
from bridge.pipeline import Job, Outcome, Pipeline, SnapshotError

_LOGGER = logging.getLogger(__name__)


class FrigateSource:
    def __init__(
        self,
        config: FrigateConfig,
        pipeline: Pipeline,
        link: MqttLink,
        session: httpx.AsyncClient,
        metrics: Metrics,
    ) -> None:
        self.config = config
        self._pipeline = pipeline
        self._link = link
        self._metrics = metrics
        self.topic = f"{config.topic_prefix}/events"
        self.filter = FrigateFilter(
            cameras=frozenset(config.cameras),
            labels=frozenset(config.labels),
            zones=frozenset(config.zones),
            min_score=config.min_score,
            min_area=config.min_area,
        )
        self.tracker = EventTracker(max_attempts=config.max_attempts, stop_score=config.stop_score)
        self.client = FrigateClient(
            config.url,
            session=session,
            version=config.version,
            username=config.username,
            password=config.password.get_secret_value() if config.password else None,
            token=config.token.get_secret_value() if config.token else None,
            quality=config.snapshot.quality,
            height=config.snapshot.height,
            crop=config.snapshot.crop,
        )
        self._ended: set[str] = set()
        self._written: OrderedDict[str, tuple[str, str]] = OrderedDict()  # event -> labels
        self._write_tasks: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._link.subscribe(self.topic, self.on_message, shared=True)

    def on_message(self, message: InMessage) -> None:
        try:
            event = parse_event(message.payload)
        except FrigateEventError as err:
            self._metrics.inc("frigate_malformed")
            self._pipeline.error("payload", f"{message.topic}: {err}", source="frigate")
            return
        reason = self.filter.reason(event)
        if reason is not None:
            self._metrics.inc("frigate_filtered")
            _LOGGER.debug("frigate event %s ignored: %s", event.id, reason)
            if event.type == "end":
                self.tracker.end(event.id)
            return
        decision = self.tracker.decide(event)
        self._metrics.inc(f"frigate_{decision.reason.value}")
        if not decision:
            if event.type == "end":
                if decision.reason.value == "read_in_flight":
                    self._ended.add(event.id)  # forget it once that read is done
                else:
                    self.tracker.end(event.id)
            return
        if event.type == "end":
            self._ended.add(event.id)
        self._pipeline.submit(self._job(event, message, decision.attempt))

    def _job(self, event: FrigateEvent, message: InMessage, attempt: int) -> Job:
        moment = event.snapshot_frame_time or event.frame_time or event.start_time
        extra: dict[str, Any] = {
            "frigate": {
                "label": event.label,
                "top_score": event.top_score,
                "sub_label": list(event.sub_label) if event.sub_label else None,
                "recognized_license_plate": event.recognized_license_plate,
                "recognized_license_plate_score": event.recognized_license_plate_score,
                "current_zones": list(event.current_zones),
                "entered_zones": list(event.entered_zones),
                "attempt": attempt,
            }
        }
        context = ReadContext(
            camera=event.camera,
            source="frigate",
            source_event_id=event.id,
            time=datetime.fromtimestamp(moment, UTC) if moment else datetime.now(UTC),
            snapshot=SnapshotRef(
                kind="frigate", url=f"{self.client.base_url}/api/events/{event.id}/snapshot.jpg"
            ),
            label=event.label,
            extra=extra,
        )

        async def fetch() -> bytes:
            try:
                return await self.client.snapshot(event.id, event.camera)
            except FrigateError as err:
                raise SnapshotError(str(err), retryable=err.status not in (401, 403)) from None

        async def done(outcome: Outcome) -> None:
            self.tracker.record(event.id, outcome.best_score)
            if event.id in self._ended:
                self._ended.discard(event.id)
                self.tracker.end(event.id)
            if outcome.status == "read" and outcome.best_plate:
                self._write_back(event.id, outcome)

        return Job(
            camera=event.camera,
            key=f"frigate:{event.id}",
            context=context,
            fetch=fetch,
            received=message.received,
            on_done=done,
        )

    # -- write-back ------------------------------------------------------------------------

    def sub_label_for(self, outcome: Outcome) -> str | None:
        """The sub label to write for a read (`write_back.sub_label`), or None."""
        mode = self.config.write_back.sub_label
        plate = (outcome.best_plate or "").upper()
        if mode == "off" or not plate:
            return None
        if mode == "plate":
            return plate[:SUB_LABEL_MAX]
        if outcome.watch_name:
            return outcome.watch_name[:SUB_LABEL_MAX]
        return None if mode == "name" else plate[:SUB_LABEL_MAX]

    def _write_back(self, event_id: str, outcome: Outcome) -> None:
        settings = self.config.write_back
        if (outcome.best_plate_score or 0.0) < settings.min_score:
            return
        label = self.sub_label_for(outcome)
        plate = (outcome.best_plate or "").upper()
        if label is None and not settings.recognized_license_plate:
            return
        if self._written.get(event_id) == (label or "", plate):
            return  # a later attempt of the same event found the same: nothing new
        self._written[event_id] = (label or "", plate)
        self._written.move_to_end(event_id)
        while len(self._written) > 1000:
            self._written.popitem(last=False)
        task = asyncio.create_task(
            self._send_write_back(event_id, label, plate, outcome.best_plate_score),
            name=f"frigate-write-back-{event_id}",
        )
        self._write_tasks.add(task)
        task.add_done_callback(self._write_tasks.discard)

    async def _send_write_back(
        self, event_id: str, label: str | None, plate: str, score: float | None
    ) -> None:
        """Failures are logged and counted; they never hold up a read."""
        try:
            if label is not None:
                await self.client.set_sub_label(event_id, label, score)
                self._metrics.inc("frigate_sub_labels")
            if (
                self.config.write_back.recognized_license_plate
                and await self.client.supports_recognized_license_plate()
            ):
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
        if self._write_tasks:
            _, pending = await asyncio.wait(set(self._write_tasks), timeout=within)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
