"""Home Assistant: MQTT discovery (entities of the bridge and each camera), the image entity."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from bridge.config import BridgeConfig
from bridge.events import Topics
from bridge.homeassistant import Entities
from bridge.mqtt import InMessage, MqttLink

from .base import AnnotatedPicture, CameraSeen, Notice, Read

_LOGGER = logging.getLogger(__name__)
SYNC_TIMEOUT = 5.0  # seconds to wait for the broker's retained discovery messages


class DiscoverySink:
    """Announces the entities (`Entities`) and removes the ones no longer wanted.

    Announced (retained) as soon as the bridge is connected, again when Home
    Assistant says it is back online (`<prefix>/status` = `online`), and for a
    camera that was not configured the first time a picture of it arrives.

    Removal: at start-up the bridge reads back the retained discovery topics
    under its node id (a marker message tells when the broker has sent them
    all) and publishes an empty retained payload on each one it no longer
    wants: cameras taken out of the configuration (or disabled), MMC sensors
    once MMC is off, images once `image: false`, and so on.
    """

    def __init__(self, config: BridgeConfig, link: MqttLink, topics: Topics) -> None:
        self.config = config
        self.settings = config.homeassistant
        self.entities = Entities(config, topics)
        self.link = link
        self.topics = topics
        self.cameras: set[str] = set(config.known_cameras())
        self.published: dict[str, bytes] = {}  # topic -> payload, what we announce now
        self.removed: list[str] = []  # stale topics emptied at start-up
        self.synced = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._retained: set[str] = set()
        self._marker = b""
        self._marker_seen = asyncio.Event()

    # -- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        self.link.on_connected.append(self._on_connected)
        if self.settings.enabled:
            self.link.subscribe(f"{self.settings.prefix}/status", self._on_ha_status)

    def handle(self, notice: Notice) -> None:
        if isinstance(notice, CameraSeen):
            self.camera_seen(notice.camera)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def _on_connected(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._sync(), name="discovery-sync")
        elif self.synced.is_set():
            self.publish_all()  # the broker may have lost its retained messages

    def _on_ha_status(self, message: InMessage) -> None:
        if message.payload.strip().lower() == b"online" and self.synced.is_set():
            _LOGGER.info("Home Assistant is online: announcing the entities again")
            self.publish_all()

    # -- start-up: read back what was announced, remove what is stale -------------------

    async def _sync(self) -> None:
        pattern = f"{self.settings.prefix}/+/{self.config.node_id}/+/config"
        self._marker = uuid.uuid4().hex.encode()
        self.link.subscribe(pattern, self._on_retained, retained=True)
        self.link.subscribe(self.topics.discovery_sync, self._on_marker)
        self.link.publish_volatile(self.topics.discovery_sync, self._marker, retain=False)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._marker_seen.wait(), SYNC_TIMEOUT)
        await asyncio.sleep(0.1)  # brokers that deliver other subscriptions' messages late
        self.link.unsubscribe(pattern)
        self.link.unsubscribe(self.topics.discovery_sync)
        for topic in self._retained:
            camera = self.entities.camera_of(topic)
            if camera is not None and self.config.camera_may_appear(camera):
                self.cameras.add(camera)
        wanted = self.entities.configs(self.cameras) if self.settings.enabled else {}
        self.removed = sorted(self._retained - set(wanted))
        for topic in self.removed:
            self.link.publish_volatile(topic, b"", retain=True)
        if self.removed:
            _LOGGER.info("removed %d stale Home Assistant entities", len(self.removed))
        if self.settings.enabled:
            self.publish_all()
        self.synced.set()

    def _on_retained(self, message: InMessage) -> None:
        if message.payload:
            self._retained.add(message.topic)

    def _on_marker(self, message: InMessage) -> None:
        if message.payload == self._marker:
            self._marker_seen.set()

    # -- announcing ------------------------------------------------------------------

    def publish_all(self) -> None:
        configs = self.entities.configs(self.cameras)
        for topic, payload in configs.items():
            self.link.publish_volatile(topic, payload, retain=True)
        self.published = configs

    def camera_seen(self, camera: str) -> None:
        """A picture of `camera` arrived: announce it if it is new."""
        if camera in self.cameras or not self.config.camera(camera).enabled:
            return
        self.cameras.add(camera)
        if self.settings.enabled and self.synced.is_set():
            configs = self.entities.camera_configs(camera)
            for topic, payload in configs.items():
                self.link.publish_volatile(topic, payload, retain=True)
            self.published.update(configs)


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
