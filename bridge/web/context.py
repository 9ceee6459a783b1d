"""What the page handlers reach in the running bridge, in one typed place."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from bridge.config import BridgeConfig
from bridge.history import FILE_NAME as HISTORY_FILE
from bridge.metrics import Metrics
from bridge.mqtt import MqttLink
from bridge.pipeline import Pipeline
from bridge.watchlist_store import WatchListStore

from .live import WebSink
from .security import Guard


@dataclass(frozen=True, slots=True)
class WebContext:
    config: BridgeConfig
    sink: WebSink
    store: WatchListStore
    pipeline: Pipeline
    link: MqttLink
    metrics: Metrics
    guard: Guard

    @property
    def history_path(self) -> Path:
        return self.config.storage.path / HISTORY_FILE

    @property
    def snapshots_root(self) -> Path:
        return self.config.storage.path / "snapshots"


CONTEXT = web.AppKey("context", WebContext)


def context(request: web.Request) -> WebContext:
    return request.app[CONTEXT]
