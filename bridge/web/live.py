"""`WebSink`: what the live page shows, kept in memory, and its server-sent events.

The sink keeps the last reads (a ring), the last error events and the annotated
JPEGs of recent reads (capped by bytes), and fans each new read out to the
connected pages (`Subscriber` queues, bounded: a client that does not keep up is
dropped, never buffered without end).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict, deque
from dataclasses import asdict, dataclass

from bridge.events import ErrorEvent, PlateEvent
from bridge.sinks.base import AnnotatedPicture, Notice, Read

from .html import clip

_LOGGER = logging.getLogger(__name__)

READS_KEPT = 50
ERRORS_KEPT = 20
PICTURE_BYTES = 32 * 1024 * 1024
MAX_SUBSCRIBERS = 32
SUBSCRIBER_QUEUE = 64
# Pictures drawn at once; beyond that a read is shown at once and its picture comes
# from the saved snapshot (if any): a burst never queues unbounded Pillow work.
MAX_DRAWING = 8


@dataclass(frozen=True, slots=True)
class LiveRead:
    """One read as the live page shows it (and as its event's JSON)."""

    id: str
    time: str
    camera: str
    plate: str
    score: float | None
    watched: bool
    watch_name: str | None
    watch_kind: str | None
    vehicle: str
    picture: bool

    @classmethod
    def of(cls, event: PlateEvent, *, picture: bool) -> LiveRead:
        match = event.watchlist
        return cls(
            id=event.id,
            time=event.time,
            camera=clip(event.camera),
            plate=clip(event.plate),
            score=event.score,
            watched=match is not None,
            watch_name=clip(match.name) if match else None,
            watch_kind=match.kind if match else None,
            vehicle=describe_vehicle(
                event.vehicle.type if event.vehicle else None,
                event.color,
                event.make,
                event.model,
            ),
            picture=picture,
        )

    def json(self) -> str:
        # ASCII (\u escapes): a lone surrogate from a JSON answer cannot break the stream.
        return json.dumps(asdict(self), separators=(",", ":"))


def describe_vehicle(
    kind: str | None, color: str | None, make: str | None, model: str | None
) -> str:
    """ "Sedan, white, Toyota Corolla" from what the read has."""
    make_model = " ".join(part for part in (make, model) if part)
    return clip(", ".join(part for part in (kind, color, make_model) if part))


class Subscriber:
    """One connected page: a bounded queue of event lines; None ends the stream."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[str | None] = asyncio.Queue(SUBSCRIBER_QUEUE)
        self.dropped = False

    def send(self, data: str | None) -> None:
        if self.dropped:
            return
        try:
            self.queue.put_nowait(data)
        except asyncio.QueueFull:
            self.dropped = True  # too slow: its handler ends the stream
            _LOGGER.info("web page: a live client was too slow and was disconnected")


class WebSink:
    """A sink (`bridge.sinks.base.Sink`) feeding the web page."""

    def __init__(self, *, picture_bytes: int = PICTURE_BYTES) -> None:
        self.reads: deque[LiveRead] = deque(maxlen=READS_KEPT)
        self.errors: deque[ErrorEvent] = deque(maxlen=ERRORS_KEPT)
        self.subscribers: set[Subscriber] = set()
        self._pictures: OrderedDict[str, bytes] = OrderedDict()  # read id -> JPEG
        self._picture_bytes = 0
        self._picture_cap = picture_bytes
        self._tasks: set[asyncio.Task[None]] = set()
        self.closed = False

    # -- the Sink protocol ------------------------------------------------------------------

    async def start(self) -> None:
        return None

    def handle(self, notice: Notice) -> None:
        if isinstance(notice, ErrorEvent):
            self.errors.append(notice)
        elif isinstance(notice, Read) and notice.plates:
            picture = notice.picture
            if picture is None or not picture.results or len(self._tasks) >= MAX_DRAWING:
                self._publish(notice.plates, None)
                return
            task = asyncio.create_task(self._draw(notice.plates, picture))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self.close_streams()

    # -- for the web server -------------------------------------------------------------------

    def picture(self, read_id: str) -> bytes | None:
        return self._pictures.get(read_id)

    def subscribe(self) -> Subscriber | None:
        """A new live client, or None when there are too many (or the sink is closed)."""
        if self.closed or len(self.subscribers) >= MAX_SUBSCRIBERS:
            return None
        subscriber = Subscriber()
        self.subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)

    def close_streams(self) -> None:
        """End every live stream (the service is stopping)."""
        self.closed = True
        for subscriber in list(self.subscribers):
            subscriber.dropped = False
            if subscriber.queue.full():  # room for the end marker: the client goes anyway
                subscriber.queue.get_nowait()
            subscriber.queue.put_nowait(None)

    # -- internals -------------------------------------------------------------------------------

    async def _draw(self, events: tuple[PlateEvent, ...], picture: AnnotatedPicture) -> None:
        try:
            jpeg: bytes | None = await asyncio.to_thread(picture.annotated)
        except Exception as err:  # a picture Pillow cannot draw: the read is still shown
            _LOGGER.warning("web page: cannot draw the picture of a read: %s", err)
            jpeg = None
        self._publish(events, jpeg)

    def _publish(self, events: tuple[PlateEvent, ...], jpeg: bytes | None) -> None:
        if jpeg is not None and len(jpeg) <= self._picture_cap:
            for event in events:
                self._keep_picture(event.id, jpeg)
        for event in events:
            read = LiveRead.of(event, picture=jpeg is not None or bool(event.snapshot.saved))
            self.reads.appendleft(read)
            data = read.json()
            for subscriber in list(self.subscribers):
                subscriber.send(data)

    def _keep_picture(self, read_id: str, jpeg: bytes) -> None:
        # Reads of one picture share its bytes object: counted per read, a safe overcount.
        self._pictures[read_id] = jpeg
        self._picture_bytes += len(jpeg)
        while self._picture_bytes > self._picture_cap and self._pictures:
            _, dropped = self._pictures.popitem(last=False)
            self._picture_bytes -= len(dropped)
