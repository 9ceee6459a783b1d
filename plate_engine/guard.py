"""A listening site that cuts off connections whose request heads grow without end.

aiohttp 3.11 bounds the length of each header line but not their number (its
`max_headers` is stored, never checked): one connection sending header lines without
end held 813 MB of RSS after 381 MB. Bodies are bounded by the engine itself (lookup.py,
and aiohttp's flow control while nobody reads them), but a request head is parsed
before any handler runs. So each connection's bytes pass through `_Framing`, which
follows HTTP/1.1 message boundaries (head, then a Content-Length or chunked body, then
the next head) and aborts the connection when a head, a chunk-size line or a trailer
exceeds `MAX_HEAD_BYTES`. It only watches: every byte still goes to aiohttp's parser,
which answers malformed requests itself.
"""

from __future__ import annotations

import asyncio
import re
from typing import Final

from aiohttp import web

MAX_HEAD_BYTES: Final = 64 * 1024  # request line + headers (aiohttp: 8190 per line)
_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)[ \t]*\r\n", re.IGNORECASE)
_CHUNKED = re.compile(rb"\r\ntransfer-encoding:[^\r\n]*chunked", re.IGNORECASE)


class _Framing:
    """Where a connection's byte stream is: in a head, a body, or a chunked body."""

    def __init__(self) -> None:
        self._state = "head"  # head | body | size | data | data-end | trailer
        self._buffer = bytearray()  # the head, size line or trailer being read
        self._left = 0  # bytes of the body or chunk still to come

    def feed(self, data: bytes) -> bool:
        """Follow `data`; False once a head, size line or trailer is too long."""
        pos, size = 0, len(data)
        while pos < size:
            if self._state in ("body", "data", "data-end"):
                step = min(self._left, size - pos)
                self._left -= step
                pos += step
                if self._left == 0:
                    self._body_part_done()
                continue
            end = data.find(b"\n", pos)
            stop = size if end < 0 else end + 1
            self._buffer += data[pos:stop]
            pos = stop
            if len(self._buffer) > MAX_HEAD_BYTES:
                return False
            if end >= 0:
                self._line_done()
        return True

    def _body_part_done(self) -> None:
        if self._state == "body":
            self._state = "head"
        elif self._state == "data":
            self._state, self._left = "data-end", 2  # the CRLF after a chunk
        else:
            self._state = "size"

    def _line_done(self) -> None:
        # Lines are not reset one by one: the whole head (blank lines before it
        # included) counts against MAX_HEAD_BYTES.
        if self._state == "head":
            head = bytes(self._buffer).lstrip(b"\r\n")
            if not head or not head.endswith((b"\r\n\r\n", b"\n\n")):
                return
            self._buffer = bytearray()
            if _CHUNKED.search(head):
                self._state = "size"
            elif (length := _LENGTH.search(head)) is not None and int(length.group(1)):
                self._state, self._left = "body", int(length.group(1))
        elif self._state == "size":
            line, self._buffer = bytes(self._buffer), bytearray()
            try:
                chunk = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                chunk = 0  # aiohttp refuses it; stop following the body
            self._state, self._left = ("data", chunk) if chunk else ("trailer", 0)
        elif self._state == "trailer" and (
            bytes(self._buffer) in (b"\r\n", b"\n") or self._buffer.endswith(b"\r\n\r\n")
        ):
            self._state, self._buffer = "head", bytearray()


class _Guard(asyncio.Protocol):
    """Passes everything to aiohttp's handler; aborts when `_Framing` says so."""

    def __init__(self, inner: asyncio.Protocol) -> None:
        self._inner = inner
        self._framing = _Framing()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._framing.feed(data):
            self._inner.data_received(data)
        elif self._transport is not None and not self._transport.is_closing():
            self._transport.abort()  # connection_lost follows, for the handler too

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


class GuardedSite(web.BaseSite):
    """Like `web.TCPSite`, with request heads bounded on every connection."""

    def __init__(
        self, runner: web.BaseRunner, host: str, port: int, *, shutdown_timeout: float = 60.0
    ) -> None:
        super().__init__(runner, shutdown_timeout=shutdown_timeout)
        self._host = host
        self._port = port

    @property
    def name(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        self._server = await asyncio.get_running_loop().create_server(
            lambda: _Guard(server()), self._host, self._port, backlog=self._backlog
        )
