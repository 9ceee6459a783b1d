"""A listening site that closes connections sending too much without getting an answer.

aiohttp 3.11 bounds the length of each header line but not their number: one
connection sending header lines without end held 813 MB of RSS after 381 MB (its
`max_headers` is stored, never checked). Bodies are counted by the engine itself
(lookup.py), but a request head is parsed before any handler runs. So each connection
is wrapped: the bytes it receives since the server last wrote to it are counted, and
past `limit` (the body limit plus room for a head) the connection is closed. A client
that waits for its answers, as HTTP/1.1 clients do, never comes near it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web


class _CountingTransport:
    """The real transport, seen by aiohttp's handler; a write resets the guard's count."""

    def __init__(self, transport: asyncio.Transport, guard: _Guard) -> None:
        self._transport = transport
        self._guard = guard

    def write(self, data: Any) -> None:
        self._guard.unanswered = 0
        self._transport.write(data)

    def writelines(self, lines: Any) -> None:
        self._guard.unanswered = 0
        self._transport.writelines(lines)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class _Guard(asyncio.Protocol):
    def __init__(self, inner: asyncio.Protocol, limit: int) -> None:
        self._inner = inner
        self._limit = limit
        self._transport: asyncio.Transport | None = None
        self.unanswered = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._inner.connection_made(_CountingTransport(transport, self))  # type: ignore[arg-type]

    def data_received(self, data: bytes) -> None:
        self.unanswered += len(data)
        if self.unanswered > self._limit:
            if self._transport is not None and not self._transport.is_closing():
                self._transport.abort()  # connection_lost follows, for the handler too
            return
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


class GuardedSite(web.BaseSite):
    """Like `web.TCPSite`, with each connection's unanswered bytes capped at `limit`."""

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str,
        port: int,
        *,
        limit: int,
        shutdown_timeout: float = 60.0,
    ) -> None:
        super().__init__(runner, shutdown_timeout=shutdown_timeout)
        self._host = host
        self._port = port
        self._limit = limit

    @property
    def name(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        limit = self._limit
        self._server = await asyncio.get_running_loop().create_server(
            lambda: _Guard(server(), limit), self._host, self._port, backlog=self._backlog
        )
