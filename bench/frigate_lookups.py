"""Plate lookups spent per vehicle on a scripted Frigate event stream.

Usage (from the repository root):

    .venv/bin/python bench/frigate_lookups.py [--cars 40] [--hours 5] [--seed 1] [--latency 1.5]
        [--verbose]

A simulated ``frigate/events`` stream (0.14+ payload shape, serialised to JSON and
parsed with ``platereader.frigate_events.parse_event``) goes through the one Frigate
event policy (``platereader.frigate_flow.FrigateEventPolicy``: ``FrigateFilter`` and
``EventTracker``) exactly as the bridge and the integration use it, with Frigate's own
plate reads off; a simulated reader answers each lookup with the plate score scripted
for the snapshot it was given, after ``--latency`` seconds, and the result is reported
back with ``FrigateEventPolicy.record``.

The stream: one car parked in the drive for the whole run (a ``new`` when first
seen, then an update every minute, stationary after ten seconds, its "best"
snapshot replaced now and then as the light changes); passing cars, each with a
``new``, several updates with improving snapshots, repeated identical updates
(same snapshot re-published, e.g. on a zone change) and an ``end``; cars so fast
that only an ``end`` was published; some whose plate is only readable on the 2nd
snapshot and one only on the 3rd; people walking by (filtered out by label).

Printed: lookups per passing vehicle (goal <= 1.2 while every passing plate is
read), lookups spent on the parked car, the share of passing plates read (a lookup
returned the plate with score >= 0.7), the decision reasons, and what reading every
message with a snapshot would have cost. Exit status 1 if a goal is missed.
The share of cars needing a second look is part of the script, so the per-vehicle
figure says the tracker adds no waste beyond it, not what a real street costs.
"""

from __future__ import annotations

import argparse
import heapq
import json
import random
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from platereader.frigate_events import FrigateFilter, parse_event  # noqa: E402
from platereader.frigate_flow import (  # noqa: E402
    FILTERED,
    FrigateEventPolicy,
    LookupFacts,
    Step,
)
from platereader.frigate_policy import LprOptions  # noqa: E402
from platereader.frigate_tracker import EventTracker  # noqa: E402

READ_OK = 0.7  # a lookup "read" the plate when it returned it with at least this score
STOP_SCORE = 0.8  # EventTracker stops reading an event after this score

# Plate score the reader returns for each successive snapshot of a passing car.
PROFILES: dict[str, tuple[float, ...]] = {
    "easy": (0.91, 0.93, 0.94),
    "second": (0.35, 0.88, 0.90),  # plate only readable on the 2nd snapshot
    "third": (0.30, 0.55, 0.86),  # ... only on the 3rd
}


@dataclass
class Vehicle:
    name: str
    event_id: str
    kind: str  # passing profile, "fast", "parked" or "person"
    # snapshot frame_time -> plate score the reader returns for that image
    scores: dict[float, float] = field(default_factory=dict)
    lookups: int = 0
    read: bool = False
    messages: int = 0


@dataclass(order=True)
class Item:
    time: float
    seq: int
    kind: str = field(compare=False)  # "message" or "result"
    vehicle: Vehicle = field(compare=False)
    payload: dict[str, Any] = field(compare=False, default_factory=dict)
    score: float = field(compare=False, default=0.0)


def payload(
    vehicle: Vehicle,
    event_type: str,
    *,
    now: float,
    start: float,
    snapshot_time: float | None,
    box: list[int],
    stationary: bool = False,
    label: str = "car",
    zones: tuple[str, ...] = ("drive",),
    end: bool = False,
) -> dict[str, Any]:
    area = (box[2] - box[0]) * (box[3] - box[1])
    after: dict[str, Any] = {
        "id": vehicle.event_id,
        "camera": "driveway",
        "frame_time": now,
        "snapshot": None
        if snapshot_time is None
        else {
            "frame_time": snapshot_time,
            "box": box,
            "area": area,
            "region": [0, 0, 640, 640],
            "score": 0.85,
            "attributes": [],
        },
        "label": label,
        "sub_label": None,
        "top_score": 0.86,
        "false_positive": False,
        "start_time": start,
        "end_time": now if end else None,
        "score": 0.0 if end else 0.84,
        "box": box,
        "area": area,
        "region": [0, 0, 640, 640],
        "active": not stationary,
        "stationary": stationary,
        "motionless_count": 5000 if stationary else 0,
        "position_changes": 1,
        "current_zones": [] if end else list(zones),
        "entered_zones": list(zones),
        "has_clip": True,
        "has_snapshot": snapshot_time is not None,
        "attributes": {},
        "current_attributes": [],
    }
    return {"type": event_type, "before": after, "after": after}


def passing_car(
    vehicle: Vehicle, t0: float, rng: random.Random
) -> list[tuple[float, dict[str, Any]]]:
    scores = PROFILES[vehicle.kind] if vehicle.kind in PROFILES else PROFILES["easy"]
    snaps = [t0 - 0.2, t0 + 1.8, t0 + 3.9]
    vehicle.scores = dict(zip(snaps, scores, strict=True))
    x = rng.randint(0, 60)

    def box(step: int) -> list[int]:
        return [x + 150 * step, 300, x + 150 * step + 260, 480]

    if vehicle.kind == "fast":  # gone before the first update: Frigate published only end
        return [
            (
                t0 + 1.0,
                payload(
                    vehicle,
                    "end",
                    now=t0 + 1.0,
                    start=t0 - 1,
                    snapshot_time=snaps[0],
                    box=box(3),
                    end=True,
                ),
            ),
        ]
    msgs = [
        (t0, payload(vehicle, "new", now=t0, start=t0 - 1, snapshot_time=snaps[0], box=box(0))),
        # zone change re-publishes the same snapshot (while the first lookup runs)
        (
            t0 + 0.4,
            payload(
                vehicle, "update", now=t0 + 0.4, start=t0 - 1, snapshot_time=snaps[0], box=box(1)
            ),
        ),
        (
            t0 + 2.0,
            payload(
                vehicle, "update", now=t0 + 2.0, start=t0 - 1, snapshot_time=snaps[1], box=box(2)
            ),
        ),
        (
            t0 + 4.0,
            payload(
                vehicle, "update", now=t0 + 4.0, start=t0 - 1, snapshot_time=snaps[2], box=box(3)
            ),
        ),
    ]
    # repeated identical messages (MQTT redelivery, or Frigate's once-a-minute refresh)
    msgs += [(t + 0.05, p) for t, p in msgs[1:]]
    msgs.append(
        (
            t0 + 6.0,
            payload(
                vehicle,
                "end",
                now=t0 + 6.0,
                start=t0 - 1,
                snapshot_time=snaps[2],
                box=box(4),
                end=True,
            ),
        )
    )
    return msgs


def parked_car(vehicle: Vehicle, hours: float) -> list[tuple[float, dict[str, Any]]]:
    box = [40, 500, 380, 700]
    msgs: list[tuple[float, dict[str, Any]]] = []
    snapshot_time = 0.5
    minutes = int(hours * 60)
    for minute in range(minutes + 1):
        now = 1.0 + 60 * minute
        if minute and minute % 40 == 0:
            snapshot_time = now - 1  # a "better" frame as the light changes
        jitter = [v + (minute % 3) - 1 for v in box]  # detector boxes wobble a pixel or two
        kind = "new" if minute == 0 else "update"
        msgs.append(
            (
                now,
                payload(
                    vehicle,
                    kind,
                    now=now,
                    start=0.0,
                    snapshot_time=snapshot_time,
                    box=jitter,
                    stationary=minute >= 1,
                ),
            )
        )
        vehicle.scores[snapshot_time] = 0.45  # plate half hidden behind the hedge
    return msgs


def person(vehicle: Vehicle, t0: float) -> list[tuple[float, dict[str, Any]]]:
    return [
        (
            t0,
            payload(
                vehicle,
                "new",
                now=t0,
                start=t0,
                snapshot_time=t0,
                box=[600, 200, 680, 460],
                label="person",
                zones=("path",),
            ),
        ),
        (
            t0 + 5,
            payload(
                vehicle,
                "end",
                now=t0 + 5,
                start=t0,
                snapshot_time=t0,
                box=[600, 200, 680, 460],
                label="person",
                zones=("path",),
                end=True,
            ),
        ),
    ]


def build(
    cars: int, hours: float, seed: int
) -> tuple[list[Vehicle], list[tuple[float, Vehicle, dict[str, Any]]]]:
    rng = random.Random(seed)
    vehicles: list[Vehicle] = []
    stream: list[tuple[float, Vehicle, dict[str, Any]]] = []

    parked = Vehicle("parked", "1700000000.000000-parked", "parked")
    vehicles.append(parked)
    stream += [(t, parked, p) for t, p in parked_car(parked, hours)]

    # Profiles: one car readable only on its 3rd snapshot, ~1 in 8 only on the 2nd,
    # ~1 in 10 so fast that only `end` was published, the rest easy.
    kinds = ["third"] + ["second"] * max(1, cars // 8) + ["fast"] * max(1, cars // 10)
    kinds += ["easy"] * (cars - len(kinds))
    rng.shuffle(kinds)
    span = hours * 3600
    t0 = 0.0
    for i, kind in enumerate(kinds):
        if i % 5 == 4:
            t0 += rng.uniform(1.0, 3.0)  # right behind the previous car: two events at once
        else:
            t0 = 30 + span * i / max(1, cars) + rng.uniform(0, 20)
        vehicle = Vehicle(f"car{i:02d}", f"{1700000100 + i * 97:.6f}-car{i:02d}", kind)
        vehicles.append(vehicle)
        stream += [(t, vehicle, p) for t, p in passing_car(vehicle, t0, rng)]
    for j in range(cars // 2):
        walker = Vehicle(f"person{j}", f"{1700005000 + j:.6f}-p{j}", "person")
        vehicles.append(walker)
        stream += [(t, walker, p) for t, p in person(walker, rng.uniform(0, span))]
    return vehicles, stream


def run(args: argparse.Namespace) -> int:
    vehicles, stream = build(args.cars, args.hours, args.seed)
    policy = FrigateEventPolicy(
        FrigateFilter(),
        EventTracker(max_attempts=3, stop_score=STOP_SCORE),
        LprOptions(mode="off"),
        lambda camera, plate: LookupFacts(),
    )
    reasons: Counter[str] = Counter()
    naive = 0

    queue: list[Item] = []
    seq = 0
    for t, vehicle, message in stream:
        vehicle.messages += 1
        # serialise like the broker delivers it: parsing is part of the path
        queue.append(Item(t, seq, "message", vehicle, {"raw": json.dumps(message)}))
        seq += 1
    heapq.heapify(queue)

    while queue:
        item = heapq.heappop(queue)
        vehicle = item.vehicle
        if item.kind == "result":
            policy.record(vehicle.event_id, item.score)
            if item.score >= READ_OK:
                vehicle.read = True
            continue
        event = parse_event(item.payload["raw"])
        decision = policy.on_event(event, item.time)
        if decision.reason == FILTERED:
            reasons["filtered: " + decision.detail.split(" ")[0]] += 1
            continue
        if event.snapshot_available:
            naive += 1
        reasons[decision.reason] += 1
        if decision.step is Step.LOOKUP:
            vehicle.lookups += 1
            assert event.snapshot_frame_time is not None
            score = vehicle.scores.get(event.snapshot_frame_time, 0.0)
            heapq.heappush(
                queue, Item(item.time + args.latency, seq, "result", vehicle, score=score)
            )
            seq += 1
            if args.verbose:
                print(
                    f"{item.time:9.1f}s {vehicle.name:8} {event.type:6} lookup #{decision.attempt}"
                    f" ({decision.reason}) -> plate score {score:.2f}"
                )
        if event.type == "end":
            policy.end(event.id)

    passing = [v for v in vehicles if v.kind in PROFILES or v.kind == "fast"]
    parked = [v for v in vehicles if v.kind == "parked"]
    passing_lookups = sum(v.lookups for v in passing)
    per_passage = passing_lookups / len(passing)
    read_pct = 100.0 * sum(v.read for v in passing) / len(passing)
    parked_lookups = sum(v.lookups for v in parked)
    messages = len(stream)

    print(
        f"messages: {messages} ({len(passing)} passing vehicles, 1 car parked {args.hours:g} h, "
        f"{len([v for v in vehicles if v.kind == 'person'])} people)"
    )
    print(
        f"lookups per vehicle passage: {per_passage:.3f}  ({passing_lookups} lookups)  goal <= 1.2"
    )
    by_kind = Counter[str]()
    count_kind = Counter[str]()
    for v in passing:
        by_kind[v.kind] += v.lookups
        count_kind[v.kind] += 1
    print(
        "  by profile: "
        + ", ".join(f"{k} {count_kind[k]} cars / {by_kind[k]} lookups" for k in sorted(count_kind))
    )
    parked_messages = sum(v.messages for v in parked)
    print(
        f"lookups on the parked car: {parked_lookups}  ({parked_messages} messages;"
        " 1 = its first sighting, before Frigate flags it stationary)"
    )
    print(f"passing plates read: {read_pct:.1f}%")
    print(f"reading every message with a snapshot would cost: {naive} lookups")
    print("decisions: " + ", ".join(f"{k} {n}" for k, n in sorted(reasons.items())))
    unread = [v.name for v in passing if not v.read]
    if unread:
        print("unread: " + ", ".join(unread))
    ok = per_passage <= 1.2 and read_pct == 100.0 and parked_lookups <= 1
    print("goals met" if ok else "GOALS MISSED")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cars", type=int, default=40, help="passing vehicles (default 40)")
    parser.add_argument("--hours", type=float, default=5.0, help="length of the stream (default 5)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--latency", type=float, default=1.5, help="seconds per lookup (default 1.5)"
    )
    parser.add_argument("--verbose", action="store_true", help="print every lookup")
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
