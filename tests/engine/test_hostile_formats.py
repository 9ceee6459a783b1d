"""`text_formats` from requests cannot freeze the engine (issue 10, ReDoS).

Before: one config with ``"(.*)" * 42 + "#"`` (170 bytes) made Python's `re` backtrack
while holding the GIL: /info/ timed out for minutes and SIGTERM was ignored. The engine
runs here as the real command in its own process, so a regression freezes that process
(and the test kills it), never the test runner.
"""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

import httpx

from tests.engine import test_server as base
from tests.engine.engine_process import engine_process
from tests.engine.test_server import post_file

plate_jpg = base.plate_jpg
http = base.http

HOSTILE = "(.*)" * 42 + "#"


async def test_a_hostile_pattern_cannot_freeze_the_engine(
    plate_jpg: bytes, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    async with engine_process(workers=2) as engine:
        url, process = engine.url, engine.process
        config = json.dumps({"text_formats": [HOSTILE, HOSTILE[:-1] + "x"]})
        hostile = [
            asyncio.create_task(post_file(http, url, plate_jpg, config=config)) for _ in range(2)
        ]
        # While the hostile reads run (or after): the engine answers other requests.
        for _ in range(5):
            info = await http.get(url + "/info/", timeout=10)
            assert info.status_code == 200
        for response in await asyncio.wait_for(asyncio.gather(*hostile), 60):
            assert response.status_code == 200
            assert [r["plate"] for r in response.json()["results"]] == [base.PLATE_TEXT]
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(20):
            await process.wait()
        assert process.returncode == 0
