"""Every passage in the SQLite history (`HistoryWriter`, one background thread)."""

from __future__ import annotations

import asyncio

from bridge.history import HistoryWriter

from .base import Notice, Read


class HistorySink:
    def __init__(self, writer: HistoryWriter) -> None:
        self.writer = writer

    async def start(self) -> None:
        await asyncio.to_thread(self.writer.start)

    def handle(self, notice: Notice) -> None:
        if isinstance(notice, Read):
            for event in notice.plates:
                self.writer.record(event)

    async def stop(self) -> None:
        await asyncio.to_thread(self.writer.close)
