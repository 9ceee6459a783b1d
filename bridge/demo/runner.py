"""`plate-bridge demo`: the whole chain on embedded defaults, in one process.

    broker (mosquitto, or the embedded one) on a free 127.0.0.1 port
    engine (plate_engine, in-process, on a free port)      <- the bridge's api.url
    bridge (BridgeService) watching <output>/inbox/<camera>/
    live view (an MQTT subscriber on <base>/plates and <base>/errors)
    feeder: copies the sample pictures into the inbox, one every `interval` seconds

Ctrl-C / SIGTERM stop everything in reverse order, then say where things are.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import yaml

from bridge.config import BridgeConfig, ConfigError, load_config

from .broker import Broker, BrokerChoice, BrokerError, start_broker
from .photos import PHOTOS
from .samples import SCENES
from .viewer import HEADER, LiveView

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
BASE_TOPIC = "plate_bridge"
WEB_PORT = 8380  # the bridge's default `web.port`
USER_CAMERA = "photos"  # the camera name of the user's own pictures
WATCHLIST: list[dict[str, Any]] = [
    # Exact only: AB-123-CD on the photo of four cars is one edit away from AB12CDE as
    # read (the candidate "ab12cd"), a match the default tolerance of 1 would report.
    {"name": "Family car", "plate": "AB12 CDE", "owner": "Alice", "tags": ["gate"], "tolerance": 0},
    # On the photo of four parked cars (bridge/demo/photos/cars.jpg).
    {"name": "Neighbour", "plate": "EF-668-GH", "owner": "Bob", "tags": []},
]


class DemoError(Exception):
    """The demo cannot run; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class DemoOptions:
    folder: Path | None = None  # the user's pictures; None: the photos and synthetic samples
    output: Path = Path("demo-output")
    broker: BrokerChoice = "auto"
    once: bool = False  # stop by itself once every picture fed has been read
    interval: float = 1.0  # seconds between two pictures
    api_url: str | None = None  # an existing API instead of the in-process engine
    idle_timeout: float = 60.0  # --once: give up when nothing new arrived for this long


@dataclass(frozen=True, slots=True)
class Picture:
    camera: str
    name: str
    data: Callable[[], bytes]


def collect_pictures(folder: Path | None) -> list[Picture]:
    """The real photos then the synthetic scenes, or every image under `folder` (sorted,
    recursively)."""
    if folder is None:
        photos = [Picture(photo.camera, photo.name, photo.jpeg) for photo in PHOTOS]
        return photos + [Picture(scene.camera, scene.filename(), scene.jpeg) for scene in SCENES]
    if not folder.is_dir():
        raise DemoError(f"{folder}: not a folder")
    files = sorted(
        path
        for path in folder.rglob("*")
        if path.is_file()
        and path.suffix.lower() in IMAGE_SUFFIXES
        and not path.name.startswith(".")
    )
    if not files:
        raise DemoError(f"{folder}: no pictures ({', '.join(IMAGE_SUFFIXES)}) in it")
    pictures = []
    names: set[str] = set()
    for index, path in enumerate(files, 1):
        name = path.name if path.name not in names else f"{index:04d}-{path.name}"
        names.add(name)
        pictures.append(Picture(USER_CAMERA, name, path.read_bytes))
    return pictures


def bridge_config(
    output: Path, mqtt_host: str, mqtt_port: int, api_url: str, web_port: int = WEB_PORT
) -> dict[str, Any]:
    """The bridge's configuration for the demo (written to <output>/config.yaml)."""
    return {
        "mqtt": {
            "host": mqtt_host,
            "port": mqtt_port,
            "client_id": f"plate-bridge-demo-{os.getpid()}",
            "base_topic": BASE_TOPIC,
            "session_expiry": 0,
        },
        "api": {"url": api_url, "concurrency": 2, "timeout": 30},
        "sources": {
            "folders": [
                {
                    "path": str(output / "inbox"),
                    "after": "move",
                    "move_to": str(output / "read"),
                    "patterns": [f"*{suffix}" for suffix in IMAGE_SUFFIXES],
                    "poll_interval": 0.25,
                    "settle": 0.25,
                }
            ]
        },
        "watchlist": WATCHLIST,
        "storage": {"path": str(output), "save_snapshots": True},
        "pipeline": {
            "cooldown": 0,  # every picture is its own passage: each one shows in the view
            "publish_no_plate": True,
            "shutdown_timeout": 10,
        },
        # The page: this machine only (no token needed), so it is shown, not exposed.
        "web": {"host": "127.0.0.1", "port": web_port},
    }


def web_port(preferred: int = WEB_PORT) -> int:
    """The page's usual port when it is free, else any free one (a second demo, say)."""
    for port in (preferred, 0):
        with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            bound: int = probe.getsockname()[1]
            return bound
    raise DemoError("no free TCP port on 127.0.0.1 for the web page")


class Demo:
    def __init__(self, options: DemoOptions, out: TextIO) -> None:
        self.options = options
        self.out = out
        self.output = options.output.resolve()
        self.stop = asyncio.Event()
        self.signalled = False
        self.fed: set[str] = set()
        self.feeding_done = False
        self.timed_out = False
        self._progress = asyncio.Event()
        self._cleanups: list[tuple[str, Callable[[], Awaitable[None]]]] = []
        self.view: LiveView | None = None

    def say(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    def _shown(self, path: Path) -> str:
        relative = os.path.relpath(path)
        return str(path) if relative.startswith("..") else relative

    # -- the whole run -------------------------------------------------------------------

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, self._on_signal)
        try:
            pictures = collect_pictures(self.options.folder)
            if await self._start() and not self.stop.is_set():
                await self._feed_and_wait(pictures)
            return 1 if self.timed_out else 0
        finally:
            await self._teardown()
            self._summary()
            for signum in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(signum)

    def _on_signal(self) -> None:
        if not self.stop.is_set():
            self.say("\nstopping: finishing the reads in flight ...")
        self.signalled = True
        self.stop.set()

    async def _start(self) -> bool:
        """Start broker, engine, bridge and view; False when stopped meanwhile."""
        output = self.output
        self._prepare(output)
        self.say(
            "plate-bridge demo: a broker, the local engine, the bridge watching a folder, "
            "and a live view of the results."
        )
        broker = await self._start_broker(output)
        if self.stop.is_set():
            return False
        api_url = self.options.api_url or await self._start_engine()
        if self.stop.is_set():
            return False
        config_path = output / "config.yaml"
        data = bridge_config(output, broker.host, broker.port, api_url, web_port())
        config_path.write_text(
            "# Written by `plate-bridge demo`; `plate-bridge run -c` this file to run it alone.\n"
            + yaml.safe_dump(data, sort_keys=False),
            encoding="utf-8",
        )
        try:
            config = load_config(config_path, env={})  # embedded defaults: no overrides
        except ConfigError as err:  # a bug of ours
            raise DemoError("the demo's bridge config is invalid:\n" + str(err)) from err
        await self._start_bridge(config)
        self.view = LiveView(
            broker.host,
            broker.port,
            BASE_TOPIC,
            output / "history.jsonl",
            self.out,
            on_update=self._progress.set,
        )
        self._cleanups.append(("live view", self.view.stop))
        watched = ", ".join(f"{e['name']} {e['plate']}" for e in WATCHLIST)
        self.say(f"  watch list:  {watched}")
        self.say(f"  inbox:       {self._shown(output / 'inbox')}/<camera>/  (drop pictures here)")
        self.say(
            f"  follow it:   mosquitto_sub -h {broker.host} -p {broker.port} -t '{BASE_TOPIC}/#' -v"
        )
        await self.view.start()
        return True

    def _prepare(self, output: Path) -> None:
        output.mkdir(parents=True, exist_ok=True)
        # A fresh inbox, and no results left over from an earlier run that was killed.
        shutil.rmtree(output / "inbox", ignore_errors=True)
        (output / "inbox").mkdir()
        for leftover in output.glob("outbox.sqlite3*"):
            leftover.unlink()

    async def _start_broker(self, output: Path) -> Broker:
        try:
            broker = await start_broker(
                self.options.broker,
                output / "broker",
                say=lambda line: self.say(f"  {line}"),
            )
        except BrokerError as err:
            raise DemoError(str(err)) from err
        self._cleanups.append(("broker", broker.stop))
        self.say(f"  broker:      {broker.name} on {broker.host}:{broker.port}")
        return broker

    async def _start_engine(self) -> str:
        try:
            from plate_engine.recognizer import Recognizer
            from plate_engine.server import EngineServer
            from plate_engine.settings import EngineSettings
        except ImportError as err:
            raise DemoError(
                f"the local engine is not installed ({err}): run scripts/bootstrap demo, "
                "or pip install 'plate-bridge[engine]', or give --api-url"
            ) from err
        started = time.perf_counter()
        settings = EngineSettings(port=0, queue=16)
        recognizer = await asyncio.to_thread(Recognizer, threads=settings.threads)
        server = EngineServer(recognizer, settings)
        await server.start()
        self._cleanups.append(("engine", server.stop))
        self.say(
            f"  engine:      {server.url} (local, offline; "
            f"loaded in {time.perf_counter() - started:.1f} s)"
        )
        return server.url

    async def _start_bridge(self, config: BridgeConfig) -> None:
        from bridge.service import BridgeService

        service = BridgeService(config)
        task = asyncio.create_task(service.run(install_signals=False), name="bridge")

        async def stop_bridge() -> None:
            service.stop()
            await task

        self._cleanups.append(("bridge", stop_bridge))
        started = asyncio.create_task(service.started.wait())
        await asyncio.wait({task, started}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            started.cancel()
            task.result()  # raises what stopped it
            raise DemoError("the bridge stopped during start-up")
        if not await service.link.wait_connected(10):
            raise DemoError(
                f"the bridge could not connect to the broker on port {config.mqtt.port}"
            )
        self.say(f"  bridge:      watching {self._shown(self.output / 'inbox')}, results on MQTT")
        if config.web is not None:
            self.say(f"  web page:    {config.web.url}  (live reads, history, watch list)")

    async def _feed_and_wait(self, pictures: list[Picture]) -> None:
        source = self.options.folder
        what = (
            f"pictures from {source}"
            if source
            else f"sample pictures ({len(PHOTOS)} real photos, then {len(SCENES)} synthetic)"
        )
        self.say(
            f"\nFeeding {len(pictures)} {what}, one every {self.options.interval:g} s. "
            "Ctrl-C to stop.\n"
        )
        self.say(HEADER)
        inbox = self.output / "inbox"
        for index, picture in enumerate(pictures):
            if index and await self._wait_stop(self.options.interval):
                return
            folder = inbox / picture.camera
            folder.mkdir(exist_ok=True)
            data = await asyncio.to_thread(picture.data)
            partial = folder / f".{picture.name}.part"
            partial.write_bytes(data)
            partial.replace(folder / picture.name)  # appears whole: no half-written reads
            self.fed.add(picture.name)
        self.feeding_done = True
        if not self.options.once:
            await self._wait_stop(5.0)
            if not self.stop.is_set():
                self.say(
                    f"\n(all pictures fed; drop more into {self._shown(inbox)}/<camera>/ "
                    "or press Ctrl-C to stop)"
                )
            await self.stop.wait()
            return
        await self._wait_all_read()

    async def _wait_stop(self, seconds: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), seconds)
        return self.stop.is_set()

    async def _wait_all_read(self) -> None:
        assert self.view is not None
        view = self.view
        while not self.stop.is_set() and not self.fed <= view.seen.files:
            self._progress.clear()
            waiter = asyncio.create_task(self._progress.wait())
            stopper = asyncio.create_task(self.stop.wait())
            done, pending = await asyncio.wait(
                {waiter, stopper},
                timeout=self.options.idle_timeout,
                return_when=asyncio.FIRST_COMPLETED,
            )
            for task in pending:
                task.cancel()
            if not done:
                missing = ", ".join(sorted(self.fed - view.seen.files))
                self.say(f"\nno result within {self.options.idle_timeout:g} s for: {missing}")
                self.timed_out = True
                return
        # The annotated copies are written just after the event is published.
        await asyncio.to_thread(_wait_for_files, [Path(p) for p in view.seen.saved], 5.0)

    async def _teardown(self) -> None:
        # Reverse order: view last-but-one so it shows the reads finished at shutdown.
        cleanups, self._cleanups = self._cleanups, []
        order = {"bridge": 0, "live view": 1, "engine": 2, "broker": 3}
        for name, cleanup in sorted(cleanups, key=lambda item: order[item[0]]):
            if name == "live view":
                await asyncio.sleep(0.3)  # the last results on their way to the view
            try:
                await cleanup()
            except Exception as err:  # keep stopping the rest
                self.say(f"  (stopping the {name}: {type(err).__name__}: {err})")

    def _summary(self) -> None:
        output = self.output
        seen = self.view.seen if self.view is not None else None
        if seen is None:
            return
        snapshots = output / "snapshots"
        count = sum(1 for _ in snapshots.rglob("*.jpg")) if snapshots.is_dir() else 0
        self.say(
            f"\nstopped: {seen.plates} plates read, {seen.matches} watch-list "
            f"{'match' if seen.matches == 1 else 'matches'}, {seen.errors} errors."
        )
        self.say(
            f"  annotated images: {self._shown(snapshots)}/  "
            f"({len(set(seen.saved))} from this run, {count} in all)"
        )
        self.say(
            f"  history:          {self._shown(output / 'history.jsonl')}  "
            "(every plate event, one JSON object per line)"
        )
        for extra in sorted(output.glob("history*")):
            if extra.name != "history.jsonl" and extra.is_file():
                self.say(f"  bridge history:   {self._shown(extra)}")
        self.say(f"  pictures read:    {self._shown(output / 'read')}/")
        self.say(f"  bridge config:    {self._shown(output / 'config.yaml')}")


def _wait_for_files(paths: list[Path], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not all(path.exists() for path in paths):
        time.sleep(0.05)


async def run_demo(options: DemoOptions, out: TextIO) -> int:
    return await Demo(options, out).run()
