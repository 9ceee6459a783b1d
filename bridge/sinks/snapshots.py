"""Annotated copies of the pictures read, under `<storage.path>/snapshots` (`SnapshotStore`)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC
from pathlib import Path

from bridge.events import ReadContext
from bridge.snapshots import SnapshotStore
from platereader import PlateReaderError

from .base import Notice, Read

_LOGGER = logging.getLogger(__name__)
_IMAGE_SUFFIXES = frozenset({"jpg", "jpeg", "png", "webp", "bmp", "gif"})


class SnapshotSink:
    """Saves each picture with results; the events name the file (`path_for`) beforehand."""

    def __init__(self, store: SnapshotStore) -> None:
        self.store = store
        self._tasks: set[asyncio.Task[None]] = set()

    def path_for(self, context: ReadContext) -> str:
        """Where the picture of `context` is saved: `<camera>/<time>-<event id>.jpg`."""
        stamp = context.time.astimezone(UTC).strftime("%Y%m%dT%H%M%S%f")[:-3]
        ident = "".join(
            c if c.isalnum() or c in "-_." else "_" for c in (context.source_event_id or "")
        )[:64]
        # A folder source's event id is the file name: "car.jpg" must not give "….jpg.jpg".
        stem, dot, suffix = ident.rpartition(".")
        if dot and stem and suffix.lower() in _IMAGE_SUFFIXES:
            ident = stem
        name = f"{stamp}-{ident}.jpg" if ident else f"{stamp}.jpg"
        return str(self.store.root / context.camera / name)

    async def start(self) -> None:
        return None

    def handle(self, notice: Notice) -> None:
        if not isinstance(notice, Read):
            return
        picture, saved = notice.picture, notice.context.snapshot.saved
        if picture is None or not picture.results or saved is None:
            return  # nothing drawn on it (no vehicle, no plate), or not named to be kept
        task = asyncio.create_task(self._save(Path(saved), notice))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _save(self, path: Path, read: Read) -> None:
        assert read.picture is not None
        try:
            await asyncio.to_thread(self.store.save, path, read.picture)
        except (OSError, PlateReaderError) as err:
            _LOGGER.warning("cannot save the snapshot %s: %s", path, err)

    async def stop(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
