"""A dependency-free progress bar for stderr, shown only on a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """`12/40 [=====     ] 2 failed, 3.1 files/s`, redrawn in place at most 10 times a second."""

    def __init__(self, total: int, *, enabled: bool, stream: TextIO | None = None) -> None:
        self.total = total
        self.done = 0
        self.failed = 0
        self.enabled = enabled
        self._stream = stream or sys.stderr
        self._started = time.monotonic()
        self._last_draw = 0.0

    def advance(self, *, failed: bool = False) -> None:
        self.done += 1
        self.failed += failed
        now = time.monotonic()
        if self.enabled and (now - self._last_draw >= 0.1 or self.done == self.total):
            self._last_draw = now
            self._draw(now)

    def message(self, text: str) -> None:
        """Print a line above the bar (or plainly when there is no bar)."""
        if self.enabled:
            self._stream.write("\r\033[K")
        self._stream.write(text + "\n")
        if self.enabled:
            self._draw(time.monotonic())
        self._stream.flush()

    def close(self) -> None:
        if self.enabled:
            self._stream.write("\n")
            self._stream.flush()

    def _draw(self, now: float) -> None:
        width = 30
        filled = width * self.done // max(self.total, 1)
        rate = self.done / max(now - self._started, 1e-6)
        failed = f" {self.failed} failed," if self.failed else ""
        self._stream.write(
            f"\r{self.done}/{self.total} [{'=' * filled}{' ' * (width - filled)}]"
            f"{failed} {rate:.1f} files/s"
        )
        self._stream.flush()
