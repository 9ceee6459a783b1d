"""The demo's MQTT broker: mosquitto when it is installed, else the embedded one.

Nothing here installs software: `scripts/demo` installs mosquitto (apt-get) before it
starts the command, where the user asked for a set-up; library code never runs apt-get.

broker = await start_broker("auto", workdir, say=print)
broker.host, broker.port, broker.name
await broker.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Literal, Protocol

from .mqtt_broker import EmbeddedBroker

BrokerChoice = Literal["auto", "mosquitto", "embedded"]
MOSQUITTO_PATHS = (
    "/usr/sbin/mosquitto",
    "/usr/local/sbin/mosquitto",
    "/opt/homebrew/sbin/mosquitto",
)


class BrokerError(Exception):
    """The broker asked for cannot be started; the message says why."""


class Broker(Protocol):
    host: str
    port: int
    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def find_mosquitto() -> str | None:
    found = shutil.which("mosquitto")
    if found:
        return found
    return next((path for path in MOSQUITTO_PATHS if os.access(path, os.X_OK)), None)


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class MosquittoBroker:
    """A private mosquitto on 127.0.0.1: anonymous, no persistence, logging into `workdir`."""

    def __init__(self, binary: str, workdir: Path, host: str = "127.0.0.1") -> None:
        self.binary = binary
        self.host = host
        self.port = _free_port(host)
        self.workdir = workdir
        self.name = "mosquitto"
        self._process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = self.workdir / "mosquitto.log"
        lines = [
            f"listener {self.port} {self.host}",
            "allow_anonymous true",
            "persistence false",
            "set_tcp_nodelay true",
            f"log_dest file {log}",
        ]
        if os.geteuid() == 0:
            lines.append("user root")  # else it drops to `mosquitto`, who cannot write the log
        conf = self.workdir / "mosquitto.conf"
        conf.write_text("\n".join(lines) + "\n", encoding="utf-8")
        # Its own session: Ctrl-C in the terminal reaches the demo, which stops it in order.
        process = self._process = await asyncio.create_subprocess_exec(
            self.binary,
            "-c",
            str(conf),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while loop.time() < deadline:
            if process.returncode is not None:
                stderr = await process.stderr.read() if process.stderr else b""
                self._process = None
                raise BrokerError(
                    f"mosquitto exited with {process.returncode}: "
                    f"{stderr.decode(errors='replace').strip()[-300:]} (log: {log})"
                )
            try:
                _, writer = await asyncio.open_connection(self.host, self.port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            self.name = await self._version()
            return
        await self.stop()
        raise BrokerError(f"mosquitto did not listen on {self.host}:{self.port} within 10 s")

    async def _version(self) -> str:
        try:
            helper = await asyncio.create_subprocess_exec(
                self.binary, "-h", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
            )
            out, _ = await asyncio.wait_for(helper.communicate(), 5)
        except (OSError, TimeoutError):
            return "mosquitto"
        first = (out.decode(errors="replace").splitlines() or [""])[0]
        return (
            "mosquitto " + first.split()[2]
            if first.startswith("mosquitto version")
            else "mosquitto"
        )

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()


async def start_broker(
    choice: BrokerChoice, workdir: Path, *, say: Callable[[str], None]
) -> Broker:
    """Start the broker asked for; `auto`: mosquitto if installed, else embedded."""
    broker: Broker
    if choice in ("auto", "mosquitto"):
        binary = find_mosquitto()
        if binary is not None:
            broker = MosquittoBroker(binary, workdir)
            try:
                await broker.start()
            except BrokerError as err:
                if choice == "mosquitto":
                    raise
                say(f"{err}; using the embedded broker instead")
            else:
                return broker
        elif choice == "mosquitto":
            raise BrokerError(
                "mosquitto is not installed (scripts/demo installs it, or apt-get install "
                "mosquitto), or use --broker embedded"
            )
        else:
            say("mosquitto is not installed: using the embedded broker")
    broker = EmbeddedBroker()
    await broker.start()
    return broker
