"""From a picture to published plate events.

Sources put `Job`s (data only: `bridge.jobs`) into the bounded `CameraQueue`;
`api.concurrency` worker tasks take them round-robin and, for each:

1. ask the `ReadGate` (budget, 403 pause) whether a lookup may be spent;
2. fetch the picture through the `PictureFetcher` given for its kind (Frigate's
   HTTP API, a URL, a file), unless it came with the message;
3. read it through the one shared `PlateReader` (one rate limiter for all
   cameras; retries with backoff for 429, 5xx and network errors);
4. keep plates scoring at least the camera's `min_score` whose box centre is in
   the camera's zones and in none of its ignore zones;
5. suppress the same plate on the same camera within the cool-down;
6. match the watch list, build the typed events and hand them, with the
   picture, to every sink as one `Read` (`bridge.sinks.base`).

Failures become `ErrorEvent`s for the sinks; the service goes on. Every job
ends with a `JobDone` for the sinks (read, failed, skipped or dropped): that is
how a source learns what became of its jobs. The pipeline knows no sink and no
source by name: the service builds them and passes them (and the fetchers) in.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Unpack

from platereader import (
    PlateReader,
    PlateReaderAuthenticationError,
    PlateReaderBadRequestError,
    PlateReaderConfigError,
    PlateReaderConnectionError,
    PlateReaderError,
    PlateReaderForbiddenError,
    PlateReaderImageError,
    PlateReaderNoCreditsError,
    PlateReaderRateLimitError,
    PlateReaderResponseError,
    PlateReaderServerError,
    PlateResult,
    ReadResponse,
)
from platereader.frigate_policy import READ_BY_FRIGATE, ReadBy, lookup_read_by
from platereader.watchlist import WatchList

from .budget import ReadGate
from .config import BridgeConfig, CameraConfig, ZoneConfig
from .dedupe import Deduper
from .events import (
    EVENT_DETECTED,
    EVENT_UNKNOWN,
    EVENT_WATCHED,
    ErrorKind,
    ErrorWhere,
    PlateEvent,
    ReadContext,
    error_event,
    plate_event,
)
from .jobs import (
    Job,
    JobDone,
    Outcome,
    PictureBytes,
    PictureFetcher,
    PictureKind,
    SnapshotError,
)
from .metrics import Metrics
from .queue import CameraQueue
from .sinks.base import AnnotatedPicture, CameraSeen, Notice, Read, Sink
from .zones import Polygon, in_zones

_LOGGER = logging.getLogger(__name__)

__all__ = ["Job", "KeepAs", "Outcome", "Pipeline", "SnapshotError"]

# Names the picture's saved copy before the events are built, so they can point to it.
KeepAs = Callable[[ReadContext], str]
Fetchers = Mapping[PictureKind, PictureFetcher[Any]]


@dataclass(frozen=True, slots=True)
class CameraRules:
    """A camera's settings, compiled once."""

    config: CameraConfig
    zones: tuple[Polygon, ...]
    ignore_zones: tuple[Polygon, ...]
    regions: tuple[str, ...]
    mmc: bool | None
    engine_config: dict[str, Any] | None
    cooldown: float


def _polygons(zones: list[ZoneConfig]) -> tuple[Polygon, ...]:
    return tuple(Polygon(zone.points) for zone in zones)


class Pipeline:
    def __init__(
        self,
        config: BridgeConfig,
        reader: PlateReader,
        metrics: Metrics,
        *,
        sinks: Sequence[Sink] = (),
        keep_as: KeepAs | None = None,
        gate: ReadGate | None = None,
        fetchers: Fetchers | None = None,
    ) -> None:
        self.config = config
        self.reader = reader
        self.metrics = metrics
        self.sinks: list[Sink] = list(sinks)  # the service may add one before start()
        self._keep_as = keep_as
        self._fetchers: Fetchers = dict(fetchers or {})
        self.watchlist = WatchList(entry.to_entry() for entry in config.watchlist)
        self.gate = gate or ReadGate(
            reader,
            cloud=config.api.is_cloud,
            monthly_budget=config.api.monthly_budget,
            reserve=config.api.budget_reserve,
            check_interval=config.api.budget_check_interval,
            forbidden_pause=config.api.forbidden_pause,
            on_change=self._gate_changed,
        )
        self.deduper = Deduper()
        self._read_by = lookup_read_by(config.api.is_cloud)
        self.queue: CameraQueue[Job] = CameraQueue(
            config.pipeline.queue_per_camera,
            config.pipeline.queue_max,
            metrics,
            on_drop=self._dropped,
        )
        self._rules: dict[str, CameraRules] = {}
        self._workers: list[asyncio.Task[None]] = []
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._cameras_seen: set[str] = set()
        metrics.gauges["in_flight"] = lambda: self._in_flight
        metrics.gauges["reads_paused"] = lambda: self.gate.paused

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        await self.gate.start()
        for index in range(self.config.api.concurrency):
            self._workers.append(asyncio.create_task(self._work(), name=f"reader-{index}"))

    def submit(self, job: Job) -> None:
        rules = self.rules(job.camera)
        if not rules.config.enabled:
            self.metrics.inc("skipped_camera_disabled")
            return
        self.metrics.inc("received")
        if job.camera not in self._cameras_seen:
            self._cameras_seen.add(job.camera)
            self._emit(CameraSeen(job.camera))
        self._idle.clear()
        self.queue.put(job)

    async def drain(self, within: float) -> bool:
        """Wait until nothing is queued or being read; False after `timeout`."""
        deadline = time.monotonic() + within
        while len(self.queue) or self._in_flight:
            self._idle.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(self._idle.wait(), remaining)
            except TimeoutError:
                return False
        return True

    async def stop(self, within: float) -> None:
        """Finish the reads queued and in flight (up to `timeout`), then stop the workers."""
        drained = await self.drain(within)
        if not drained:
            left = self.queue.drain()
            _LOGGER.warning(
                "shutdown: %d reads in flight and %d queued did not finish in %g s",
                self._in_flight,
                len(left),
                within,
            )
            for job in left:
                self._dropped(job, "dropped_shutdown")
                self.metrics.inc("dropped_shutdown")
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers.clear()
        await self.gate.stop()

    # -- the work ------------------------------------------------------------------------------

    def rules(self, camera: str) -> CameraRules:
        rules = self._rules.get(camera)
        if rules is None:
            config = self.config.camera(camera)
            api = self.config.api
            rules = self._rules[camera] = CameraRules(
                config=config,
                zones=_polygons(config.zones),
                ignore_zones=_polygons(config.ignore_zones),
                regions=config.regions if config.regions is not None else api.regions,
                mmc=config.mmc if config.mmc is not None else api.mmc,
                engine_config=(
                    config.engine_config if config.engine_config is not None else api.engine_config
                ),
                cooldown=(
                    config.cooldown
                    if config.cooldown is not None
                    else self.config.pipeline.cooldown
                ),
            )
        return rules

    async def _work(self) -> None:
        while True:
            job = await self.queue.get()
            self._in_flight += 1
            try:
                try:
                    outcome = await self._process(job)
                except asyncio.CancelledError:
                    raise
                except Exception as err:  # a bug must not stop the worker
                    _LOGGER.exception("unexpected error reading %s", job.context.source_event_id)
                    self._error(job, "internal", f"unexpected error: {type(err).__name__}")
                    outcome = Outcome("error", error_kind="internal")
                self._emit(JobDone(job, outcome))
            finally:
                self._in_flight -= 1
            if not len(self.queue) and not self._in_flight:
                self._idle.set()

    async def _process(self, job: Job) -> Outcome:
        context = job.context
        paused = self.gate.blocked() if job.plates is None else None
        if paused is not None:
            self.metrics.inc(f"skipped_{paused}")
            return Outcome("skipped", error_kind=paused, retryable=True)

        fetch_started = time.perf_counter()
        self.metrics.queue_wait.add(fetch_started - job.received)
        try:
            image = await self._fetch(job)
        except SnapshotError as err:
            self.metrics.inc("snapshot_errors")
            if job.plates is None:
                self._error(job, "snapshot", str(err), retryable=err.retryable)
                return Outcome("error", error_kind="snapshot", retryable=err.retryable)
            # The plate is read already: publish it without a picture.
            _LOGGER.warning("%s: no snapshot for Frigate's read: %s", context.camera, err)
            image = b""
        fetched = time.perf_counter()

        rules = self.rules(context.camera)
        if job.plates is not None:
            response = ReadResponse(results=job.plates)
            read_by: ReadBy = READ_BY_FRIGATE
            api_done = fetched
            self.metrics.inc("frigate_reads_published")
        else:
            read_by = self._read_by
            self.gate.spend()
            self.metrics.inc("lookups")
            try:
                response = await self.reader.read(
                    image,
                    regions=rules.regions,
                    camera_id=context.camera,
                    timestamp=context.time,
                    mmc=rules.mmc,
                    config=rules.engine_config,
                )
            except PlateReaderError as err:
                return self._api_error(job, err)
            finally:
                api_done = time.perf_counter()
                self.metrics.api_time.add(api_done - fetched)
        read_time = datetime.now(UTC)

        kept = self._keep(context.camera, rules, response)
        if self._keep_as is not None and image:
            context.snapshot = context.snapshot.model_copy(update={"saved": self._keep_as(context)})
        events: list[PlateEvent] = []
        repeats: list[PlateEvent] = []
        for result in kept:
            match = self.watchlist.match(result)
            if match is not None:
                event_type = EVENT_WATCHED
            else:
                event_type = EVENT_UNKNOWN if self.watchlist else EVENT_DETECTED
            event = plate_event(
                context, result, match, read_time=read_time, event_type=event_type, read_by=read_by
            )
            if self.deduper.seen(context.camera, result, rules.cooldown):
                self.metrics.inc("duplicates_suppressed")
                repeats.append(event)
                continue
            if match is not None:
                self.metrics.inc("watchlist_matches")
            events.append(event)
        if not response.plates and self.config.pipeline.publish_no_plate:
            no_plate = PlateResult(plate=None)
            events.append(
                plate_event(context, no_plate, None, read_time=read_time, read_by=read_by)
            )
        picture = AnnotatedPicture(image, response.results) if image else None
        self._emit(Read(context, tuple(events), tuple(repeats), picture))
        published = tuple(event.plate or "" for event in events if event.plate is not None)
        if published:
            self.metrics.inc("plates_published", len(published))
        done = time.perf_counter()
        # Bridge overhead: everything but waiting for the picture and for the API.
        overhead = (done - job.received) - (api_done - fetch_started)
        self.metrics.overhead.add(overhead)
        self.metrics.processing.add(overhead - (fetch_started - job.received))
        if not response.plates:
            self.metrics.inc("reads_without_plate")
        return Outcome(
            "read" if response.plates else "no_plate",
            best_score=max((r.score or 0.0 for r in response.plates), default=None),
            plates=published,
        )

    async def _fetch(self, job: Job) -> bytes:
        picture = job.picture
        if isinstance(picture, PictureBytes):
            return picture.data
        fetcher = self._fetchers.get(picture.kind)
        if fetcher is None:  # a wiring mistake, not the picture's fault: said plainly
            raise SnapshotError(f"no fetcher for {picture.kind} pictures", retryable=False)
        return await fetcher.fetch(picture)

    def _keep(self, camera: str, rules: CameraRules, response: ReadResponse) -> list[PlateResult]:
        kept = []
        for result in response.plates:
            if (result.score or 0.0) < rules.config.min_score:
                self.metrics.inc("below_min_score")
                continue
            box = result.box if result.box is not None and not result.box.is_empty else None
            if box is None and result.vehicle is not None and result.vehicle.detected:
                box = result.vehicle.box
            if (
                (rules.zones or rules.ignore_zones)
                and box is not None
                and not in_zones(box.center, rules.zones, rules.ignore_zones)
            ):
                self.metrics.inc("outside_zones")
                _LOGGER.debug("%s: %s outside the zones: discarded", camera, result.plate)
                continue
            kept.append(result)
        return kept

    # -- errors ---------------------------------------------------------------------------------

    def _api_error(self, job: Job, err: PlateReaderError) -> Outcome:
        message = str(err)
        retryable = False
        pause: Callable[[str], None] | None = None
        kind: ErrorKind
        if isinstance(err, PlateReaderImageError):
            kind = "image"
            self.metrics.inc("image_errors")
        elif isinstance(err, PlateReaderNoCreditsError):
            kind, pause = "no_credits", self.gate.no_credits
        elif isinstance(err, PlateReaderAuthenticationError | PlateReaderForbiddenError):
            kind, pause = "forbidden", self.gate.forbidden
        elif isinstance(err, PlateReaderRateLimitError):
            kind, retryable = "rate_limited", True
        elif isinstance(err, PlateReaderConnectionError | PlateReaderServerError):
            kind, retryable = "api_unavailable", True
        elif isinstance(err, PlateReaderResponseError | PlateReaderBadRequestError):
            kind = "api_error"
        elif isinstance(err, PlateReaderConfigError):
            kind = "config"
        else:
            kind = "api_error"
        if kind != "image":
            self.metrics.inc("api_errors")
        self._error(job, kind, message, retryable=retryable)
        if pause is not None:
            pause(message)  # announced as its own error event
        return Outcome("error", error_kind=kind, retryable=retryable)

    def _error(self, job: Job, kind: ErrorKind, message: str, *, retryable: bool = False) -> None:
        context = job.context
        _LOGGER.warning(
            "%s %s on %s: %s", kind, context.source_event_id or "", context.camera, message
        )
        self.error(
            kind,
            message,
            camera=context.camera,
            source=context.source,
            source_event_id=context.source_event_id,
            retryable=retryable,
        )

    def error(self, kind: ErrorKind, message: str, **where: Unpack[ErrorWhere]) -> None:
        """Hand an error event to the sinks (MQTT: `<base>/errors`)."""
        self.metrics.inc("errors_published")
        self._emit(error_event(kind, message, **where))

    def _emit(self, notice: Notice) -> None:
        for sink in self.sinks:
            try:
                sink.handle(notice)
            except Exception:  # one broken output must not cost the others the read
                _LOGGER.exception("%s failed on %s", type(sink).__name__, type(notice).__name__)

    def _gate_changed(self, paused: str | None, message: str) -> None:
        kind: ErrorKind = "resumed"
        if paused is not None:
            kind = "budget" if paused == "budget" else "forbidden"
        self.error(kind, message, retryable=paused is not None)

    def _dropped(self, job: Job, reason: str) -> None:
        # Dropped at shutdown: the source may keep it for the next run.
        outcome = Outcome("dropped", error_kind=reason, retryable=reason == "dropped_shutdown")
        self._emit(JobDone(job, outcome))
