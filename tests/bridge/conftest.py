"""Fixtures of the bridge tests: a real mosquitto, the fake API, a subscriber, the service."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import paho.mqtt.client as paho
import pytest
import pytest_socket
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from bridge.config import BridgeConfig
from bridge.service import BridgeService
from tests.conftest import merge_sections
from tests.fake_api.fixtures import fake_api, fake_onprem
from tests.mosquitto import Mosquitto, mosquitto, mosquitto_persistent
from tests.mosquitto import publish as publish  # re-exported: the bridge tests import it here

__all__ = ["fake_api", "fake_onprem", "mosquitto", "mosquitto_persistent"]


@pytest.fixture(autouse=True)
def _sockets(socket_enabled: None) -> None:
    """The Home Assistant plugin blocks sockets; these tests need real ones."""
    pytest_socket.enable_socket()


@dataclass
class Received:
    topic: str
    payload: bytes
    retain: bool
    at: float

    def json(self) -> Any:
        return json.loads(self.payload)


class Subscriber:
    """A paho client that records every message under the filters it subscribes to."""

    def __init__(self, broker: Mosquitto, filters: tuple[str, ...] = ("#",), **kw: Any) -> None:
        self.messages: list[Received] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=kw.get("client_id", ""),
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        self.filters = filters
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        self.client.reconnect_delay_set(1, 1)
        self.broker = broker
        self.persistent = bool(kw.get("persistent"))
        self.connects = 0

    def _on_connect(self, client: paho.Client, *args: Any) -> None:
        self.connects += 1
        client.subscribe([(f, 1) for f in self.filters])

    def _on_message(self, client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        with self._lock:
            self.messages.append(Received(msg.topic, msg.payload, bool(msg.retain), time.time()))

    def start(self) -> Subscriber:
        if self.persistent:
            properties = Properties(PacketTypes.CONNECT)
            properties.SessionExpiryInterval = 600
            self.client.connect(
                self.broker.host, self.broker.port, clean_start=False, properties=properties
            )
        else:
            self.client.connect(self.broker.host, self.broker.port)
        self.client.loop_start()
        if not self._subscribed.wait(30):
            raise TimeoutError("subscriber did not subscribe")
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def on(self, topic: str) -> list[Received]:
        with self._lock:
            return [m for m in self.messages if paho.topic_matches_sub(topic, m.topic)]

    async def wait_for(self, topic: str, count: int = 1, within: float = 60.0) -> list[Received]:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            found = self.on(topic)
            if len(found) >= count:
                return found
            await asyncio.sleep(0.02)
        found = self.on(topic)
        raise AssertionError(
            f"expected {count} messages on {topic}, got {len(found)}: "
            f"{[m.topic for m in self.messages][-20:]}"
        )


@pytest.fixture
def subscriber(mosquitto: Mosquitto) -> Iterator[Subscriber]:
    sub = Subscriber(mosquitto).start()
    yield sub
    sub.stop()


async def until(predicate: Any, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def make_config(
    tmp_path: Path,
    broker: Mosquitto,
    api_url: str,
    *,
    token: str | None = None,
    **sections: Any,
) -> BridgeConfig:
    """A valid configuration for the test broker and fake API; `sections` override."""
    data: dict[str, Any] = {
        "mqtt": {
            "host": broker.host,
            "port": broker.port,
            "client_id": f"bridge-test-{time.monotonic_ns()}",
            "base_topic": "pb",
            "reconnect_min_delay": 1,
            "reconnect_max_delay": 1,
        },
        "api": {"url": api_url, "token": token, "retries": 1},
        "sources": {"snapshot_topics": [{"topic": "pb/{camera}/snapshot"}]},
        "storage": {"path": str(tmp_path / "state")},
        "pipeline": {"metrics_interval": 0, "shutdown_timeout": 5},
    }
    return BridgeConfig.model_validate(merge_sections(data, sections))


_inputs_at_start: weakref.WeakKeyDictionary[BridgeService, int] = weakref.WeakKeyDictionary()


@contextlib.asynccontextmanager
async def running(config: BridgeConfig) -> AsyncIterator[BridgeService]:
    """The service, started, connected and subscribed; stopped gracefully on exit.

    The bridge subscribes to its inputs and then publishes `online`, on one connection,
    which the broker handles in order: once `online` arrives here live, the inputs are
    subscribed. No fixed wait, whatever the machine's load.
    """
    watcher = None
    status = f"{config.mqtt.base_topic}/status"
    if config.mqtt.tls is None:
        broker = SimpleNamespace(host=config.mqtt.host, port=config.mqtt.port)
        watcher = Subscriber(cast(Mosquitto, broker), (status,)).start()
    service = BridgeService(config)
    task = asyncio.create_task(service.run(install_signals=False))
    try:
        await asyncio.wait_for(service.started.wait(), 60)
        assert await service.link.wait_connected(60), "the bridge did not connect"
        if watcher is not None:
            await until(
                lambda: any(m.payload == b"online" and not m.retain for m in watcher.on(status))
            )
        # Discovery's start-up marker is an input too: count the test's from here on.
        await asyncio.wait_for(service.discovery.synced.wait(), 60)
        _inputs_at_start[service] = service.metrics["inputs"]
        yield service
    finally:
        if watcher is not None:
            watcher.stop()
        service.stop()
        await asyncio.wait_for(task, 60)


async def taken_in(service: BridgeService, count: int) -> None:
    """Wait until the bridge has taken in `count` MQTT inputs since `running()` yielded."""
    start = _inputs_at_start.get(service, 0)
    await until(lambda: service.metrics["inputs"] - start >= count)


async def handled(service: BridgeService, count: int) -> None:
    """`taken_in`, then wait until every read they caused is finished: a causal wait
    for "the bridge is done with what the test sent", never a fixed sleep."""
    await taken_in(service, count)
    assert await service.pipeline.drain(60), "the pipeline did not drain"


@pytest.fixture
def config_factory(tmp_path: Path, mosquitto: Mosquitto) -> Callable[..., BridgeConfig]:
    def factory(api_url: str, **kw: Any) -> BridgeConfig:
        return make_config(tmp_path, mosquitto, api_url, **kw)

    return factory
