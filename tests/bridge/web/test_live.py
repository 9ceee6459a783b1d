"""The live page and its events, pictures, and hostile text, through the real pipeline."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from pathlib import Path
from typing import Any

import aiohttp
from yarl import URL

from bridge.history import FILE_NAME
from tests.bridge.conftest import publish
from tests.bridge.test_service import plate_result
from tests.bridge.web.conftest import DEADLINE, eventually, serving, session, web_config
from tests.fake_api.images import jpeg_bytes
from tests.fake_api.server import FakePlateRecognizer
from tests.mosquitto import Mosquitto

HOSTILE = "<img src=x onerror=alert(1)>"


async def next_read(stream: aiohttp.ClientResponse) -> dict[str, Any]:
    """The data of the next `read` event on an SSE stream."""
    event = None
    while True:
        line = (await asyncio.wait_for(stream.content.readline(), DEADLINE)).decode()
        assert line, "the stream ended"
        if line.startswith("event:"):
            event = line.split(":", 1)[1].strip()
        elif line.startswith("data:") and event == "read":
            data: dict[str, Any] = json.loads(line.split(":", 1)[1])
            return data


async def test_a_read_reaches_the_live_page_as_it_is_made(
    fake_onprem: FakePlateRecognizer, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    fake_onprem.responder = lambda request: [plate_result("AB12CDE")]
    config = web_config(
        tmp_path,
        mosquitto,
        fake_onprem.url,
        watchlist=[{"name": "Family car", "plate": "AB12 CDE"}],
    )
    async with serving(config) as (service, url), session() as http:
        async with http.get(url) as response:
            page = await response.text()
        assert '<ul id="live"' in page and 'class="read"' not in page
        stream = await http.get(url + "events")
        assert stream.headers["Content-Type"] == "text/event-stream"
        await eventually(lambda: service.web_sink is not None and service.web_sink.subscribers)
        publish(mosquitto, "pb/gate/snapshot", jpeg_bytes())
        read = await next_read(stream)
        assert read["plate"] == "AB12CDE"
        assert read["camera"] == "gate"
        assert read["watched"] is True
        assert read["watch_name"] == "Family car"
        assert read["watch_kind"] == "exact"
        assert read["vehicle"] == "Sedan"
        assert read["score"] == 0.9
        assert read["picture"] is True
        async with http.get(url + "picture/" + read["id"]) as response:
            assert response.status == 200
            assert response.content_type == "image/jpeg"
            assert (await response.read())[:2] == b"\xff\xd8"
        async with http.get(url) as response:  # a reload shows it, rendered by the server
            page = await response.text()
        assert 'data-plate="AB12CDE" data-watched="true"' in page
        assert '<span class="status">watched: Family car</span>' in page
        assert f'src="picture/{read["id"]}"' in page
        service.stop()  # the stream ends with the service, it does not hold the shutdown
        assert await asyncio.wait_for(stream.content.read(), DEADLINE) is not None
        stream.release()


async def test_hostile_plate_renders_as_text_everywhere(
    fake_onprem: FakePlateRecognizer, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    fake_onprem.responder = lambda request: [plate_result(HOSTILE), plate_result("<i>AB1</i>")]
    config = web_config(tmp_path, mosquitto, fake_onprem.url)
    async with serving(config) as (service, url), session() as http:
        publish(mosquitto, "pb/gate/snapshot", jpeg_bytes())
        assert service.web_sink is not None
        await eventually(lambda: len(service.web_sink.reads) == 2)  # type: ignore[union-attr]

        async def history_page() -> str | None:
            async with http.get(url + "history") as response:
                text = await response.text()
            return text if text.count('<tr class="read') == 2 else None

        pages = {
            "live": await (await http.get(url)).text(),
            "history": await eventually(history_page),
        }
        async with http.get(url + "plate/IAB1I") as response:
            assert response.status == 200
            pages["plate"] = await response.text()
        escaped = "&lt;img src=x onerror=alert(1)&gt;"
        for name, page in pages.items():
            assert "<img src=x" not in page and "<i>" not in page, name
            assert "&lt;i&gt;AB1&lt;/i&gt;" in page, name
        assert escaped in pages["live"] and escaped in pages["history"]
        assert f'data-plate="{escaped}"' in pages["live"]
        assert '<dd class="count">1</dd>' in pages["plate"]


async def test_pictures_come_only_from_the_snapshots_folder(
    fake_onprem: FakePlateRecognizer, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    fake_onprem.responder = lambda request: [plate_result("AB12CDE")]
    config = web_config(tmp_path, mosquitto, fake_onprem.url, storage={"save_snapshots": True})
    state = tmp_path / "state"
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(b"\xff\xd8 not for the page")
    async with serving(config) as (service, url), session() as http:
        publish(mosquitto, "pb/gate/snapshot", jpeg_bytes())
        history = state / FILE_NAME

        def saved_row() -> tuple[str, str] | None:
            if not history.exists():
                return None
            with sqlite3.connect(history) as db:
                row = db.execute("SELECT id, snapshot FROM reads").fetchone()
            return None if row is None or not Path(row[1]).exists() else (row[0], row[1])

        read_id, snapshot = await eventually(saved_row)
        # Forget the in-memory copy: the picture now comes from the saved file.
        service.web_sink._pictures.clear()  # type: ignore[union-attr]
        async with http.get(url + "picture/" + read_id) as response:
            assert response.status == 200
            assert await response.read() == await asyncio.to_thread(Path(snapshot).read_bytes)
        link = state / "snapshots" / "gate" / "link.jpg"
        os.symlink(secret, link)
        rows = {
            "outside": str(secret),
            "dotdot": f"{state}/snapshots/../../secret.jpg",
            "link": str(link),
            "dir": str(state / "snapshots"),
        }
        with sqlite3.connect(history) as db:
            for name, path in rows.items():
                db.execute(
                    "INSERT INTO reads (id, time, camera, plate, snapshot) VALUES (?, ?, ?, ?, ?)",
                    (f"evil-{name}", "2024-01-01T00:00:00.000Z", "gate", "AB1", path),
                )
        for name in rows:
            async with http.get(url + f"picture/evil-{name}") as response:
                assert response.status == 404, name
        # Sent as written (encoded=True): the client must not tidy the dots away.
        for path in (
            "picture/..%2F..%2Fsecret.jpg",
            "picture/%2e%2e%2f%2e%2e%2fsecret.jpg",
            "picture/a.b",
            "static/..%2f..%2fweb%2fserver.py",
            "static/%2e%2e/server.py",
        ):
            async with http.get(URL(url + path, encoded=True)) as response:
                assert response.status == 404, path
                assert b"not for the page" not in await response.read()
