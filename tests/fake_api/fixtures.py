"""Pytest fixtures serving the fake API.

``tests/conftest.py`` imports them for the whole tree; elsewhere, import them into a
conftest (``from tests.fake_api.fixtures import fake_api, fake_onprem  # noqa: F401``) or
list ``"tests.fake_api.fixtures"`` in a rootdir conftest's ``pytest_plugins``.

Each fixture requests ``socket_enabled`` because the Home Assistant pytest plugin blocks
sockets before every test.  Configure the yielded server in the test itself (``fake.delay
= 1``, ``fake.fail_next(503)``, ``fake.rate_limit = 1`` ...).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from .server import FakePlateRecognizer
from .threaded import run_in_thread


@pytest_asyncio.fixture
async def fake_api(socket_enabled: None) -> AsyncIterator[FakePlateRecognizer]:
    """A started cloud-mode fake (token ``"test-token"``) in the test's event loop."""
    async with FakePlateRecognizer(mode="cloud") as fake:
        yield fake


@pytest_asyncio.fixture
async def fake_onprem(socket_enabled: None) -> AsyncIterator[FakePlateRecognizer]:
    """A started on-premise fake (no authentication) in the test's event loop."""
    async with FakePlateRecognizer(mode="onprem") as fake:
        yield fake


@pytest.fixture
def fake_api_thread(socket_enabled: None) -> Iterator[FakePlateRecognizer]:
    """A cloud-mode fake served from a background thread, for synchronous tests."""
    with run_in_thread(mode="cloud") as fake:
        yield fake
