"""Shared plumbing of the bridge benchmarks: a real mosquitto, the fake API and the
bridge as separate processes (as in production), plus MQTT publisher/subscriber helpers.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import yaml
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from PIL import Image, ImageFilter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._fakeserver import FakeApiProcess, fake_api_process  # noqa: E402
from tests.mosquitto import Mosquitto  # noqa: E402

__all__ = ["ROOT", "Mosquitto"]


def camera_jpeg(width: int = 1280, height: int = 720) -> bytes:
    """A JPEG the size of a 720p camera snapshot (~115 KiB: blurred noise over a gradient)."""
    noise = Image.effect_noise((width, height), 60).filter(ImageFilter.GaussianBlur(1.2))
    gradient = Image.linear_gradient("L").resize((width, height))
    image = Image.blend(gradient.convert("RGB"), noise.convert("RGB"), 0.5)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


@contextlib.contextmanager
def fake_api() -> Iterator[FakeApiProcess]:
    """The fake Plate Recognizer API (on-premise flavour, answers at once) in its own process."""
    with fake_api_process("--mode", "onprem", "--total-calls", str(10**12)) as process:
        yield process


@contextlib.contextmanager
def bridge(config: dict[str, Any]) -> Iterator[subprocess.Popen[bytes]]:
    """`plate-bridge run -c <config>` in its own process; SIGTERM at the end."""
    with tempfile.TemporaryDirectory(prefix="bridge-bench-") as tmp:
        path = Path(tmp) / "config.yaml"
        config.setdefault("storage", {})["path"] = str(Path(tmp) / "state")
        path.write_text(yaml.safe_dump(config))
        process = subprocess.Popen(
            [sys.executable, "-m", "bridge", "run", "-c", str(path)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                process.terminate()
                process.wait(30)


def base_config(broker: Mosquitto, api_url: str, **extra: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "mqtt": {
            "host": broker.host,
            "port": broker.port,
            "base_topic": "pb",
            "client_id": "bench-bridge",
            "reconnect_min_delay": 1,
            "reconnect_max_delay": 2,
        },
        "api": {"url": api_url, "concurrency": 16},
        "sources": {"snapshot_topics": [{"topic": "pb/{camera}/snapshot"}]},
        "pipeline": {
            "cooldown": 0,  # the fake always answers the same plate: count every read
            "metrics_interval": 1,
            "queue_per_camera": 64,
            "queue_max": 1024,
        },
    }
    config.update(extra)
    return config


class Client:
    """A paho client on its own network thread, collecting messages under `filters`."""

    def __init__(
        self,
        broker: Mosquitto,
        filters: tuple[str, ...] = (),
        *,
        client_id: str = "",
        persistent: bool = False,
    ) -> None:
        self.messages: list[tuple[float, str, bytes]] = []
        self.lock = threading.Lock()
        self.filters = filters
        self.connected = threading.Event()
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5
        )
        self.client.max_inflight_messages_set(1000)
        self.client.reconnect_delay_set(1, 1)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *a: self.connected.clear()
        self.client.on_message = self._on_message
        properties = None
        if persistent:
            properties = Properties(PacketTypes.CONNECT)
            properties.SessionExpiryInterval = 3600
        self.client.connect(
            broker.host, broker.port, clean_start=not persistent, properties=properties
        )
        self.client.loop_start()
        if not self.connected.wait(10):
            raise TimeoutError("cannot connect to the broker")

    def _on_connect(self, client: paho.Client, *args: Any) -> None:
        if self.filters:
            client.subscribe([(f, 1) for f in self.filters])
        self.connected.set()

    def _on_message(self, client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        with self.lock:
            self.messages.append((time.perf_counter(), msg.topic, msg.payload))

    def on(self, topic: str) -> list[tuple[float, str, bytes]]:
        with self.lock:
            return [m for m in self.messages if paho.topic_matches_sub(topic, m[1])]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def wait_until(predicate: Callable[[], bool], within: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def rss_mb(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) of a process in MB, from /proc."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def paced(rate: float, seconds: float) -> Iterator[int]:
    """Yield 0, 1, 2 ... at `rate` per second for `seconds` (absolute schedule, no drift)."""
    start = time.perf_counter()
    total = int(rate * seconds)
    for n in range(total):
        due = start + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        yield n
