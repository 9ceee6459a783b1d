"""Frigate: `<prefix>/events` messages in, snapshots fetched from Frigate's HTTP API.

What to do about each message is the shared core's one Frigate event policy
(`platereader.frigate_flow.FrigateEventPolicy`, also used by the Home
Assistant integration): filter the event, use Frigate's own plate read (0.16+
LPR: `recognized_license_plate` in events, `lpr` messages on
`<prefix>/tracked_object_update`) when it is enough, else look the snapshot up
when it is better than the last one read (`EventTracker`: stop after a good
plate, attempt budget, parked cars), holding a car's first lookup for
`lpr.wait` seconds while Frigate may still read the plate. This module carries
the answers out: a job names the event's snapshot (`FrigateSnapshotRequest`),
which the pipeline fetches through the Frigate client when a reader starts on
the job, so a job that waited in the queue reads Frigate's best snapshot as of
then (updates for an event whose read is pending are coalesced into it). The
source learns how its jobs ended as any output does: its sink (`_Outcomes`)
takes the `JobDone` of its events (pending reads, the tracker's record, events
forgotten after their `end`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from bridge.config import FrigateConfig
from bridge.events import FrigateContext, ReadContext, SnapshotRef, SourceExtra
from bridge.frigate import (
    EventTracker,
    FrigateClient,
    FrigateError,
    FrigateEvent,
    FrigateEventError,
    FrigateFilter,
    parse_event,
)
from bridge.jobs import FrigateSnapshotRequest, Job, JobDone, Outcome
from bridge.metrics import Metrics
from bridge.mqtt import InMessage, MqttLink
from bridge.pipeline import Pipeline
from bridge.sinks.base import Notice
from platereader.frigate_flow import (
    FILTERED,
    PUBLISHED,
    FrigateEventPolicy,
    Judgement,
    LookupFacts,
    Step,
)
from platereader.frigate_policy import (
    FrigatePayloadError,
    FrigatePlate,
    FrigatePlates,
    Reason,
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


def frigate_client(config: FrigateConfig, session: httpx.AsyncClient) -> FrigateClient:
    """The client for Frigate's HTTP API: snapshots (the pipeline's fetcher), its
    config (which cameras it reads plates on) and the write-back."""
    return FrigateClient(
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


class FrigateSource:
    def __init__(
        self,
        config: FrigateConfig,
        pipeline: Pipeline,
        link: MqttLink,
        client: FrigateClient,
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
        self.client = client
        self._ended: set[str] = set()
        # Frigate's own plate reads (0.16+ LPR).
        self.lpr = config.lpr.options()
        self.lpr_topic = f"{config.topic_prefix}/tracked_object_update"
        self.plates = FrigatePlates()
        self.policy = FrigateEventPolicy(
            self.filter, self.tracker, self.lpr, self._facts, plates=self.plates, max_held=_MAX_HELD
        )
        self.lpr_checked = asyncio.Event()  # Frigate's config was asked which cameras read plates
        self._learn_task: asyncio.Task[None] | None = None
        self._held: dict[str, _Held] = {}
        self._pending: dict[str, int] = {}  # event -> jobs submitted and not yet done
        self._latest: OrderedDict[str, FrigateEvent] = OrderedDict()  # accepted events
        pipeline.sinks.append(_Outcomes(self))

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
        judgement = self.policy.on_event(event)
        if judgement.reason == FILTERED:
            self._metrics.inc("frigate_filtered")
            _LOGGER.debug("frigate event %s ignored: %s", event.id, judgement.detail)
            if event.type == "end":
                self._finish_event(event.id)
                self._release(event.id)
            return
        if self.lpr.enabled:
            self._latest[event.id] = event
            self._latest.move_to_end(event.id)
            while len(self._latest) > _MAX_LATEST:
                self._latest.popitem(last=False)
        step = judgement.step
        if step in (Step.LOOKUP, Step.HOLD, Step.IGNORE) and judgement.reason != PUBLISHED:
            self._metrics.inc(f"frigate_{judgement.reason}")  # the tracker's decision
        if step is Step.PUBLISH:
            self._publish_frigate_read(event, judgement, message.received)
        elif step is Step.RELEASE:
            self._release(event.id)
        elif step is Step.IGNORE:
            if event.type == "end" and judgement.reason != PUBLISHED:
                self._finish_event(event.id)
                self._release(event.id)  # if held: the car is gone, Frigate reads no more
                return
        else:
            if event.type == "end":
                self._ended.add(event.id)
            job = self._job(event, message.received, judgement.attempt)
            if step is Step.HOLD:
                self._hold(event.id, job)
                return
            if judgement.lpr is not None:
                self._metrics.inc(f"frigate_lpr_{judgement.lpr.value}")
            self._submit(job)
            return
        if event.type == "end":
            self._finish_event(event.id)

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
        # Acted on only for an event that passed the filter; otherwise its next message will.
        judgement = self.policy.on_plate(plate)
        event = self._latest.get(plate.event_id)
        if judgement is None or event is None:
            return
        if judgement.step is Step.PUBLISH:
            self._publish_frigate_read(event, judgement, message.received)
        elif judgement.step is Step.RELEASE:
            self._release(plate.event_id)

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

    def _facts(self, camera: str, plate: FrigatePlate | None) -> LookupFacts:
        rules = self._pipeline.rules(camera)
        watched = (
            self.lpr.confirm_watched
            and plate is not None
            and self._pipeline.watchlist.match(plate.result()) is not None
        )
        return LookupFacts(
            mmc=bool(rules.mmc), zones=bool(rules.zones or rules.ignore_zones), watched=watched
        )

    def _publish_frigate_read(
        self, event: FrigateEvent, judgement: Judgement, received: float
    ) -> None:
        """Frigate's read is enough: publish it (with Frigate's snapshot), no lookup."""
        held = self._held.pop(event.id, None)
        if held is not None:
            held.timer.cancel()  # the lookup held for this car is not needed
        self._metrics.inc(f"frigate_lpr_{Reason.FRIGATE_READ.value}")
        self._submit(self._job(event, received, 0, judgement.plate))

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
        judgement = self.policy.wait_over(event_id)
        event = self._latest.get(event_id)
        if judgement is not None and judgement.step is Step.PUBLISH and event is not None:
            # Frigate's read came after all (settled: the held lookup is dropped).
            self._publish_frigate_read(event, judgement, time.perf_counter())
            return
        if judgement is not None and judgement.step is Step.IGNORE:
            return  # Frigate's read was published already
        if judgement is not None and judgement.lpr is not None:
            self._metrics.inc(f"frigate_lpr_{judgement.lpr.value}")
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

    def done(self, event_id: str, outcome: Outcome) -> None:
        """A job of the event is over (read, failed, skipped or dropped)."""
        left = self._pending.pop(event_id, 1) - 1
        if left > 0:
            self._pending[event_id] = left
        self.policy.record(event_id, outcome.best_score)
        if event_id in self._ended and left <= 0 and event_id not in self._held:
            self._end(event_id)

    def _end(self, event_id: str) -> None:
        self._ended.discard(event_id)
        self.policy.end(event_id)
        self._latest.pop(event_id, None)

    def _job(
        self, event: FrigateEvent, received: float, attempt: int, plate: FrigatePlate | None = None
    ) -> Job:
        moment = event.snapshot_frame_time or event.frame_time or event.start_time
        frigate = FrigateContext(
            label=event.label,
            top_score=event.top_score,
            sub_label=event.sub_label,
            recognized_license_plate=(
                plate.plate if plate is not None else event.recognized_license_plate
            ),
            recognized_license_plate_score=(
                plate.score if plate is not None else event.recognized_license_plate_score
            ),
            current_zones=list(event.current_zones),
            entered_zones=list(event.entered_zones),
            attempt=attempt,
        )
        context = ReadContext(
            camera=event.camera,
            source="frigate",
            source_event_id=event.id,
            time=datetime.fromtimestamp(moment, UTC) if moment else datetime.now(UTC),
            snapshot=SnapshotRef(
                kind="frigate", url=f"{self.client.base_url}/api/events/{event.id}/snapshot.jpg"
            ),
            label=event.label,
            extra=SourceExtra(frigate=frigate),
        )
        return Job(
            camera=event.camera,
            key=f"frigate:{event.id}",
            context=context,
            picture=FrigateSnapshotRequest(event.id, event.camera),
            received=received,
            plates=None if plate is None else (plate.result(),),
        )

    async def stop(self) -> None:
        """Drop the lookups still held; stop asking Frigate's config (the write-back of
        plates is a sink: `bridge.sinks.frigate`)."""
        for held in self._held.values():
            held.timer.cancel()
        self._held.clear()
        self.policy.drop_held()
        if self._learn_task is not None:
            self._learn_task.cancel()
            await asyncio.gather(self._learn_task, return_exceptions=True)


class _Outcomes:
    """The Frigate source's sink: how the jobs of its events ended."""

    def __init__(self, source: FrigateSource) -> None:
        self._source = source

    async def start(self) -> None:
        return None

    def handle(self, notice: Notice) -> None:
        if not isinstance(notice, JobDone):
            return
        context = notice.job.context
        if context.source == "frigate" and context.source_event_id is not None:
            self._source.done(context.source_event_id, notice.outcome)

    async def stop(self) -> None:
        return None
