"""Helpers of the end-to-end tests: the bridge as a subprocess, images, MQTT publishing."""

from __future__ import annotations

import io
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import yaml
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from tests.conftest import merge_sections
from tests.e2e.processes import BIN, ManagedProcess, wait_until
from tests.mosquitto import Mosquitto, free_port
from tests.mosquitto import publish as publish  # re-exported: the e2e tests import it here

FAKE_TOKEN = "test-token"
FAKE_PLATE = "nhk552"  # what the fake API reads on any image
ENGINE_PLATE = "ab12cde"  # what the local engine reads on `plate_jpeg()`


class BridgeRunner:
    """Starts `plate-bridge -v run -c <file>` subprocesses; stops them at teardown."""

    def __init__(
        self,
        directory: Path,
        broker: Mosquitto,
        diagnostics: Callable[[str, Callable[[], str]], None],
    ) -> None:
        self.directory = directory
        self.broker = broker
        self.diagnostics = diagnostics
        self.processes: list[ManagedProcess] = []

    def config(
        self, base_topic: str, api_url: str, *, name: str | None = None, **sections: Any
    ) -> dict[str, Any]:
        """A configuration for the shared broker; `sections` are merged in (one level).

        `name` (default: the base topic) names the instance: its client id, state
        directory, configuration and log files.
        """
        name = name or base_topic
        data: dict[str, Any] = {
            "mqtt": {
                "host": self.broker.host,
                "port": self.broker.port,
                "client_id": f"e2e-{name}",
                "base_topic": base_topic,
                "reconnect_min_delay": 1,
                "reconnect_max_delay": 2,
            },
            "api": {"url": api_url, "retries": 1},
            "storage": {"path": str(self.directory / name / "state")},
            "pipeline": {"metrics_interval": 0, "shutdown_timeout": 5},
        }
        return merge_sections(data, sections)

    def start(self, config: dict[str, Any], *, token: str | None = None) -> ManagedProcess:
        name = str(config["mqtt"]["client_id"]).removeprefix("e2e-")
        path = self.directory / f"{name}.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        env = {"PLATE_BRIDGE_API__TOKEN": token} if token else {}
        process = ManagedProcess(
            f"bridge {name}",
            [str(BIN / "plate-bridge"), "-v", "run", "-c", str(path)],
            self.directory / f"{name}.log",
            env=env,
            drop_env=("PLATE_BRIDGE_", "PLATE_RECOGNIZER_"),
        ).start()
        self.processes.append(process)
        self.diagnostics(f"bridge {name} log", process.tail)
        return process

    def stop_all(self) -> list[int | None]:
        return [process.stop() for process in self.processes]


def plate_jpeg(text: str = "AB12CDE") -> bytes:
    """A synthetic car-less plate the local engine reads (the engine tests' image)."""
    from tests.engine.test_server import plate_image

    return plate_image(text)


def small_jpeg() -> bytes:
    """Any JPEG: the fake API reads `nhk552` on every image."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (40, 90, 160)).save(buffer, "JPEG")
    return buffer.getvalue()


class NodeRedRunner:
    """Starts Node-RED with a flow file in a private user directory; stops it at teardown."""

    def __init__(
        self,
        binary: Path,
        directory: Path,
        diagnostics: Callable[[str, Callable[[], str]], None],
    ) -> None:
        self.binary = binary
        self.directory = directory
        self.diagnostics = diagnostics
        self.process: ManagedProcess | None = None
        self.port = 0

    def start(self, flow: Path, env: dict[str, str], *, within: float = 60.0) -> ManagedProcess:
        user_dir = self.directory / "node-red"
        user_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(flow, user_dir / "flows.json")
        self.port = free_port()
        self.process = ManagedProcess(
            "node-red",
            [
                str(self.binary),
                "--userDir",
                str(user_dir),
                "--port",
                str(self.port),
                "--define",
                "uiHost=127.0.0.1",
                "--no-telemetry",
                "flows.json",
            ],
            self.directory / "node-red.log",
            env=env,
        ).start()
        self.diagnostics("node-red log", self.process.tail)
        self.process.wait_for_output(r"Started flows", within=within)
        return self.process

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()


def wait_online(
    broker: Mosquitto, bridge: ManagedProcess, base_topic: str, within: float = 60.0
) -> None:
    """Until the bridge's inputs are subscribed, without a fixed wait.

    The bridge subscribes, then publishes a retained `online` on the same connection,
    which the broker handles in order; the instance before it left `offline` (graceful
    stop). So once the broker holds `online`, the snapshot topic is subscribed.
    """
    seen: list[bytes] = []
    client = paho.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    client.on_message = lambda _client, _userdata, message: seen.append(message.payload)
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        client.subscribe(f"{base_topic}/status", qos=1)
        wait_until(
            lambda: bool(seen) and seen[-1] == b"online",
            within=within,
            what="the bridge announcing itself online",
            details=lambda: bridge.tail(30),
        )
    finally:
        client.disconnect()
        client.loop_stop()
