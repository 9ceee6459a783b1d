"""What the pipeline hands to its sinks, and the one protocol every sink implements.

The pipeline emits four kinds of notice, in this order of a picture's life:
`CameraSeen` (the first picture of a camera arrived), then for each picture
read a `Read` (the events published for it, the ones suppressed as repeats,
and the picture), an `ErrorEvent` for every failure, and last a `JobDone`
(`bridge.jobs`) when the job is over, however it ended (a source's own sink
keeps its bookkeeping with it). A sink takes what it needs and ignores the
rest; the pipeline knows no sink by name.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from bridge.events import ErrorEvent, PlateEvent, ReadContext
from bridge.jobs import JobDone
from platereader import PlateResult


class AnnotatedPicture:
    """The picture read and, drawn once on first use, its annotated JPEG.

    Shared by every sink that shows the picture (the saved snapshot, the Home
    Assistant image): the Pillow work runs at most once per read, in the
    thread of whichever sink asks first; the others wait for it and reuse it.
    """

    __slots__ = ("_annotated", "_lock", "image", "results")

    def __init__(self, image: bytes, results: Sequence[PlateResult]) -> None:
        self.image = image
        self.results = tuple(results)  # everything the API found, drawn on the picture
        self._annotated: bytes | None = None
        self._lock = threading.Lock()

    def annotated(self) -> bytes:
        """The JPEG with every result's boxes and plate text (blocking: call it in a thread)."""
        with self._lock:
            if self._annotated is None:
                from platereader.annotate import annotate  # Pillow: imported when first needed

                self._annotated = annotate(self.image, self.results)
            return self._annotated


@dataclass(frozen=True, slots=True)
class CameraSeen:
    """The first picture of `camera` since start-up arrived (before it is read)."""

    camera: str


@dataclass(frozen=True, slots=True)
class Read:
    """One picture read (by a lookup, or by Frigate itself)."""

    context: ReadContext
    # The events published for it: one per passage, plus a `no_plate` event with
    # `pipeline.publish_no_plate` when the lookup found nothing.
    events: tuple[PlateEvent, ...]
    # Plates kept (score, zones) but not published: the same passage within the
    # cool-down. Still facts about this picture (the Frigate write-back labels them).
    repeats: tuple[PlateEvent, ...]
    picture: AnnotatedPicture | None  # None when the picture could not be fetched

    @property
    def plates(self) -> tuple[PlateEvent, ...]:
        """The published events that carry a plate."""
        return tuple(event for event in self.events if event.plate is not None)


Notice = CameraSeen | Read | ErrorEvent | JobDone


class Sink(Protocol):
    """An output of the bridge.

    `handle` runs on the event loop in the reader that made the notice: it must
    return at once and never raise for a bad notice (spawn slow work and keep
    it bounded; `stop` waits for it).
    """

    async def start(self) -> None: ...

    def handle(self, notice: Notice) -> None: ...

    async def stop(self) -> None: ...
