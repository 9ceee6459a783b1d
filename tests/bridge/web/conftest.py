"""Helpers of the web page tests: a running bridge with its page, and an HTTP client.

Everything is real: the bridge (`tests.bridge.conftest.running`), mosquitto, the fake
API and HTTP over loopback (aiohttp's client).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

from bridge.config import BridgeConfig
from bridge.service import BridgeService
from bridge.web import WebServer
from tests.bridge.conftest import make_config, running
from tests.mosquitto import Mosquitto, free_port

TOKEN = "web-token-0123456789abcdef"  # a test's token
DEADLINE = 30.0


def web_config(
    tmp_path: Path, broker: Mosquitto, api_url: str, *, web: dict[str, Any] | None = None, **kw: Any
) -> BridgeConfig:
    """A test configuration with the web page on a free port of 127.0.0.1."""
    return make_config(
        tmp_path,
        broker,
        api_url,
        web={"port": free_port(), **(web or {})},
        pipeline={"cooldown": 0, "metrics_interval": 0, "shutdown_timeout": 5},
        **kw,
    )


@asynccontextmanager
async def serving(config: BridgeConfig) -> AsyncIterator[tuple[BridgeService, str]]:
    """The bridge running, and its page's base URL (ending in '/')."""
    async with running(config) as service:
        assert isinstance(service.web, WebServer)
        yield service, service.web.url


def session(**kw: Any) -> aiohttp.ClientSession:
    # unsafe: keep cookies set by an IP address (127.0.0.1), as a browser does.
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), **kw)


async def eventually(check: Callable[[], Any], within: float = DEADLINE) -> Any:
    """Poll `check` (sync or async) until it returns something truthy."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "no CSRF field in the page"
    return found.group(1)


def message_of(page: str) -> str:
    found = re.search(r'<p id="message"[^>]*>(.*?)</p>', page, re.S)
    assert found, "no #message in the page"
    return found.group(1)
