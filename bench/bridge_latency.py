"""Latency of the bridge on a scripted Frigate stream, and its first read against the rest.

Usage (from the repository root):

    .venv/bin/python bench/bridge_latency.py [--runs 3] [--cars 20]

Real parts, each in its own process: mosquitto, the bridge (``python -m bridge run``, as in
production) and the stand-ins (this script with ``--serve``): Frigate's HTTP API (event
snapshots, a 1280x720 JPEG) and the Plate Recognizer API (on-premise; it answers with a
body recorded once from the fake API, ``tests.fake_api``, so the bridge parses a real
answer). The stand-ins are raw asyncio protocols on loopback so that their timestamps are
exact: the snapshot answer's last byte handed to the kernel, the API request's first byte
read. All processes stamp with ``time.perf_counter`` (CLOCK_MONOTONIC: one clock for all).

Each run starts a fresh bridge and sends ``--cars`` Frigate ``new`` events one after the
other (the next once the previous car is published), so a stamp pairs with its car.
Printed, over all runs:

* (a) snapshot bytes sent -> API request received: p50/p95, and minus one loopback round
  trip (two one-way hops: Frigate -> bridge, bridge -> API; measured in the stand-ins'
  process) = the bridge's own time. Goal <= 3 ms p50.
* (b) the first read of each run against its tenth (both figures), for (a) and (c).
  Goal: the first no slower than the tenth.
* (c) end to end: ``frigate/events`` message published -> plate event received on
  ``<base>/plates`` (through mosquitto both ways): p50/p95; and its two ends: message ->
  snapshot request received, API answer sent -> plate event received.

The CPU yardstick and the load average before and after are printed with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import socket
import statistics
import subprocess
import sys
import threading
import time
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._yardstick import measure  # noqa: E402
from bench.bridge_common import Client, Mosquitto, bridge, camera_jpeg, wait_until  # noqa: E402
from tests.bridge.fake_frigate import frigate_event  # noqa: E402

CAMERA = "driveway"

# -- the stand-ins (``--serve``) --------------------------------------------------------------


def _recorded_answer(image: bytes) -> bytes:
    """One real answer of the fake API (on-premise) for `image`."""
    import httpx

    from tests.fake_api.server import FakePlateRecognizer

    async def ask() -> bytes:
        async with FakePlateRecognizer(mode="onprem") as fake, httpx.AsyncClient() as http:
            reply = await http.post(
                fake.recognition_url, files={"upload": ("car.jpg", image, "image/jpeg")}
            )
            reply.raise_for_status()
            return reply.content

    return asyncio.run(ask())


def _response(status: str, body: bytes, content_type: str) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
    )
    return head.encode() + body


class _Http(asyncio.Protocol):
    """HTTP/1.1 keep-alive with Content-Length bodies: just enough for httpx."""

    def __init__(self, answers: dict[str, bytes], stamp: Any) -> None:
        self.answers = answers
        self.stamp = stamp
        self.buffer = b""
        self.first = 0.0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        if not self.buffer:
            self.first = time.perf_counter()  # the request's first byte is here
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[:end].decode("latin-1").split("\r\n")
            length = 0
            for line in head[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            method, target, _ = head[0].split(" ", 2)
            self._answer(method, target.split("?", 1)[0])
            if self.buffer:
                self.first = time.perf_counter()

    def _answer(self, method: str, path: str) -> None:
        assert self.transport is not None
        if method == "POST" and path.startswith("/v1/plate-reader"):
            self.stamp("api", "", self.first)
            self.transport.write(_response("201 Created", self.answers["api"], "application/json"))
            self.stamp("answered", "", time.perf_counter())
        elif path.endswith("/snapshot.jpg"):
            event_id = path.split("/")[3]
            self.stamp("asked", event_id, self.first)
            self.transport.write(_response("200 OK", self.answers["snapshot"], "image/jpeg"))
            self.stamp("snapshot", event_id, time.perf_counter())
        elif path == "/api/version":
            self.transport.write(_response("200 OK", b"0.15.1", "text/plain"))
        elif path == "/api/config":  # asked once at start (`lpr.mode: auto`): no LPR anywhere
            self.transport.write(_response("200 OK", b'{"cameras": {}}', "application/json"))
        else:
            self.transport.write(_response("404 Not Found", b"{}", "application/json"))


async def _loopback_rtt(samples: int = 200) -> float:
    """Median round trip of a small message over loopback TCP between two event-loop peers."""

    class Echo(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport

        def data_received(self, data: bytes) -> None:
            self.transport.write(data)  # type: ignore[attr-defined]

    server = await asyncio.get_running_loop().create_server(Echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        writer.write(b"x" * 64)
        await reader.readexactly(64)
        times.append(time.perf_counter() - start)
    writer.close()
    server.close()
    return statistics.median(times)


def serve() -> None:
    image = camera_jpeg()
    answers = {"snapshot": image, "api": _recorded_answer(image)}

    def stamp(kind: str, key: str, moment: float) -> None:
        print(json.dumps([kind, key, moment]), flush=True)

    async def main() -> None:
        rtt = await _loopback_rtt()
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _Http(answers, stamp), "127.0.0.1", 0)
        print(json.dumps(["ready", server.sockets[0].getsockname()[1], rtt]), flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


# -- the driver -------------------------------------------------------------------------------


class StandIns:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve"], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        ready = json.loads(self.process.stdout.readline())
        if ready[0] != "ready":
            raise RuntimeError(f"stand-ins did not start: {ready!r}")
        self.url = f"http://127.0.0.1:{ready[1]}"
        self.rtt: float = ready[2]
        self.lock = threading.Lock()
        self.stamps: list[tuple[str, str, float]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            kind, key, moment = json.loads(line)
            with self.lock:
                self.stamps.append((kind, key, moment))

    def take(self) -> list[tuple[str, str, float]]:
        with self.lock:
            taken, self.stamps = self.stamps, []
        return taken

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def config(broker: Mosquitto, url: str, run: int) -> dict[str, Any]:
    return {
        "mqtt": {
            "host": broker.host,
            "port": broker.port,
            "base_topic": "pb",
            "client_id": f"lat{run}",
        },
        "api": {"url": url + "/v1/plate-reader/"},
        "sources": {
            "frigate": {
                "url": url,
                "version": "0.15",
                "write_back": {"sub_label": "off", "recognized_license_plate": False},
            }
        },
        "pipeline": {"cooldown": 0},  # the stand-in answers the same plate: publish every read
    }


def _more_than(client: Client, count: int) -> bool:
    return len(client.on("pb/plates")) > count


def one_run(broker: Mosquitto, stand_ins: StandIns, run: int, cars: int) -> list[dict[str, float]]:
    """A fresh bridge, `cars` events one by one; per car: (a) and (c) in seconds."""
    out = Client(broker, ("pb/plates",))
    feed = Client(broker)
    rows: list[dict[str, float]] = []
    try:
        with bridge(config(broker, stand_ins.url, run)) as process:
            # The bridge is up once it says so on its status topic (retained).
            status = Client(broker, ("pb/status",))
            up = wait_until(lambda: any(m[2] == b"online" for m in status.on("pb/status")), 60)
            status.close()
            if not up or process.poll() is not None:
                raise RuntimeError("the bridge did not come online")
            time.sleep(0.5)  # its subscriptions are made just after `online`
            stand_ins.take()
            for n in range(cars):
                event_id = f"r{run}c{n}"
                seen = len(out.on("pb/plates"))
                payload = frigate_event("new", event_id, camera=CAMERA, snapshot_time=1000.0 + n)
                sent = time.perf_counter()
                feed.client.publish("frigate/events", payload, qos=0)
                if not wait_until(partial(_more_than, out, seen), 30, step=0.001):
                    raise RuntimeError(f"no plate event for {event_id}")
                received = out.on("pb/plates")[seen][0]
                stamps = stand_ins.take()
                got = {kind: m for kind, key, m in stamps if key in (event_id, "")}
                if len(stamps) != 4 or len(got) != 4:
                    raise RuntimeError(f"{event_id}: stamps {stamps}")
                rows.append(
                    {
                        "a": got["api"] - got["snapshot"],
                        "c": received - sent,
                        "before": got["asked"] - sent,
                        "after": received - got["answered"],
                    }
                )
                time.sleep(0.05)  # let the sinks after MQTT (image, metrics) settle
    finally:
        out.close()
        feed.close()
    return rows


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered) * 1000:6.2f} ms  p95 {p95 * 1000:6.2f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh bridges (first reads)")
    parser.add_argument("--cars", type=int, default=20, help="reads per bridge (>= 10)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return 0
    args.cars = max(args.cars, 10)
    print("command:", shlex.join([sys.executable, *sys.argv]))
    print("load average before:", " ".join(f"{v:.2f}" for v in os.getloadavg()))
    print("yardstick:", measure().line())
    runs = []
    stand_ins = StandIns()
    try:
        with Mosquitto() as broker:
            for run in range(args.runs):
                runs.append(one_run(broker, stand_ins, run, args.cars))
    finally:
        stand_ins.close()
    rest = [row for rows in runs for row in rows[1:]]
    rtt = stand_ins.rtt
    print(f"reads: {args.runs} runs x {args.cars} cars; loopback round trip {rtt * 1000:.3f} ms")
    a = [row["a"] for row in rest]
    print(f"(a) snapshot sent -> API request  (reads 2..n): {_ms(a)}")
    print(f"    minus loopback round trip                 : {_ms([v - rtt for v in a])}")
    print(f"(c) Frigate message -> plate event (reads 2..n): {_ms([row['c'] for row in rest])}")
    print(
        f"    of which: message -> snapshot request {_ms([row['before'] for row in rest])};"
        f" API answer -> plate event {_ms([row['after'] for row in rest])}"
    )
    worse = 0
    parts = (("before", "message -> snapshot request"), ("after", "API answer -> plate event"))
    for key, label in (("a", "(a)"), ("c", "(c)"), *parts):
        first = [rows[0][key] * 1000 for rows in runs]
        tenth = [rows[9][key] * 1000 for rows in runs]
        print(
            f"(b) {label} first read: {' '.join(f'{v:.2f}' for v in first)} ms;"
            f" tenth: {' '.join(f'{v:.2f}' for v in tenth)} ms"
        )
        if key in ("a", "c"):
            worse += statistics.median(first) > statistics.median(tenth) * 1.5 + 1.0
    print("load average after:", " ".join(f"{v:.2f}" for v in os.getloadavg()))
    goal_a = statistics.median(a) - rtt <= 0.003
    print(
        f"goals: (a) p50 <= 3 ms {'met' if goal_a else 'MISSED'}; (b) first ~ tenth "
        f"{'met' if not worse else 'MISSED'}"
    )
    return 0 if goal_a and not worse else 1


if __name__ == "__main__":
    sys.exit(main())
