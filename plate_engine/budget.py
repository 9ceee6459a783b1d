"""Shared limits on what requests hold at once: body bytes, decoded pixels.

A count of workers bounds how many reads run, not how much memory they hold: 100
uploads of 9 MB each were all being received at once, and one 20000x20000 PNG decodes
to 1.2 GB. A `Budget` is a number of units (bytes, pixels) shared by all requests;
each takes what it holds and gives it back when done. All methods run on the event
loop; a worker thread gives back through `loop.call_soon_threadsafe`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from types import TracebackType


class BudgetSpent(Exception):
    """The budget cannot give what a request needs now: the request should be retried."""


class Budget:
    """`limit` units shared by requests; `try_take` at once, or `take` waiting in turn."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("a budget needs a positive limit")
        self.limit = limit
        self.used = 0
        self._waiting: deque[tuple[int, asyncio.Future[None]]] = deque()

    def try_take(self, units: int) -> bool:
        """Take `units` if they fit now (and nobody is waiting before us)."""
        if self._waiting or self.used + units > self.limit:
            return False
        self.used += units
        return True

    async def take(self, units: int) -> None:
        """Wait until `units` fit, first come first served. `units` must be <= limit."""
        if units > self.limit:
            raise ValueError(f"{units} units can never fit a budget of {self.limit}")
        if self.try_take(units):
            return
        future = asyncio.get_running_loop().create_future()
        entry = (units, future)
        self._waiting.append(entry)
        try:
            await future
        except BaseException:
            if future.done() and not future.cancelled():
                self.give(units)  # granted just as we were cancelled: hand it on
            else:
                self._waiting.remove(entry)
                self._wake()
            raise

    def give(self, units: int) -> None:
        self.used -= units
        self._wake()

    def _wake(self) -> None:
        while self._waiting:
            units, future = self._waiting[0]
            if future.done():
                self._waiting.popleft()
                continue
            if self.used + units > self.limit:
                return
            self._waiting.popleft()
            self.used += units
            future.set_result(None)


class Lease:
    """What one request holds of a budget: grows as its bytes arrive, all given back at exit."""

    def __init__(self, budget: Budget) -> None:
        self._budget = budget
        self.held = 0

    def grow(self, units: int) -> bool:
        """Hold `units` more; False (holding nothing more) when the budget is spent."""
        if not self._budget.try_take(units):
            return False
        self.held += units
        return True

    def release(self) -> None:
        held, self.held = self.held, 0
        if held:
            self._budget.give(held)

    def __enter__(self) -> Lease:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
