"""What a source hands to the pipeline, and what the pipeline says back: data only.

A `Job` names its picture as data: the bytes that came with the message
(`PictureBytes`) or a request saying where to get them (`FrigateSnapshotRequest`,
`UrlRequest`, `FileRequest`). The pipeline fetches a request through the
`PictureFetcher` handed to it for that kind, when a reader starts the job (so a
job that waited in the queue reads the picture as of then). When the job is
over, the pipeline tells every sink with a `JobDone`: a source that keeps
bookkeeping about its jobs (Frigate's pending reads, a folder's files) registers
a sink that takes its own. Nothing in a job calls back into its source.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Literal, Protocol

from platereader import PlateResult

from .events import ReadContext
from .queue import Queued

PictureKind = Literal["frigate_event", "url", "file"]
OutcomeStatus = Literal["read", "no_plate", "error", "skipped", "dropped"]


class SnapshotError(Exception):
    """The picture could not be obtained (Frigate unreachable, file vanished ...)."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True, slots=True)
class PictureBytes:
    """The picture came with the message."""

    data: bytes


@dataclass(frozen=True, slots=True)
class FrigateSnapshotRequest:
    """A Frigate event's best snapshot (or its camera's latest frame when it has none)."""

    kind: ClassVar[PictureKind] = "frigate_event"
    event_id: str
    camera: str


@dataclass(frozen=True, slots=True)
class UrlRequest:
    """A picture to download, up to `max_bytes` (the host was checked by the source)."""

    kind: ClassVar[PictureKind] = "url"
    url: str
    max_bytes: int


@dataclass(frozen=True, slots=True)
class FileRequest:
    """A picture file on disk."""

    kind: ClassVar[PictureKind] = "file"
    path: Path


PictureRequest = FrigateSnapshotRequest | UrlRequest | FileRequest
Picture = PictureBytes | PictureRequest


class PictureFetcher[R: PictureRequest](Protocol):
    """Gets the picture a request names; raises `SnapshotError` (retryable or not)."""

    async def fetch(self, request: R) -> bytes: ...


@dataclass(eq=False, slots=True)
class Job(Queued):
    """One picture to read. `key` coalesces pending jobs (e.g. one Frigate event)."""

    context: ReadContext
    picture: Picture
    received: float = field(default_factory=time.perf_counter)
    # A read made elsewhere (Frigate's own LPR): published as it is, without a lookup;
    # the picture is fetched only for the snapshot and the image entity.
    plates: tuple[PlateResult, ...] | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to a job."""

    status: OutcomeStatus
    best_score: float | None = None
    plates: tuple[str, ...] = ()
    error_kind: str | None = None  # an error event's kind, a pause or a drop reason
    retryable: bool = False


@dataclass(frozen=True, slots=True)
class JobDone:
    """A job submitted to the pipeline is over: read, failed, skipped or dropped."""

    job: Job
    outcome: Outcome
