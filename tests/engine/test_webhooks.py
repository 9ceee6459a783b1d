"""Webhooks of the engine, received by local aiohttp servers, with the real recogniser."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiohttp import web

from plate_engine.recognizer import Recognizer
from plate_engine.settings import (
    SettingsError,
    WebhookSettings,
    WebhookTarget,
    load_webhooks,
    parse_webhooks,
    redact_url,
)
from tests.engine import test_server as base
from tests.engine.test_server import PLATE_TEXT, post_file, running_engine, serve_app

# The shared fixtures (the recogniser is loaded once for this module).
recognizer = base.recognizer
plate_jpg = base.plate_jpg
http = base.http

SECRET = "s3cret-hook-token"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    content_type: str
    payload: dict[str, Any]
    upload: bytes | None = None
    upload_filename: str | None = None


@dataclass
class Receiver:
    """Records every POST; answers the scripted statuses in order, then 200."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    attempts: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)  # ends hanging requests

    async def handle(self, request: web.Request) -> web.Response:
        self.attempts += 1
        if request.path == "/hang":
            await self.release.wait()
        if request.content_type == "multipart/form-data":
            form = await request.post()
            upload = form["upload"]
            assert isinstance(upload, web.FileField)
            payload = json.loads(str(form["json"]))
            item = Received(
                request.path,
                dict(request.headers),
                request.content_type,
                payload,
                upload.file.read(),
                upload.filename,
            )
        else:
            item = Received(
                request.path, dict(request.headers), request.content_type, await request.json()
            )
        status = self.statuses.pop(0) if self.statuses else 200
        if status == 200:
            self.received.append(item)
            self.arrived.set()
        return web.Response(status=status, text="ok" if status == 200 else "boom")

    async def wait_for(self, count: int, limit: float = 60.0) -> None:
        async with asyncio.timeout(limit):
            while len(self.received) < count:
                self.arrived.clear()
                await self.arrived.wait()


@pytest_asyncio.fixture
async def receiver(socket_enabled: None) -> AsyncIterator[Receiver]:
    box = Receiver()
    app = web.Application()
    app.router.add_post("/{tail:.*}", box.handle)
    async with serve_app(app) as url:
        box.url = url
        yield box
        box.release.set()


async def eventually(condition: Callable[[], bool], limit: float = 60.0) -> None:
    """Wait until `condition()` holds (the sender counts a delivery after its answer)."""
    async with asyncio.timeout(limit):
        while not condition():  # noqa: ASYNC110 - polls counters of the engine's own tasks
            await asyncio.sleep(0.01)


def hooks(*targets: WebhookTarget, **options: Any) -> WebhookSettings:
    # A generous timeout: a local receiver on a busy machine must never look dead.
    settings: dict[str, Any] = {
        "retries": 2,
        "backoff": 0.05,
        "timeout": 30.0,
        "drain_timeout": 1.0,
    }
    settings.update(options)
    return WebhookSettings(targets=targets, **settings)


async def test_json_webhook(
    recognizer: Recognizer, receiver: Receiver, plate_jpg: bytes, http: httpx.AsyncClient
) -> None:
    target = WebhookTarget(
        id=2, url=receiver.url + "/hook?token=" + SECRET, headers=(("X-Token", SECRET),)
    )
    async with running_engine(recognizer, webhooks=hooks(target)) as engine:
        answer = (await post_file(http, engine.url, plate_jpg, regions="gb")).json()
        await receiver.wait_for(1)
        info = (await http.get(engine.url + "/info/")).json()
    got = receiver.received[0]
    assert got.content_type == "application/json"
    assert got.headers["X-Token"] == SECRET
    assert got.payload["hook"] == {
        "target": receiver.url + "/hook?token=***",
        "id": 2,
        "event": "image.done",
    }
    data = got.payload["data"]
    assert [r["plate"] for r in data["results"]] == [PLATE_TEXT]
    assert data["camera_id"] is None  # JSON null, as the reference's webhook example
    assert answer["camera_id"] == "null"
    assert {k: v for k, v in data.items() if k != "camera_id"} == {
        k: v for k, v in answer.items() if k != "camera_id"
    }
    # /info/ lists the target without its headers or the token in its query.
    assert info["webhooks"] == [
        {"id": 2, "target": receiver.url + "/hook?token=***", "image": False}
    ]
    assert SECRET not in json.dumps(info)


async def test_webhook_with_image(
    recognizer: Recognizer, receiver: Receiver, plate_jpg: bytes, http: httpx.AsyncClient
) -> None:
    target = WebhookTarget(id=1, url=receiver.url + "/with-image", image=True)
    async with running_engine(recognizer, webhooks=hooks(target)) as engine:
        await post_file(http, engine.url, plate_jpg, camera_id="gate")
        await receiver.wait_for(1)
    got = receiver.received[0]
    assert got.content_type == "multipart/form-data"
    assert got.upload == plate_jpg
    assert got.upload_filename == "car.jpg"
    assert got.payload["hook"]["event"] == "image.done"
    assert got.payload["data"]["camera_id"] == "gate"
    assert got.payload["data"]["results"][0]["plate"] == PLATE_TEXT


async def test_webhook_is_sent_even_without_a_plate(
    recognizer: Recognizer, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    async with running_engine(
        recognizer, webhooks=hooks(WebhookTarget(id=1, url=receiver.url))
    ) as engine:
        await post_file(http, engine.url, base.plate_image("x", size=(320, 200)))
        await receiver.wait_for(1)
    assert receiver.received[0].payload["data"]["results"] == []


async def test_webhook_retried_after_a_500(
    recognizer: Recognizer,
    receiver: Receiver,
    plate_jpg: bytes,
    http: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="plate_engine.webhooks")
    receiver.statuses = [500, 503]
    target = WebhookTarget(id=1, url=receiver.url + "/retry", headers=(("Authorization", SECRET),))
    async with running_engine(recognizer, webhooks=hooks(target)) as engine:
        await post_file(http, engine.url, plate_jpg)
        await eventually(lambda: engine.webhooks.stats()[0]["delivered"] == 1)
    assert receiver.attempts == 3
    assert len(receiver.received) == 1
    retries = [
        r.getMessage()
        for r in caplog.records
        if r.name == "plate_engine.webhooks" and "; retry" in r.getMessage()
    ]
    assert len(retries) == 2
    assert "HTTP 500" in retries[0]
    assert SECRET not in caplog.text


async def test_dead_targets_do_not_block_reads_or_other_targets(
    recognizer: Recognizer,
    receiver: Receiver,
    plate_jpg: bytes,
    http: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Causal, not timed: target 2 accepts and never answers until the test ends (its
    # timeout is far longer than the test), so if a read or another target waited for
    # it, this test would hang instead of passing. Nothing here depends on how fast
    # the machine is: the old version relied on 0.5 s timeouts racing the reads.
    caplog.set_level(logging.WARNING, logger="plate_engine.webhooks")
    settings = hooks(
        WebhookTarget(id=1, url="http://user:" + SECRET + "@127.0.0.1:9/refused"),
        WebhookTarget(id=2, url=receiver.url + "/hang"),  # accepts, never answers
        WebhookTarget(id=3, url=receiver.url + "/alive"),
        retries=1,
        backoff=0.05,
        timeout=600,
        queue=2,
        drain_timeout=0.3,
    )
    async with running_engine(recognizer, webhooks=settings) as engine:
        for _ in range(4):
            response = await post_file(http, engine.url, plate_jpg)
            assert response.status_code == 200
        await eventually(lambda: engine.webhooks.stats()[2]["delivered"] == 4)
        await eventually(lambda: engine.webhooks.stats()[0]["failed"] >= 1)

        # Target 2's sender holds its first delivery (hanging) and no more.
        def held_back() -> int:
            hanging = engine.webhooks.stats()[1]
            return int(hanging["dropped"]) + int(hanging["waiting"])

        await eventually(lambda: held_back() == 3)
        stats = {s["id"]: s for s in engine.webhooks.stats()}
        # Every read was answered and target 3 got all four while target 2's first
        # delivery was still hanging: its queue (2) filled up, the rest was dropped.
        assert stats[2]["delivered"] == stats[2]["failed"] == 0
        assert stats[2]["dropped"] >= 1
        assert stats[1]["delivered"] == 0
    assert "webhook 1 (http://127.0.0.1:9/refused)" in caplog.text
    assert "dropping" in caplog.text
    assert SECRET not in caplog.text


def test_webhooks_file_yaml_and_json(tmp_path: Path) -> None:
    yaml_file = tmp_path / "hooks.yaml"
    yaml_file.write_text(
        "webhooks:\n"
        "  - url: http://192.168.1.10:8081/hook\n"
        "  - url: https://example.org/plates\n"
        "    image: true\n"
        "    id: 1\n"
        "    headers:\n"
        "      Authorization: Token abc\n"
        "retries: 5\n"
        "backoff: 2\n"
    )
    settings = load_webhooks(yaml_file)
    assert [(t.id, t.url, t.image) for t in settings.targets] == [
        (2, "http://192.168.1.10:8081/hook", False),
        (1, "https://example.org/plates", True),
    ]
    assert settings.targets[1].headers == (("Authorization", "Token abc"),)
    assert (settings.retries, settings.backoff) == (5, 2.0)

    json_file = tmp_path / "hooks.json"
    json_file.write_text(json.dumps([{"url": "http://localhost:8081/"}]))
    assert load_webhooks(json_file).targets == (WebhookTarget(1, "http://localhost:8081/"),)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"webhooks": [{"url": "ftp://x/"}]}, "webhooks.0.url"),
        ({"webhooks": [{"url": "http://x/", "imgae": True}]}, "webhooks.0.imgae"),
        ({"webhooks": [], "retries": -1}, "retries"),
        ({"webhooks": [{"url": "http://x/", "id": 1}, {"url": "http://y/", "id": 1}]}, "share"),
        ("just text", "mapping or a list"),
    ],
)
def test_webhooks_file_errors_name_the_key(data: Any, expected: str) -> None:
    with pytest.raises(SettingsError, match=expected):
        parse_webhooks(data, "hooks.yaml")


def test_unreadable_webhooks_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot read"):
        load_webhooks(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(SettingsError, match="not valid json"):
        load_webhooks(bad)


def test_redact_url() -> None:
    assert redact_url("http://u:p@host:81/a?token=x&b") == "http://host:81/a?token=***&b"
    assert redact_url("https://[::1]/hook") == "https://[::1]/hook"
