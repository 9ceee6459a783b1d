"""The long-running service: wiring, start-up and graceful shutdown.

The data flows one way: sources -> pipeline -> sinks (`bridge.sinks`). The
service builds the sinks from the configuration, hands them to the pipeline
and wires the sources to it.

Start-up: open the outbox, start the sinks, connect to the broker in the
background (the service runs, and keeps results on disk, while the broker is
away), warm the read path (`bridge.warmup`), check the API budget, start the
readers and then the sources.

Shutdown (SIGINT/SIGTERM, or `stop()`): stop taking inputs (messages that
arrive now stay unacknowledged at the broker), finish every read queued or in
flight (up to `pipeline.shutdown_timeout`), stop the sinks (their work in
flight finishes), publish `offline`, disconnect. Results the broker has not acknowledged stay in the
outbox for the next run.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from typing import TYPE_CHECKING, Protocol

import httpx

from platereader import PlateReader, RateLimiter
from platereader.const import FREE_PLAN_RATE

from .config import BridgeConfig
from .events import Topics
from .frigate import FrigateClient
from .history import FILE_NAME as HISTORY_FILE
from .history import HistoryWriter
from .metrics import Metrics
from .mqtt import MqttLink
from .outbox import Outbox
from .pipeline import KeepAs, Pipeline
from .sinks.base import Sink
from .sinks.frigate import FrigateWriteBack
from .sinks.history import HistorySink
from .sinks.homeassistant import DiscoverySink, ImageSink
from .sinks.metrics import MetricsSink
from .sinks.mqtt import MqttEventSink
from .sinks.snapshots import SnapshotSink
from .snapshots import SnapshotStore
from .sources.folder import FolderSource
from .sources.frigate import FrigateSource, frigate_client
from .sources.pictures import picture_fetchers
from .sources.topics import SnapshotTopicSource
from .warmup import warm_up
from .watchlist_store import WatchListStore

if TYPE_CHECKING:
    from platereader.watchlist import WatchList

    from .web import WebServer, WebSink

_LOGGER = logging.getLogger(__name__)


class _Source(Protocol):
    def start(self) -> None: ...


class BridgeService:
    def __init__(self, config: BridgeConfig) -> None:
        self.config = config
        self.metrics = Metrics()
        self.topics = Topics(config.mqtt.base_topic)
        self.outbox = Outbox(config.storage.path / "outbox.sqlite3", config.storage.outbox_max)
        self.link = MqttLink(
            config.mqtt, self.outbox, self.metrics, status_topic=self.topics.status
        )
        api = config.api
        token = api.token.get_secret_value() if api.token else None
        rate = api.lookups_per_second
        if rate is None and token:
            rate = FREE_PLAN_RATE
        self.limiter = RateLimiter(rate)
        # One connection per reader, kept alive: no connection churn under load.
        self.api_http = httpx.AsyncClient(
            limits=httpx.Limits(
                max_connections=api.concurrency, max_keepalive_connections=api.concurrency
            )
        )
        self.reader = PlateReader(
            api.url,
            token,
            session=self.api_http,
            timeout=api.timeout,
            limiter=self.limiter,
            retries=api.retries,
        )
        self.http = httpx.AsyncClient(follow_redirects=False)
        self._own_http: httpx.AsyncClient | None = None
        # The outputs, in the order they get each read: MQTT first (latency).
        self.discovery = DiscoverySink(config, self.link, self.topics)
        self.metrics_sink = MetricsSink(
            self.link,
            self.topics,
            self.metrics,
            self.metrics_payload,
            config.pipeline.metrics_interval,
        )
        sinks: list[Sink] = [
            MqttEventSink(self.topics, self.link.publish),
            self.discovery,
            self.metrics_sink,
        ]
        if config.homeassistant.enabled and config.homeassistant.image:
            sinks.append(ImageSink(self.link, self.topics, config.homeassistant.image_interval))
        keep_as: KeepAs | None = None
        storage = config.storage
        if storage.save_snapshots:
            snapshots = SnapshotSink(
                SnapshotStore(
                    storage.path / "snapshots",
                    keep=storage.snapshots_keep,
                    max_age_days=storage.snapshots_max_age_days,
                    max_mb=storage.snapshots_max_mb,
                    save_raw=storage.save_raw,
                )
            )
            keep_as = snapshots.path_for
            sinks.append(snapshots)
        if storage.history:
            writer = HistoryWriter(
                storage.path / HISTORY_FILE, max_age_days=storage.history_max_age_days
            )
            sinks.append(HistorySink(writer))
        self.web_sink: WebSink | None = None
        if config.web is not None:
            from .web import WebSink  # aiohttp and the pages: only with a web page

            self.web_sink = WebSink()
            sinks.append(self.web_sink)
        sources = config.sources
        client: FrigateClient | None = None
        if sources.frigate is not None:
            frigate_http = self.http
            if not sources.frigate.verify_tls:
                frigate_http = self._own_http = httpx.AsyncClient(verify=False)  # noqa: S501
            client = frigate_client(sources.frigate, frigate_http)
        self.pipeline = Pipeline(
            config,
            self.reader,
            self.metrics,
            sinks=sinks,
            keep_as=keep_as,
            fetchers=picture_fetchers(self.http, client),
        )
        # The watch list is the page's file when it exists, else the config's entries; an
        # edit on the page replaces the pipeline's matcher (the Frigate source reads it too).
        self.watchlist = WatchListStore(storage.path / WatchListStore.FILE_NAME, config.watchlist)
        self.pipeline.watchlist = self.watchlist.watchlist()
        self.watchlist.subscribe(self._watchlist_changed)
        self.web: WebServer | None = None
        if config.web is not None and self.web_sink is not None:
            from .web import Guard, WebContext, WebServer

            self.web = WebServer(
                WebContext(
                    config=config,
                    sink=self.web_sink,
                    store=self.watchlist,
                    pipeline=self.pipeline,
                    link=self.link,
                    metrics=self.metrics,
                    guard=Guard(config.web),
                )
            )
        # Sources add their own sinks (how their jobs ended); the Frigate write-back too.
        self.sinks = self.pipeline.sinks
        self.frigate: FrigateSource | None = None
        self.folders: list[FolderSource] = []
        self._sources: list[_Source] = []
        if sources.frigate is not None and client is not None:
            self.frigate = FrigateSource(
                sources.frigate, self.pipeline, self.link, client, self.metrics
            )
            self._sources.append(self.frigate)
            self.sinks.append(
                FrigateWriteBack(
                    sources.frigate.write_back,
                    self.frigate.client,
                    self.frigate.plates,  # Frigate's own reads are not written back
                    self.metrics,
                )
            )
        if sources.snapshot_topics:
            self._sources.append(
                SnapshotTopicSource(sources.snapshot_topics, self.pipeline, self.link, self.metrics)
            )
        for folder in sources.folders:
            source = FolderSource(
                folder, self.pipeline, self.metrics, max_pending=config.pipeline.queue_per_camera
            )
            self.folders.append(source)
            self._sources.append(source)
        self._stop = asyncio.Event()
        self.started = asyncio.Event()

    def stop(self) -> None:
        """Ask `run()` to shut down gracefully (safe from a signal handler)."""
        self._stop.set()

    async def run(self, *, install_signals: bool = True) -> None:
        loop = asyncio.get_running_loop()
        if install_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.add_signal_handler(sig, self.stop)
        try:
            await self._start()
            self.started.set()
            await self._stop.wait()
            _LOGGER.info("shutting down: finishing the reads in flight")
        finally:
            await self._shutdown()
            if install_signals:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    with contextlib.suppress(NotImplementedError, RuntimeError):
                        loop.remove_signal_handler(sig)

    async def _start(self) -> None:
        config = self.config
        _LOGGER.info(
            "plate-bridge: broker %s:%d, API %s, base topic %s",
            config.mqtt.host,
            config.mqtt.port,
            self.reader.api_url,
            config.mqtt.base_topic,
        )
        for sink in self.sinks:
            await sink.start()
        if self.web is not None:
            await self.web.start()
        # The first read's one-off costs (imports, codecs, fonts), so that it is no
        # slower than the others.
        await asyncio.to_thread(warm_up)
        await self.pipeline.start()
        # Sources register their subscriptions before the broker connects: the link
        # subscribes them all and only then publishes `online`, so a client that sees
        # `online` knows its next picture is taken. (Connecting first let `online` go
        # out before the inputs were subscribed, and a picture sent at once was lost.)
        for source in self._sources:
            source.start()
        await self.link.start()
        # Everything allocated so far lives as long as the service: keep it out of the
        # collector's full passes, which would otherwise show up as latency spikes.
        gc.collect()
        gc.freeze()

    async def _shutdown(self) -> None:
        self.link.stop_inputs()
        for folder in self.folders:
            await folder.stop()
        if self.frigate is not None:
            self.frigate.release_held()  # lookups held for Frigate's own read go ahead
        await self.pipeline.stop(self.config.pipeline.shutdown_timeout)
        if self.frigate is not None:
            await self.frigate.stop()
        if self.web is not None:
            await self.web.stop()
        for sink in self.sinks:  # the metrics last: they count what the others did
            if sink is not self.metrics_sink:
                await sink.stop()
        await self.metrics_sink.stop()
        await self.link.stop(flush_timeout=5.0)
        await self.reader.close()
        await self.api_http.aclose()
        await self.http.aclose()
        if self._own_http is not None:
            await self._own_http.aclose()
        self.outbox.close()
        _LOGGER.info("stopped: %s", dict(self.metrics.counters))

    def _watchlist_changed(self, watchlist: WatchList) -> None:
        # Called in the thread that wrote the file: one attribute store, atomic; the
        # next read (on the event loop) matches against the new list.
        self.pipeline.watchlist = watchlist

    def metrics_payload(self) -> dict[str, object]:
        data = self.metrics.snapshot()
        data["budget"] = self.pipeline.gate.status()
        return data

    def publish_metrics(self) -> None:
        self.metrics_sink.publish()
