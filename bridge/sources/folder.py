"""Watched folders: cameras that upload a picture by FTP when they see motion.

The folder is polled every `poll_interval` seconds (inotify does not see
writes on network shares, polling does). A file is read once its size and
modification time have not changed for `settle` seconds (the upload is
finished). After the read it is deleted or moved to `move_to` (`after`);
a file that is not a readable image goes to `failed_to` (default
`<path>/.failed`); when the read failed for a reason that may pass (API
unreachable, reads paused), the file stays and is tried again later.

The folder is its own durable queue: at most `pipeline.queue_per_camera`
files of a folder are handed to the readers at a time, oldest first, so a
burst of uploads waits on disk instead of being dropped by the overload
policy.

With `camera` unset, the camera is the name of the first sub-folder
(`<path>/<camera>/.../file.jpg`); files directly in `path` are skipped.

The pipeline reads the file (`FileRequest`) and says when the job is over
(`JobDone`) to the folder's sink (`sink`), which deletes or moves the file; the
service stops that sink after the last read, so an after-step begun at
shutdown finishes (else the file would be read again at the next start).
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import os
import time
from datetime import UTC, datetime
from pathlib import Path

from bridge.config import FolderConfig
from bridge.events import ReadContext, SnapshotRef
from bridge.jobs import FileRequest, Job, JobDone, Outcome
from bridge.metrics import Metrics
from bridge.pipeline import Pipeline
from bridge.sinks.base import Notice

_LOGGER = logging.getLogger(__name__)

RETRY_DELAY = 30.0


class FolderSource:
    def __init__(
        self, config: FolderConfig, pipeline: Pipeline, metrics: Metrics, *, max_pending: int
    ) -> None:
        self.config = config
        self.max_pending = max_pending
        self._pipeline = pipeline
        self._metrics = metrics
        self._root = config.path
        self._failed = config.failed_to or config.path / ".failed"
        self._recursive = (
            config.recursive if config.recursive is not None else config.camera is None
        )
        self._seen: dict[Path, tuple[int, int, float]] = {}  # path -> (size, mtime_ns, since)
        self._pending: dict[Path, Path | None] = {}  # file handed to a reader -> its target
        self._retry_at: dict[Path, float] = {}
        self._task: asyncio.Task[None] | None = None
        self.sink = _AfterStep(self)
        pipeline.sinks.append(self.sink)  # the outcome of this folder's jobs

    def start(self) -> None:
        self._task = asyncio.create_task(self._poll(), name=f"folder:{self._root}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _poll(self) -> None:
        warned = False
        while True:
            try:
                found = await asyncio.to_thread(self._list)
                warned = False
            except OSError as err:
                if not warned:
                    _LOGGER.warning("cannot list %s: %s", self._root, err)
                    warned = True
                found = []
            self._consider(found)
            await asyncio.sleep(self.config.poll_interval)

    def _list(self) -> list[tuple[Path, int, int]]:
        found: list[tuple[Path, int, int]] = []
        skip = {self._failed.resolve()}
        if self.config.move_to is not None:
            skip.add(self.config.move_to.resolve())
        for directory, dirnames, filenames in os.walk(self._root):
            here = Path(directory)
            dirnames[:] = [
                d
                for d in dirnames
                if self._recursive and not d.startswith(".") and (here / d).resolve() not in skip
            ]
            for name in filenames:
                if name.startswith(".") or not any(
                    fnmatch.fnmatch(name.lower(), pattern.lower())
                    for pattern in self.config.patterns
                ):
                    continue
                path = here / name
                try:
                    stat = path.stat()
                except OSError:
                    continue
                found.append((path, stat.st_size, stat.st_mtime_ns))
        return found

    def _consider(self, found: list[tuple[Path, int, int]]) -> None:
        now = time.monotonic()
        present = set()
        for path, size, mtime in sorted(found, key=lambda item: (item[2], item[0])):
            present.add(path)
            if path in self._pending or self._retry_at.get(path, 0.0) > now:
                continue
            previous = self._seen.get(path)
            if previous is None or previous[:2] != (size, mtime):
                self._seen[path] = (size, mtime, now)
                if self.config.settle > 0:
                    continue
                previous = self._seen[path]
            if now - previous[2] < self.config.settle or size == 0:
                continue
            camera = self._camera(path)
            if camera is None or len(self._pending) >= self.max_pending:
                continue
            self._submit(path, camera, mtime)
        for gone in set(self._seen) - present:
            del self._seen[gone]
            self._retry_at.pop(gone, None)

    def _camera(self, path: Path) -> str | None:
        if self.config.camera is not None:
            return self.config.camera
        relative = path.relative_to(self._root)
        return relative.parts[0] if len(relative.parts) > 1 else None

    def _target(self, path: Path) -> Path | None:
        if self.config.after == "move" and self.config.move_to is not None:
            return self.config.move_to / path.relative_to(self._root)
        return None

    def _submit(self, path: Path, camera: str, mtime_ns: int) -> None:
        target = self._target(path)
        self._pending[path] = target
        context = ReadContext(
            camera=camera,
            source="folder",
            source_event_id=path.name,
            time=datetime.fromtimestamp(mtime_ns / 1e9, UTC),
            snapshot=SnapshotRef(kind="file", path=str(target or path)),
        )
        self._metrics.inc("folder_files")
        self._pipeline.submit(
            Job(camera=camera, key=None, context=context, picture=FileRequest(path))
        )

    def reading(self, path: Path) -> bool:
        """Is `path` this folder's file, handed to a reader and not yet done?"""
        return path in self._pending

    async def done(self, path: Path, outcome: Outcome) -> None:
        """The read of `path` is over: delete or move it, or try it again later."""
        target = self._pending.get(path)
        retry: float | None = RETRY_DELAY * 10
        try:
            retry = await asyncio.to_thread(self._after, path, target, outcome)
        finally:
            self._pending.pop(path, None)
            if retry is None:
                self._seen.pop(path, None)
            else:
                self._retry_at[path] = time.monotonic() + retry

    def _after(self, path: Path, target: Path | None, outcome: Outcome) -> float | None:
        """Delete or move the file; return in how many seconds to retry it, or None."""
        if outcome.status == "error" and outcome.error_kind == "image":
            destination: Path | None = self._failed / path.relative_to(self._root)
        elif outcome.retryable:
            return RETRY_DELAY
        else:
            destination = target
        try:
            if destination is None:
                path.unlink(missing_ok=True)
            else:
                destination.parent.mkdir(parents=True, exist_ok=True)
                path.replace(destination)
        except OSError as err:
            _LOGGER.error(
                "cannot %s %s: %s", "delete" if destination is None else "move", path, err
            )
            return RETRY_DELAY * 10
        return None


class _AfterStep:
    """The folder's sink: the files of its finished jobs are deleted or moved."""

    def __init__(self, source: FolderSource) -> None:
        self._source = source
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        return None

    def handle(self, notice: Notice) -> None:
        if not isinstance(notice, JobDone) or not isinstance(notice.job.picture, FileRequest):
            return
        path = notice.job.picture.path
        if not self._source.reading(path):
            return  # another folder's file
        task = asyncio.create_task(self._after(path, notice.outcome), name=f"after:{path.name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _after(self, path: Path, outcome: Outcome) -> None:
        try:
            await self._source.done(path, outcome)
        except Exception:
            _LOGGER.exception("after-read step failed for %s", path)

    async def stop(self) -> None:
        """Let the after-steps begun finish: a file left would be read again."""
        await asyncio.gather(*self._tasks, return_exceptions=True)
