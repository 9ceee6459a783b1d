"""Lookups spent when Frigate (0.16+) reads plates itself, on a scripted stream.

Usage (from the repository root):

    .venv/bin/python bench/frigate_lpr.py [--cars 5] [--wait 3]

Real parts, in one process: mosquitto, the bridge (``BridgeService``, default
``sources.frigate.lpr`` options but ``wait``), the fake Plate Recognizer API and
a fake Frigate HTTP API. The same stream of passing cars is played twice:

* **with Frigate LPR** (Frigate 0.16, LPR on the camera per ``/api/config``):
  Frigate reads every second car itself with a confident score (one through
  ``frigate/tracked_object_update``, the next through the event's
  ``recognized_license_plate``, and so on); one other car gets a weak read
  (0.82, below ``lpr.min_score`` 0.9) that must still be looked up;
* **without** (Frigate 0.15 payloads: no plate fields, no LPR in the config).

Each car: ``new``, an ``update`` with a better snapshot 0.5 s later, another at
1.5 s, ``end`` at 4.5 s (Frigate's own reads come at 0.8 s); cars 1.5 s apart
(several on screen at once). Printed: lookups, cars published (distinct Frigate
events with a plate event), events by ``read_by``, and, by who read a car
first, the time from its ``new`` to its first plate event (the trade-off: a
car Frigate does not read is published ``wait`` seconds later).
Goal: with LPR every car published and at most ``cars - frigate reads`` lookups
(3 of 5); without, one lookup per car (5 of 5). Exit status 1 if missed.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bridge_common import Client, Mosquitto  # noqa: E402
from bridge.config import BridgeConfig  # noqa: E402
from bridge.service import BridgeService  # noqa: E402
from tests.bridge.fake_frigate import FakeFrigate, frigate_event, lpr_update  # noqa: E402
from tests.fake_api.server import FakePlateRecognizer  # noqa: E402

CAMERA = "driveway"


@dataclass
class Run:
    name: str
    lookups: int
    published: int
    read_by: Counter[str]
    latency: dict[str, float]  # event id -> seconds from `new` to its first plate event
    first_by: dict[str, str]  # event id -> read_by of its first plate event


def _event(
    kind: str, event_id: str, t0: float, snap: float, x: int, plate: str | bool | None, **kw: Any
) -> bytes:
    return frigate_event(
        kind,
        event_id,
        camera=CAMERA,
        snapshot_time=1000 + t0 + snap,
        box=(x, 100, x + 300, 300),
        plate=plate,
        **kw,
    )


def script(cars: int, lpr: bool) -> list[tuple[float, str, bytes]]:
    """(time, topic, payload) of the whole stream, in time order."""
    events = "frigate/events"
    stream: list[tuple[float, str, bytes]] = []
    for car in range(cars):
        t0 = 1.5 * car
        event_id = f"{1752332040 + car}.000000-car{car}"
        plate: str | bool | None = None if lpr else False  # 0.16 "none yet", or 0.15 form
        stream.append((t0, events, _event("new", event_id, t0, 0.0, 100, plate)))
        stream.append((t0 + 0.5, events, _event("update", event_id, t0, 0.5, 300, plate)))
        if lpr and car % 2 == 1:  # Frigate reads this car itself, confidently
            read = f"FRG{car:03d}"
            if car % 4 == 1:
                update = lpr_update(event_id, read, 0.94, camera=CAMERA)
                stream.append((t0 + 0.8, "frigate/tracked_object_update", update))
            else:
                plate = read
                update = _event("update", event_id, t0, 0.5, 400, plate, plate_score=0.93)
                stream.append((t0 + 0.8, events, update))
        elif lpr and car == cars - 1:  # a weak read (below 0.9): still looked up
            update = _event("update", event_id, t0, 0.5, 400, "WEAK1", plate_score=0.82)
            stream.append((t0 + 0.8, events, update))
        score = 0.93 if isinstance(plate, str) else None
        stream.append(
            (t0 + 1.5, events, _event("update", event_id, t0, 1.5, 600, plate, plate_score=score))
        )
        stream.append(
            (t0 + 4.5, events, _event("end", event_id, t0, 1.5, 900, plate, plate_score=score))
        )
    return sorted(stream, key=lambda item: item[0])


async def play(name: str, cars: int, lpr: bool, wait: float, broker: Mosquitto) -> Run:
    counter = itertools.count(1)
    api = FakePlateRecognizer(mode="onprem")
    api.responder = lambda request: [
        {
            "box": {"xmin": 143, "ymin": 481, "xmax": 282, "ymax": 575},
            "plate": f"api{next(counter):03d}",
            "score": 0.95,  # >= stop_score: one lookup per car is enough
            "candidates": [],
            "dscore": 0.99,
        }
    ]
    frigate = FakeFrigate("0.16.0" if lpr else "0.15.1")
    frigate.lpr_cameras = {CAMERA}  # 0.15's config has no `lpr` at all
    await api.start()
    await frigate.start()
    watcher = Client(broker, ("pb/+/plate",))
    publisher = Client(broker)
    try:
        with tempfile.TemporaryDirectory(prefix="frigate-lpr-") as tmp:
            config = BridgeConfig.model_validate(
                {
                    "mqtt": {
                        "host": broker.host,
                        "port": broker.port,
                        "base_topic": "pb",
                        "client_id": f"bench-lpr-{name}",
                    },
                    "api": {"url": api.url},
                    "sources": {"frigate": {"url": frigate.url, "lpr": {"wait": wait}}},
                    "storage": {"path": tmp, "history": False},
                    "pipeline": {"metrics_interval": 0, "cooldown": 0},
                    "homeassistant": {"enabled": False},
                }
            )
            service = BridgeService(config)
            task = asyncio.create_task(service.run(install_signals=False))
            await asyncio.wait_for(service.started.wait(), 10)
            await service.link.wait_connected(10)
            assert service.frigate is not None
            await asyncio.wait_for(service.frigate.lpr_checked.wait(), 10)
            await asyncio.sleep(0.2)  # subscriptions settle at the broker

            sent: dict[str, float] = {}
            start = time.perf_counter()
            for at, topic, payload in script(cars, lpr):
                delay = start + at - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                if topic == "frigate/events" and json.loads(payload)["type"] == "new":
                    sent[json.loads(payload)["after"]["id"]] = time.perf_counter()
                publisher.client.publish(topic, payload, qos=1)

            def events() -> list[tuple[float, dict[str, Any]]]:
                return [(at, json.loads(data)) for at, _, data in watcher.on("pb/+/plate")]

            deadline = time.monotonic() + wait + 30
            while time.monotonic() < deadline:
                if len({e["source_event_id"] for _, e in events()}) >= cars:
                    break
                await asyncio.sleep(0.05)
            await service.pipeline.drain(10)
            await asyncio.sleep(0.3)
            service.stop()
            await asyncio.wait_for(task, 30)
    finally:
        watcher.close()
        publisher.close()
        await frigate.stop()
        await api.stop()

    first: dict[str, float] = {}
    first_by: dict[str, str] = {}
    read_by: Counter[str] = Counter()
    for at, event in events():
        read_by[str(event["read_by"])] += 1
        first.setdefault(event["source_event_id"], at)
        first_by.setdefault(event["source_event_id"], str(event["read_by"]))
    latency = {event_id: first[event_id] - sent[event_id] for event_id in first}
    return Run(name, len(api.requests), len(first), read_by, latency, first_by)


def report(run: Run, cars: int) -> None:
    print(
        f"{run.name:20} lookups {run.lookups}  cars published {run.published}/{cars}  "
        f"events by read_by {dict(sorted(run.read_by.items()))}"
    )
    for who in sorted(set(run.first_by.values())):
        times = [t for e, t in run.latency.items() if run.first_by[e] == who]
        print(
            f"{'':20} cars first read by {who}: {len(times)}, from `new` to the plate event "
            f"p50 {statistics.median(times):.2f} s, max {max(times):.2f} s"
        )


async def main_async(args: argparse.Namespace) -> int:
    with Mosquitto() as broker:
        with_lpr = await play("with Frigate LPR", args.cars, True, args.wait, broker)
        without = await play("without Frigate LPR", args.cars, False, args.wait, broker)
    frigate_reads = args.cars // 2
    print(
        f"{args.cars} passing cars, Frigate reads {frigate_reads} itself "
        f"(lpr.wait {args.wait:g} s, lpr.min_score 0.9)"
    )
    report(with_lpr, args.cars)
    report(without, args.cars)
    ok = (
        with_lpr.published == args.cars
        and with_lpr.lookups <= args.cars - frigate_reads
        and with_lpr.read_by.get("frigate", 0) == frigate_reads
        and without.published == args.cars
        and without.lookups == args.cars
    )
    print(
        f"goal: with LPR every car published and <= {args.cars - frigate_reads} lookups; "
        f"without, {args.cars} lookups: " + ("met" if ok else "MISSED")
    )
    print(f"command: .venv/bin/python bench/frigate_lpr.py --cars {args.cars} --wait {args.wait:g}")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cars", type=int, default=5, help="passing cars (default 5)")
    parser.add_argument(
        "--wait", type=float, default=3.0, help="lpr.wait in seconds (default 3, the default)"
    )
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
