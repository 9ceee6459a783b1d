"""Home Assistant: MQTT discovery of each camera, and the image entity."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor

from bridge.events import Topics
from bridge.homeassistant import Discovery
from bridge.mqtt import MqttLink

from .base import AnnotatedPicture, CameraSeen, Notice, Read

_LOGGER = logging.getLogger(__name__)


class DiscoverySink:
    """Announces the entities (`Discovery`); a camera not configured, at its first picture."""

    def __init__(self, discovery: Discovery) -> None:
        self.discovery = discovery

    async def start(self) -> None:
        self.discovery.start()

    def handle(self, notice: Notice) -> None:
        if isinstance(notice, CameraSeen):
            self.discovery.camera_seen(notice.camera)

    async def stop(self) -> None:
        await self.discovery.stop()


class ImageSink:
    """The last annotated snapshot of each camera, retained on `<base>/<camera>/image`.

    Annotating is Pillow work in one worker thread shared by every camera (one
    decoded picture in memory at a time); per camera at most one image is made
    per `interval` seconds and only the latest read waits (older ones are
    skipped), so a burst of reads costs a few images, not one each.
    """

    def __init__(self, link: MqttLink, topics: Topics, interval: float) -> None:
        self.link = link
        self.topics = topics
        self.interval = interval
        self._pending: dict[str, AnnotatedPicture] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._last: dict[str, float] = {}
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="annotate")
        self.published = 0
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        return None

    def handle(self, notice: Notice) -> None:
        if not isinstance(notice, Read) or notice.picture is None or not notice.plates:
            # Nothing published for this picture (no plate, a duplicate ...), or a
            # read published without a picture (Frigate's, when its snapshot failed).
            return
        camera = notice.context.camera
        self._pending[camera] = notice.picture
        if camera not in self._tasks:
            self._tasks[camera] = asyncio.create_task(self._run(camera), name=f"image-{camera}")

    async def _run(self, camera: str) -> None:
        try:
            while camera in self._pending:
                wait = self._last.get(camera, -1e9) + self.interval - time.monotonic()
                if wait > 0 and not self._stopping.is_set():
                    with contextlib.suppress(TimeoutError):  # stopping: draw the last one now
                        await asyncio.wait_for(self._stopping.wait(), wait)
                picture = self._pending.pop(camera)
                self._last[camera] = time.monotonic()
                try:
                    data = await asyncio.get_running_loop().run_in_executor(
                        self._executor, picture.annotated
                    )
                except Exception as err:  # a picture Pillow cannot draw on
                    _LOGGER.warning("cannot annotate the snapshot of %s: %s", camera, err)
                    continue
                self.link.publish_volatile(self.topics.camera_image(camera), data, retain=True)
                self.published += 1
        finally:
            self._tasks.pop(camera, None)

    async def stop(self, within: float = 5.0) -> None:
        self._stopping.set()
        tasks = list(self._tasks.values())
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=within)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await asyncio.to_thread(self._executor.shutdown, wait=True)
