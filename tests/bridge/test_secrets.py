"""Secrets never reach the bridge's log, its MQTT topics or its outbox.

A proxy or captive portal between the bridge and the API echoes the request's
`Authorization` header into a 200 HTML page (and other shapes); Frigate's login
answers `Set-Cookie: frigate_token=<JWT>`, which httpcore logs at `-vv`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
import yaml
from aiohttp import web

from bridge.cli import main as cli_main
from bridge.service import BridgeService
from tests.bridge.conftest import Subscriber, make_config, publish, running, until
from tests.bridge.fake_frigate import frigate_event
from tests.bridge.test_frigate_client import PASSWORD as FRIGATE_PASSWORD
from tests.bridge.test_frigate_client import FakeFrigate as LoginFrigate
from tests.conftest import REPO
from tests.fake_api.images import jpeg_bytes
from tests.fake_api.server import FakePlateRecognizer
from tests.mosquitto import Mosquitto, free_port

TOKEN = "0123456789abcdef0123456789abcdef01234567"
MQTT_PASSWORD = "mqtt-pa55word-xyzzy"
PORTAL = (
    "<html><head><title>Hotel Wi-Fi: Authorization: Token {token}</title></head>"
    "<body>You sent Authorization: Token {token}</body></html>"
)

# name -> (fault, body, content type, retryable kind published)
SHAPES: dict[str, tuple[Any, Any, str | None, str]] = {
    "200 html page": ("garbage", PORTAL, "text/html", "api_error"),
    "200 invalid json": ("garbage", '{"echo": "Token {token}", ', "application/json", "api_error"),
    "200 wrong shape": (
        "wrong-shape",
        {"results": [{"plate": "Token {token}", "box": "{token}"}]},
        None,
        "api_error",
    ),
    "503 html echo": (503, PORTAL, None, "api_unavailable"),
    "403 echo": (403, {"detail": "Invalid token Token {token}."}, None, "forbidden"),
}


def _fill(body: Any) -> Any:
    if isinstance(body, str):
        return body.replace("{token}", TOKEN)
    if isinstance(body, dict):
        return {k: _fill(v) for k, v in body.items()}
    if isinstance(body, list):
        return [_fill(v) for v in body]
    return body


def stored_bytes(folder: Path) -> bytes:
    """Every byte the bridge wrote under `folder` (the outbox and its WAL, the history)."""
    return b"".join(path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file())


@pytest.mark.parametrize("shape", list(SHAPES))
async def test_an_echoed_token_stays_out_of_mqtt_outbox_and_log(
    mosquitto: Mosquitto,
    subscriber: Subscriber,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    shape: str,
) -> None:
    fault, body, content_type, kind = SHAPES[shape]
    caplog.set_level(logging.DEBUG)
    async with FakePlateRecognizer(mode="cloud", tokens=(TOKEN,)) as fake:
        fake.fail_next(fault, times=2, body=_fill(body), content_type=content_type)
        config = make_config(
            tmp_path,
            mosquitto,
            fake.url,
            token=TOKEN,
            api={"lookups_per_second": 100},
            pipeline={"cooldown": 0, "metrics_interval": 0},
        )
        async with running(config) as service:
            publish(mosquitto, "pb/gate/snapshot", jpeg_bytes())
            errors = await subscriber.wait_for("pb/errors", within=60)
            await until(lambda: service.metrics.last_error is not None, within=60)
            # The metrics are republished after an error, with it as `last_error`.
            await until(
                lambda: any(b'"last_error":{' in m.payload for m in subscriber.on("pb/metrics")),
                within=60,
            )
        assert fake.requests[0].token == TOKEN  # it was sent, to the API only
    assert errors[0].json()["kind"] == kind
    for message in subscriber.messages:
        assert TOKEN.encode() not in message.payload, message.topic
    assert TOKEN.encode() not in stored_bytes(config.storage.path)
    assert TOKEN not in caplog.text


async def test_an_echoed_token_stays_out_of_the_outbox(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """With the broker away, the error event waits in the outbox: without the token."""
    caplog.set_level(logging.DEBUG)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    nobody = SimpleNamespace(host="127.0.0.1", port=free_port())  # no broker listens here
    async with FakePlateRecognizer(mode="cloud", tokens=(TOKEN,)) as fake:
        fake.fail_next("garbage", body=_fill(PORTAL), content_type="text/html")
        config = make_config(
            tmp_path,
            cast(Mosquitto, nobody),
            fake.url,
            token=TOKEN,
            sources={"folders": [{"path": str(inbox), "camera": "gate", "settle": 0.1}]},
            pipeline={"cooldown": 0, "metrics_interval": 0, "shutdown_timeout": 5},
        )
        service = BridgeService(config)
        task = asyncio.create_task(service.run(install_signals=False))
        try:
            await asyncio.wait_for(service.started.wait(), 60)
            (inbox / "car.jpg").write_bytes(jpeg_bytes())

            def waiting() -> list[bytes]:
                return [m.message.payload for m in service.outbox.pending()]

            await until(lambda: any(b'"kind":"api_error"' in p for p in waiting()), within=60)
            payloads = waiting()
        finally:
            service.stop()
            await asyncio.wait_for(task, 60)
    assert any(b"HTML page" in payload for payload in payloads)
    for payload in payloads:
        assert TOKEN.encode() not in payload
    assert TOKEN.encode() not in stored_bytes(config.storage.path)
    assert TOKEN not in caplog.text


async def poll(condition: Callable[[], bool], within: float) -> bool:
    """Whether `condition()` became true within `within` seconds."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def test_debug_log_of_the_real_command_hides_every_secret(
    mosquitto: Mosquitto, subscriber: Subscriber, tmp_path: Path
) -> None:
    """`plate-bridge -vv run`: Frigate login (Set-Cookie JWT), an echoing proxy, MQTT auth."""
    frigate = LoginFrigate(auth="login")
    frigate.events = {f"ev-{n}": jpeg_bytes() for n in range(100)}
    runner = web.AppRunner(frigate.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    frigate_port = runner.addresses[0][1]
    log_path = tmp_path / "bridge.log"
    async with FakePlateRecognizer(mode="cloud", tokens=(TOKEN,)) as fake:
        fake.fail_next("garbage", times=100, body=_fill(PORTAL), content_type="text/html")
        config = {
            "mqtt": {
                "host": mosquitto.host,
                "port": mosquitto.port,
                "username": "bridge",
                "password": MQTT_PASSWORD,
                "client_id": "bridge-secrets",
                "base_topic": "pb",
            },
            "api": {"url": fake.url, "token": TOKEN, "retries": 0, "lookups_per_second": 100},
            "sources": {
                "frigate": {
                    # Credentials in the URL: they must not show either.
                    "url": f"http://admin:{FRIGATE_PASSWORD}@127.0.0.1:{frigate_port}",
                    "snapshot": {"height": 480},
                }
            },
            "storage": {"path": str(tmp_path / "state")},
            "pipeline": {"cooldown": 0, "metrics_interval": 0},
        }
        config_path = tmp_path / "config.yaml"
        config_path.write_text(yaml.safe_dump(config))
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        env = {k: v for k, v in env.items() if not k.startswith("PLATE_BRIDGE_")}
        with log_path.open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bridge",
                "-vv",
                "run",
                "-c",
                str(config_path),
                stdout=log,
                stderr=log,
                cwd=REPO,
                env=env,
            )
            try:
                # Publish until the bridge has subscribed and read one: a message sent
                # before its subscription is simply not delivered. No fixed waits.
                deadline = time.monotonic() + 120
                n = 0
                while not subscriber.on("pb/errors"):
                    assert time.monotonic() < deadline, log_path.read_text()[-3000:]
                    assert process.returncode is None, log_path.read_text()[-3000:]
                    publish(mosquitto, "frigate/events", frigate_event("new", f"ev-{n}"))
                    n += 1
                    await poll(lambda: bool(subscriber.on("pb/errors")), 3)
                assert await poll(
                    lambda: any(
                        b'"last_error":{' in m.payload for m in subscriber.on("pb/metrics")
                    ),
                    60,
                )
            finally:
                if process.returncode is None:
                    process.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(process.wait(), 60)
                finally:
                    if process.returncode is None:
                        process.kill()
                        await process.wait()
                    await runner.cleanup()
    text = log_path.read_text()
    assert frigate.logins >= 1 and frigate.issued
    assert "set-cookie" in text.lower()  # httpcore logged the login's headers ...
    secrets = [TOKEN, MQTT_PASSWORD, FRIGATE_PASSWORD, *frigate.issued]
    for secret in secrets:
        assert secret not in text  # ... redacted, like everything else
        for message in subscriber.messages:
            assert secret.encode() not in message.payload, message.topic
        assert secret.encode() not in stored_bytes(tmp_path / "state")
    errors = [m.json() for m in subscriber.on("pb/errors") if m.json()["kind"] == "api_error"]
    assert errors
    assert "HTML page" in errors[0]["message"]


def test_check_config_never_prints_a_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "mqtt": {"host": "broker", "username": "u", "password": MQTT_PASSWORD},
                "api": {"url": f"http://engine:{MQTT_PASSWORD}x@10.0.0.2:8080", "token": TOKEN},
                "sources": {
                    "frigate": {"url": f"http://admin:{FRIGATE_PASSWORD}@frigate:5000"},
                },
            }
        )
    )
    assert cli_main(["check-config", "-c", str(path)]) == 0
    out = capsys.readouterr()
    assert "OK" in out.out
    assert "frigate at http://***@frigate:5000" in out.out
    for secret in (TOKEN, MQTT_PASSWORD, FRIGATE_PASSWORD):
        assert secret not in out.out + out.err
