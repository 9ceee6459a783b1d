"""What the page handlers reach in the running bridge, in one typed place."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
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


# -- the history's own threads ---------------------------------------------------------------
# History searches and picture look-ups run in these threads, not in asyncio's default
# executor: a burst of slow searches (each may run SEARCH_DEADLINE_S, or wait on a
# locked file) then never takes the threads the bridge itself needs (saving snapshots,
# reading pictures), and the work queued behind them is bounded.
HISTORY_THREADS = 2
MAX_HISTORY_JOBS = 16  # running or waiting; more is refused with HistoryBusy


class HistoryBusy(Exception):
    """Too many history look-ups are running or waiting: the page asks to retry."""

    def __str__(self) -> str:
        return "The history is busy with other searches: retry in a moment."


class HistoryThreads:
    """The page's threads for the history (one set per running page, closed with it)."""

    def __init__(self, threads: int = HISTORY_THREADS, jobs: int = MAX_HISTORY_JOBS) -> None:
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="web-history")
        self._max_jobs = jobs
        self._jobs = 0

    async def run[**P, R](self, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """`function(*args, **kwargs)` in one of these threads (HistoryBusy if full)."""
        if self._jobs >= self._max_jobs:
            raise HistoryBusy
        self._jobs += 1
        try:
            call = functools.partial(function, *args, **kwargs)
            return await asyncio.get_running_loop().run_in_executor(self._executor, call)
        finally:
            self._jobs -= 1

    async def close(self) -> None:
        """Wait for the look-ups in flight (each ends within its deadline), then stop."""
        await asyncio.to_thread(self._executor.shutdown, wait=True)


HISTORY_THREADS_KEY = web.AppKey("history_threads", HistoryThreads)


def history_threads(request: web.Request) -> HistoryThreads:
    return request.app[HISTORY_THREADS_KEY]
