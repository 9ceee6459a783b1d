"""Broker restarts, the outbox, last will, signals: nothing lost."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.bridge.conftest import Subscriber, make_config, publish, running, until
from tests.bridge.test_service import json_snapshot
from tests.fake_api.images import jpeg_bytes
from tests.fake_api.server import FakePlateRecognizer
from tests.fake_api.threaded import run_in_thread
from tests.mosquitto import Mosquitto

REPO = Path(__file__).resolve().parents[2]


def folder_source(path: Path) -> dict[str, Any]:
    path.mkdir(parents=True, exist_ok=True)
    return {
        "snapshot_topics": [{"topic": "pb/{camera}/snapshot"}],
        "folders": [{"path": str(path), "camera": "ftp", "settle": 0, "poll_interval": 0.05}],
    }


@pytest.mark.slow
async def test_reconnects_and_resubscribes_after_broker_restart(
    fake_onprem: FakePlateRecognizer, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    config = make_config(
        tmp_path, mosquitto, fake_onprem.url, pipeline={"cooldown": 0, "metrics_interval": 0}
    )
    async with running(config) as service:
        sub = Subscriber(mosquitto, ("pb/#",)).start()
        try:
            publish(mosquitto, "pb/gate/snapshot", json_snapshot(id="before"))
            await sub.wait_for("pb/plates")
            # No persistence: the broker forgets every session and subscription.
            await asyncio.to_thread(mosquitto.restart, kill=True, down_for=0.5)
            await until(lambda: service.link.connections == 2 and sub.connects == 2)
            assert service.metrics["mqtt_disconnects"] == 1
            # The bridge resubscribes, then announces `online`: once that reaches our
            # (resubscribed) client, both subscriptions are in place. No fixed wait.
            await until(lambda: [m.payload for m in sub.on("pb/status")].count(b"online") >= 2)
            publish(mosquitto, "pb/gate/snapshot", json_snapshot(id="after"))
            events = await sub.wait_for("pb/plates", 2)
        finally:
            sub.stop()
    assert [e.json()["source_event_id"] for e in events] == ["before", "after"]
    statuses = [m.payload for m in sub.on("pb/status")]
    assert statuses.count(b"online") >= 2  # announced again after reconnecting


@pytest.mark.slow
async def test_results_wait_on_disk_while_the_broker_is_away(
    fake_onprem: FakePlateRecognizer, mosquitto_persistent: Mosquitto, tmp_path: Path
) -> None:
    broker = mosquitto_persistent
    inbox = tmp_path / "ftp"
    config = make_config(
        tmp_path,
        broker,
        fake_onprem.url,
        sources=folder_source(inbox),
        pipeline={"cooldown": 0, "metrics_interval": 0},
    )
    sub = Subscriber(broker, ("pb/+/plate",), client_id="watcher", persistent=True).start()
    try:
        async with running(config) as service:
            await asyncio.to_thread(broker.stop)
            await until(lambda: not service.link.connected)
            for n in range(5):
                (inbox / f"car{n}.jpg").write_bytes(jpeg_bytes())
            await until(lambda: service.metrics["plates_published"] == 5)
            assert len(service.outbox) >= 15  # 3 messages per read, on disk
            # The files were read, then deleted (just after publication, by a worker thread).
            await until(lambda: not list(inbox.iterdir()))
            await asyncio.to_thread(broker.start)
            await until(lambda: service.link.backlog == 0)
            events = await sub.wait_for("pb/ftp/plate", 5)
    finally:
        sub.stop()
    assert sorted(e.json()["source_event_id"] for e in events) == [f"car{n}.jpg" for n in range(5)]


@pytest.mark.slow
async def test_outbox_survives_a_bridge_restart(
    fake_onprem: FakePlateRecognizer, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    inbox = tmp_path / "ftp"
    config = make_config(
        tmp_path,
        mosquitto,
        fake_onprem.url,
        sources=folder_source(inbox),
        pipeline={"cooldown": 0, "metrics_interval": 0},
    )
    mosquitto.stop()
    from bridge.service import BridgeService

    first = BridgeService(config)
    task = asyncio.create_task(first.run(install_signals=False))
    await asyncio.wait_for(first.started.wait(), 60)
    (inbox / "gate.jpg").write_bytes(jpeg_bytes())
    await until(lambda: first.metrics["plates_published"] == 1)
    first.stop()
    await asyncio.wait_for(task, 60)
    mosquitto.start()
    sub = Subscriber(mosquitto, ("pb/#",)).start()
    try:
        async with running(config) as second:
            events = await sub.wait_for("pb/ftp/plate")
            await until(lambda: second.link.backlog == 0)
    finally:
        sub.stop()
    assert events[0].json()["source_event_id"] == "gate.jpg"
    assert len(fake_onprem.requests) == 1  # published again, not read again


def _write_config(path: Path, broker: Mosquitto, api_url: str, state: Path) -> None:
    path.write_text(
        yaml.safe_dump(
            {
                "mqtt": {
                    "host": broker.host,
                    "port": broker.port,
                    "base_topic": "pb",
                    "client_id": "subprocess-bridge",
                    "keepalive": 5,
                },
                "api": {"url": api_url},
                "sources": {"snapshot_topics": [{"topic": "pb/{camera}/snapshot"}]},
                "storage": {"path": str(state)},
            }
        )
    )


def _start_bridge(config: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "bridge", "-v", "run", "-c", str(config)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


@pytest.mark.slow
def test_last_will_and_sigterm(mosquitto: Mosquitto, tmp_path: Path) -> None:
    """The CLI service: `offline` by last will when killed; SIGTERM finishes the read in flight."""
    config = tmp_path / "config.yaml"
    sub = Subscriber(mosquitto, ("pb/#",)).start()
    try:
        with run_in_thread(mode="onprem") as fake:
            _write_config(config, mosquitto, fake.url, tmp_path / "state")
            process = _start_bridge(config)
            try:
                _wait(lambda: [m.payload for m in sub.on("pb/status")] == [b"online"], process)
                process.send_signal(signal.SIGKILL)
                process.wait(60)
                _wait(lambda: sub.on("pb/status")[-1].payload == b"offline", process)

                fake.delay = 1.0
                process = _start_bridge(config)
                # `online` is published after subscribing: the inputs are subscribed.
                _wait(lambda: sub.on("pb/status")[-1].payload == b"online", process)
                publish(mosquitto, "pb/gate/snapshot", jpeg_bytes())
                _wait(lambda: len(fake.requests) == 1, process)
                process.send_signal(signal.SIGTERM)  # while the API is still answering
                assert process.wait(60) == 0
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()
        stderr = process.stderr.read().decode() if process.stderr else ""
        assert sub.on("pb/gate/plate"), stderr
        assert sub.on("pb/status")[-1].payload == b"offline"
    finally:
        sub.stop()


def _wait(predicate: Any, process: subprocess.Popen[bytes], within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if process.poll() is not None and process.returncode != -signal.SIGKILL:
            err = process.stderr.read().decode() if process.stderr else ""
            raise AssertionError(f"bridge exited with {process.returncode}: {err}")
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)
