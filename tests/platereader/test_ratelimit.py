"""The shared rate limiter: exact spacing on a fake clock, and no 429 against a real window."""

from __future__ import annotations

import asyncio

import pytest

from platereader import PlateReader, RateLimiter
from tests.fake_api import FakePlateRecognizer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_slots_are_spaced_by_the_rate_plus_guard() -> None:
    clock = Clock()
    limiter = RateLimiter(8.0, guard=0.0, clock=clock)
    waits = [limiter.reserve() for _ in range(5)]
    assert waits == pytest.approx([0.0, 0.125, 0.25, 0.375, 0.5])


def test_guard_stretches_each_window() -> None:
    limiter = RateLimiter(1.0, guard=0.01, clock=Clock())
    assert [limiter.reserve() for _ in range(3)] == pytest.approx([0.0, 1.01, 2.02])


def test_idle_time_is_not_banked_beyond_the_burst() -> None:
    clock = Clock()
    limiter = RateLimiter(2.0, burst=2, guard=0.0, clock=clock)
    clock.now += 60  # a long idle period
    assert [limiter.reserve() for _ in range(4)] == pytest.approx([0.0, 0.0, 0.5, 1.0])


def test_pause_holds_everyone_back() -> None:
    clock = Clock()
    limiter = RateLimiter(10.0, guard=0.0, clock=clock)
    limiter.pause(3.0)
    assert limiter.reserve() == pytest.approx(3.0)
    assert limiter.reserve() == pytest.approx(3.1)


def test_unlimited() -> None:
    limiter = RateLimiter(None)
    limiter.pause(5)
    assert limiter.unlimited
    assert [limiter.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 1), (-1.0, 1), (1.0, 0)])
def test_invalid_settings(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match="must be"):
        RateLimiter(rate, burst=burst)


async def test_concurrent_callers_share_one_limit_without_429(
    fake_api: FakePlateRecognizer, jpeg: bytes
) -> None:
    """Two clients, 24 concurrent lookups, one limiter: the server never throttles.

    The limiter runs at 40 % of the server's rate, and connections are opened first, so
    that scheduling jitter on a busy test machine (a stalled event loop sending a bunch
    of delayed lookups at once) cannot matter; bench/client_overhead.py measures the
    accuracy itself.
    """
    fake_api.rate_limit = 20.0
    limiter = RateLimiter(8.0)
    async with (
        PlateReader(fake_api.url, "test-token", limiter=limiter, retries=0) as first,
        PlateReader(fake_api.url, "test-token", limiter=limiter, retries=0) as second,
    ):
        await asyncio.gather(first.statistics(), second.statistics())
        await asyncio.gather(*(reader.read(jpeg) for reader in [first, second] * 12))
    assert [r.status for r in fake_api.requests] == [200] * 24
    arrivals = sorted(r.received_at for r in fake_api.requests)
    # Together they kept one pace: 23 intervals of 1/8 s is 2.9 s, where a limiter per
    # client would take 1.4 s. The margin absorbs a late first arrival on a busy machine.
    assert arrivals[-1] - arrivals[0] >= 2.0
