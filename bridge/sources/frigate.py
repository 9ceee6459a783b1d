"""Frigate: `<prefix>/events` messages in, snapshots fetched from Frigate's HTTP API.

Filtering (cameras, labels, zones, score, area) is `FrigateFilter`'s job and
the per-event decision (first snapshot, better snapshot, stop after a good
plate, attempt budget, stationary vehicles) is `EventTracker`'s; this module
wires both to the pipeline. The snapshot is fetched when a reader starts on
the job, so a job that waited in the queue reads Frigate's best snapshot as
of then: updates for an event whose read is pending are coalesced into it.

Frigate 0.16+ reads plates itself (`recognized_license_plate` in events, `lpr`
messages on `<prefix>/tracked_object_update`). What to do with such a read is
the shared core's decision (`platereader.frigate_policy.decide`): publish it
as it is (no lookup), hold the lookup for `lpr.wait` seconds while Frigate may
still read the plate, or look up now (MMC, zones, a watched plate to confirm).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
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
from platereader.frigate_policy import (
    Action,
    FrigatePayloadError,
    FrigatePlate,
    FrigatePlates,
    LprDecision,
    Reason,
    decide,
    frigate_holds,
    parse_lpr_update,
)

_LOGGER = logging.getLogger(__name__)

_MAX_HELD = 256  # lookups held back at once; beyond, a lookup goes ahead at once
_MAX_LATEST = 1024  # events whose last message is kept for a read that comes later


@dataclass(slots=True)
class _Held:
    """A lookup held back while Frigate may still read the plate itself."""

    job: Job
    timer: asyncio.TimerHandle


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
        # Frigate's own plate reads (0.16+ LPR).
        self.lpr = config.lpr.options()
        self.lpr_topic = f"{config.topic_prefix}/tracked_object_update"
        self.plates = FrigatePlates()
        self.lpr_checked = asyncio.Event()  # Frigate's config was asked which cameras read plates
        self._learn_task: asyncio.Task[None] | None = None
        self._held: dict[str, _Held] = {}
        self._pending: dict[str, int] = {}  # event -> jobs submitted and not yet done
        self._latest: OrderedDict[str, FrigateEvent] = OrderedDict()  # accepted events

    def start(self) -> None:
        self._link.subscribe(self.topic, self.on_message, shared=True)
        if self.lpr.enabled:
            self._link.subscribe(self.lpr_topic, self.on_lpr_message, shared=True)
        if self.lpr.mode == "auto":
            self._learn_task = asyncio.create_task(self._learn_lpr_cameras(), name="frigate-lpr")
        else:
            self.lpr_checked.set()

    def on_message(self, message: InMessage) -> None:
        try:
            event = parse_event(message.payload)
        except FrigateEventError as err:
            self._metrics.inc("frigate_malformed")
            self._pipeline.error(
                "payload",
                f"{message.topic}: {err}",
                camera=err.camera,
                source="frigate",
                source_event_id=err.event_id,
            )
            return
        reason = self.filter.reason(event)
        if reason is not None:
            self._metrics.inc("frigate_filtered")
            _LOGGER.debug("frigate event %s ignored: %s", event.id, reason)
            if event.type == "end":
                self._finish_event(event.id)
                self._release(event.id)
            return
        if self.lpr.enabled:
            plate = event.frigate_plate
            if plate is not None:
                self.plates.add(plate)
            self._latest[event.id] = event
            self._latest.move_to_end(event.id)
            while len(self._latest) > _MAX_LATEST:
                self._latest.popitem(last=False)
            if self._use_frigate_read(event.id, message.received):
                if event.type == "end":
                    self._finish_event(event.id)
                return
        decision = self.tracker.decide(event)
        self._metrics.inc(f"frigate_{decision.reason.value}")
        if not decision:
            if event.type == "end":
                self._finish_event(event.id)
                self._release(event.id)  # if held: the car is gone, Frigate reads no more
            return
        if event.type == "end":
            self._ended.add(event.id)
        job = self._job(event, message.received, decision.attempt)
        if self.lpr.enabled:
            verdict = self._verdict(event.id, event.camera, waited=event.type == "end")
            if verdict.action is Action.WAIT and len(self._held) < _MAX_HELD:
                self._hold(event.id, job)
                return
            self._metrics.inc(f"frigate_lpr_{verdict.reason.value}")
        self._submit(job)

    # -- Frigate's own plate reads -----------------------------------------------------------

    def on_lpr_message(self, message: InMessage) -> None:
        """`<prefix>/tracked_object_update`: Frigate read a plate (`type: lpr`)."""
        try:
            plate = parse_lpr_update(message.payload)
        except FrigatePayloadError as err:
            self._metrics.inc("frigate_malformed")
            self._pipeline.error("payload", f"{message.topic}: {err}", source="frigate")
            return
        if plate is None or (self.filter.cameras and plate.camera not in self.filter.cameras):
            return  # another kind of update (description, face ...), or not our camera
        self._metrics.inc("frigate_lpr_updates")
        self.plates.add(plate)
        # Acted on only for an event that passed the filter; otherwise its next message will.
        if plate.event_id in self._latest:
            self._use_frigate_read(plate.event_id, message.received)

    async def _learn_lpr_cameras(self) -> None:
        """Ask Frigate's config which cameras it reads plates on (0.16+), once."""
        try:
            cameras = await self.client.lpr_cameras()
        except FrigateError as err:
            _LOGGER.info(
                "Frigate's config not read (%s): lookups wait for Frigate's plate reads "
                "only on cameras it has sent one for",
                err,
            )
        else:
            for camera in cameras:
                self.plates.learn(camera)
            if cameras:
                _LOGGER.info("Frigate reads plates itself on: %s", ", ".join(sorted(cameras)))
        finally:
            self.lpr_checked.set()

    def _verdict(self, event_id: str, camera: str, *, waited: bool) -> LprDecision:
        plate = self.plates.get(event_id)
        rules = self._pipeline.rules(camera)
        watched = (
            self.lpr.confirm_watched
            and plate is not None
            and self._pipeline.watchlist.match(plate.result()) is not None
        )
        return decide(
            plate,
            self.lpr,
            reads_plates=self.plates.reads_plates(camera),
            mmc=bool(rules.mmc),
            zones=bool(rules.zones or rules.ignore_zones),
            watched=watched,
            waited=waited,
        )

    def _use_frigate_read(self, event_id: str, received: float) -> bool:
        """Publish Frigate's read of the event if it is enough; True if the event needs
        nothing more from this message (read by Frigate, or a confirming lookup released)."""
        if self.plates.published(event_id):
            return True
        plate = self.plates.get(event_id)
        event = self._latest.get(event_id)
        if plate is None or event is None or self.tracker.settled(event_id):
            return False  # no read of Frigate's, or a lookup already found the plate
        verdict = self._verdict(event_id, event.camera, waited=False)
        if verdict.reason is Reason.CONFIRM_WATCHED and event_id in self._held:
            self._release(event_id)  # a watched plate to confirm: look up now
            return True
        if verdict.action is not Action.PUBLISH:
            return False
        held = self._held.pop(event_id, None)
        if held is not None:
            held.timer.cancel()  # the lookup held for this car is not needed
        self.tracker.settle(event_id)
        self.plates.mark_published(event_id)
        self._metrics.inc(f"frigate_lpr_{verdict.reason.value}")
        self._submit(self._job(event, received, 0, plate))
        return True

    def _hold(self, event_id: str, job: Job) -> None:
        timer = asyncio.get_running_loop().call_later(self.lpr.wait, self._release, event_id)
        self._held[event_id] = _Held(job, timer)
        self._metrics.inc(f"frigate_lpr_{Reason.WAITING.value}")

    def _release(self, event_id: str) -> None:
        """The wait is over (or the car is gone): the held lookup goes ahead."""
        held = self._held.pop(event_id, None)
        if held is None:
            return
        held.timer.cancel()
        verdict = self._verdict(event_id, held.job.camera, waited=True)
        if verdict.action is Action.PUBLISH and self._use_frigate_read(
            event_id, time.perf_counter()
        ):
            return  # Frigate's read came after all (settled: the held lookup is dropped)
        self._metrics.inc(f"frigate_lpr_{verdict.reason.value}")
        held.job.received = time.perf_counter()  # the wait is not the bridge's overhead
        self._submit(held.job)

    def release_held(self) -> None:
        """Before shutdown: the lookups held back go ahead now rather than being lost."""
        for event_id in list(self._held):
            self._release(event_id)

    def _submit(self, job: Job) -> None:
        event_id = job.context.source_event_id or ""
        if self._pipeline.rules(job.camera).config.enabled:  # else it is never done
            self._pending[event_id] = self._pending.get(event_id, 0) + 1
        self._pipeline.submit(job)

    def _finish_event(self, event_id: str) -> None:
        """After its `end`: forget the event now, or once its pending read is done."""
        if event_id in self._pending or event_id in self._held:
            self._ended.add(event_id)
        else:
            self._end(event_id)

    def _end(self, event_id: str) -> None:
        self._ended.discard(event_id)
        self.tracker.end(event_id)
        self.plates.forget(event_id)
        self._latest.pop(event_id, None)

    def _job(
        self, event: FrigateEvent, received: float, attempt: int, plate: FrigatePlate | None = None
    ) -> Job:
        moment = event.snapshot_frame_time or event.frame_time or event.start_time
        extra: dict[str, Any] = {
            "frigate": {
                "label": event.label,
                "top_score": event.top_score,
                "sub_label": list(event.sub_label) if event.sub_label else None,
                "recognized_license_plate": (
                    plate.plate if plate is not None else event.recognized_license_plate
                ),
                "recognized_license_plate_score": (
                    plate.score if plate is not None else event.recognized_license_plate_score
                ),
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
            left = self._pending.pop(event.id, 1) - 1
            if left > 0:
                self._pending[event.id] = left
            self.tracker.record(event.id, outcome.best_score)
            if outcome.status == "read" and outcome.best_plate:
                self._write_back(event.id, outcome)
            if event.id in self._ended and left <= 0 and event.id not in self._held:
                self._end(event.id)

        return Job(
            camera=event.camera,
            key=f"frigate:{event.id}",
            context=context,
            fetch=fetch,
            received=received,
            on_done=done,
            plates=None if plate is None else (plate.result(),),
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
        # Nothing Frigate holds already: its own read, or a sub label that only repeats it.
        held = self.plates.get(event_id)
        holds = frigate_holds(plate, held)
        if holds and label is not None and frigate_holds(label, held):
            label = None
        send_plate = settings.recognized_license_plate and not holds
        if label is None and not send_plate:
            return
        if self._written.get(event_id) == (label or "", plate):
            return  # a later attempt of the same event found the same: nothing new
        self._written[event_id] = (label or "", plate)
        self._written.move_to_end(event_id)
        while len(self._written) > 1000:
            self._written.popitem(last=False)
        task = asyncio.create_task(
            self._send_write_back(
                event_id, label, plate if send_plate else None, outcome.best_plate_score
            ),
            name=f"frigate-write-back-{event_id}",
        )
        self._write_tasks.add(task)
        task.add_done_callback(self._write_tasks.discard)

    async def _send_write_back(
        self, event_id: str, label: str | None, plate: str | None, score: float | None
    ) -> None:
        """Failures are logged and counted; they never hold up a read."""
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
        for held in self._held.values():
            held.timer.cancel()
        self._held.clear()
        if self._learn_task is not None:
            self._learn_task.cancel()
            await asyncio.gather(self._learn_task, return_exceptions=True)
        if self._write_tasks:
            _, pending = await asyncio.wait(set(self._write_tasks), timeout=within)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
