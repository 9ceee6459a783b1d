"""A real mosquitto broker for tests and benchmarks.

    with Mosquitto() as broker:          # free port on 127.0.0.1, anonymous, no persistence
        broker.port
        broker.restart(down_for=1.0)     # same port: clients must reconnect

As a pytest fixture: `pytest_plugins = ["tests.mosquitto"]`, then request
`mosquitto` (skips the test when mosquitto is not installed).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Self

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

CANDIDATES = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto", "/opt/homebrew/sbin/mosquitto")


def find_mosquitto() -> str | None:
    found = shutil.which("mosquitto")
    if found:
        return found
    return next((path for path in CANDIDATES if os.access(path, os.X_OK)), None)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def publish(broker: Mosquitto, topic: str, payload: bytes | str, *, retain: bool = False) -> None:
    """Publish one message with QoS 1 and wait for the broker's acknowledgement."""
    client = paho.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(30)
    finally:
        client.disconnect()
        client.loop_stop()


class Mosquitto:
    """One mosquitto process on 127.0.0.1; `restart` keeps the port.

    `persistence=True` keeps sessions and queued messages across a restart
    (mosquitto writes its database when it stops), as a production broker does.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        persistence: bool = False,
        log: bool = False,
        tls: tuple[Path, Path, Path] | None = None,
    ) -> None:
        """`tls`: (CA file, server certificate, server key) to listen with TLS only."""
        binary = find_mosquitto()
        if binary is None:
            raise FileNotFoundError("mosquitto is not installed")
        self.binary = binary
        self.port = port or free_port()
        self.persistence = persistence
        self._dir = Path(tempfile.mkdtemp(prefix="mosquitto-"))
        self._log = log
        self._process: subprocess.Popen[bytes] | None = None
        self.config_path = self._dir / "mosquitto.conf"
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            f"persistence {'true' if persistence else 'false'}",
            f"persistence_location {self._dir}/",
            "max_queued_messages 100000",
            "max_inflight_messages 0",
            "log_dest stderr" if log else "log_type none",
        ]
        if tls is not None:
            cafile, certfile, keyfile = tls
            lines += [f"cafile {cafile}", f"certfile {certfile}", f"keyfile {keyfile}"]
        if os.geteuid() == 0:
            # Started as root, mosquitto drops to the `mosquitto` user, which cannot
            # write its database into our private temporary directory.
            lines.append("user root")
        self.config_path.write_text("\n".join(lines) + "\n")

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError("mosquitto is not running")
        return self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 10.0) -> None:
        if self.running:
            return
        self._process = subprocess.Popen(
            [self.binary, "-c", str(self.config_path)],
            stdout=subprocess.DEVNULL,
            stderr=None if self._log else subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"mosquitto exited with {self._process.returncode}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection((self.host, self.port), timeout=0.2),
            ):
                return
            time.sleep(0.02)
        self.stop()
        raise TimeoutError(f"mosquitto did not accept connections on {self.port}")

    def stop(self, *, kill: bool = False) -> None:
        """Stop the broker (SIGTERM: it saves its database; `kill`: SIGKILL, it does not)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def restart(self, *, down_for: float = 0.0, kill: bool = False) -> None:
        self.stop(kill=kill)
        if down_for > 0:
            time.sleep(down_for)
        self.start()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()


@pytest.fixture
def mosquitto(socket_enabled: None) -> Iterator[Mosquitto]:
    """A started broker on a free port, stopped (and its files removed) at teardown."""
    if find_mosquitto() is None:
        pytest.skip("mosquitto is not installed")
    with Mosquitto() as broker:
        yield broker


@pytest.fixture
def mosquitto_persistent(socket_enabled: None) -> Iterator[Mosquitto]:
    """Like `mosquitto`, with persistence: sessions survive `restart()`."""
    if find_mosquitto() is None:
        pytest.skip("mosquitto is not installed")
    with Mosquitto(persistence=True) as broker:
        yield broker
