"""Serving the fake from a background thread, for synchronous callers.

Benchmarks and tests that drive a CLI in a subprocess have no event loop of their own (or
must not block theirs), so the server gets a thread with a private loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .server import FakePlateRecognizer


class _ServerThread(threading.Thread):
    def __init__(self, server: FakePlateRecognizer, port: int) -> None:
        super().__init__(name="fake-plate-recognizer", daemon=True)
        self.server = server
        self.port = port
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None

    def run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        try:
            await self.server.start(self.port)
        except BaseException as exc:
            self.error = exc
            self.ready.set()
            return
        self.ready.set()
        try:
            await self._stop_event.wait()
        finally:
            await self.server.stop()

    def request_stop(self) -> None:
        """Ask the loop to stop the server and finish (callable from any thread)."""
        if self._loop is not None and self._stop_event is not None:
            self._loop.call_soon_threadsafe(self._stop_event.set)


@contextmanager
def run_in_thread(
    fake: FakePlateRecognizer | None = None,
    /,
    *,
    port: int = 0,
    startup_timeout: float = 10.0,
    **options: Any,
) -> Iterator[FakePlateRecognizer]:
    """Start a fake in a background thread with its own loop; stop and join it on exit.

    Pass a configured ``fake``, or keyword ``options`` for ``FakePlateRecognizer``::

        with run_in_thread(mode="onprem") as fake:
            subprocess.run(["plate-bridge", "--url", fake.url, ...], check=True)

    The fake's attributes (``delay``, ``responder``, ``fail_next`` ...) may be changed
    from the calling thread between requests.  Under the Home Assistant pytest plugin the
    test still needs the ``socket_enabled`` fixture.
    """
    if fake is not None and options:
        raise TypeError("pass either a FakePlateRecognizer or its options, not both")
    server = fake if fake is not None else FakePlateRecognizer(**options)
    thread = _ServerThread(server, port)
    thread.start()
    if not thread.ready.wait(startup_timeout):
        thread.request_stop()
        raise TimeoutError(f"the fake API did not start within {startup_timeout} s")
    if thread.error is not None:
        thread.join()
        raise RuntimeError("the fake API failed to start") from thread.error
    try:
        yield server
    finally:
        thread.request_stop()
        thread.join(startup_timeout)
