"""Outbox, queue policy and duplicate suppression, without a broker."""

from __future__ import annotations

from pathlib import Path

from bridge.dedupe import Deduper
from bridge.metrics import Metrics
from bridge.outbox import Outbox, OutMessage
from bridge.queue import CameraQueue, Queued
from platereader import Candidate, PlateResult


def test_outbox_keeps_order_survives_reopen_and_drops_oldest(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    box = Outbox(path, max_rows=5)
    ids = box.add([OutMessage(f"t/{i}", b"x%d" % i, retain=i == 0) for i in range(3)])
    assert len(box) == 3
    box.remove(ids[1:2])
    assert [m.message.topic for m in box.pending()] == ["t/0", "t/2"]
    assert box.pending()[0].message.retain is True
    assert [m.message.topic for m in box.pending(exclude=[ids[0]])] == ["t/2"]
    box.close()

    box = Outbox(path, max_rows=5)
    assert len(box) == 2
    box.add([OutMessage(f"u/{i}", b"") for i in range(5)])
    assert len(box) == 5
    assert box.dropped == 2
    assert [m.message.topic for m in box.pending()] == [f"u/{i}" for i in range(5)]
    box.close()


class Item(Queued):
    def __init__(self, camera: str, name: str, key: str | None = None) -> None:
        super().__init__(camera, key)
        self.name = name


async def test_queue_keeps_the_newest_per_camera_and_coalesces() -> None:
    metrics = Metrics()
    dropped: list[tuple[str, str]] = []
    queue: CameraQueue[Item] = CameraQueue(
        2, 100, metrics, on_drop=lambda item, why: dropped.append((item.name, why))
    )
    for name in ("a1", "a2", "a3"):
        queue.put(Item("a", name))
    queue.put(Item("b", "b1", key="e1"))
    queue.put(Item("b", "b2", key="e1"))  # same event: replaces b1 in place
    assert len(queue) == 3
    assert metrics["dropped_camera_full"] == 1
    assert metrics["coalesced"] == 1
    assert dropped == [("a1", "dropped_camera_full"), ("b1", "coalesced")]
    # Round-robin between cameras.
    got = [(await queue.get()).name for _ in range(3)]
    assert got == ["a2", "b2", "a3"]


async def test_queue_total_bound_drops_from_the_busiest_camera() -> None:
    metrics = Metrics()
    queue: CameraQueue[Item] = CameraQueue(10, 4, metrics)
    for name in ("a1", "a2", "a3"):
        queue.put(Item("a", name))
    queue.put(Item("b", "b1"))
    queue.put(Item("b", "b2"))  # full: a1 (oldest of the busiest) goes
    assert metrics["dropped_queue_full"] == 1
    remaining = sorted(item.name for item in queue.drain())
    assert remaining == ["a2", "a3", "b1", "b2"]


def result(plate: str, *candidates: str) -> PlateResult:
    return PlateResult(
        plate=plate,
        score=0.9,
        candidates=tuple(Candidate(plate=c, score=0.5) for c in (plate, *candidates)),
    )


def test_deduper_one_passage_per_cooldown() -> None:
    now = [1000.0]
    dedupe = Deduper(clock=lambda: now[0])
    assert dedupe.seen("gate", result("AB12 CDE"), 60) is False
    now[0] += 10
    assert dedupe.seen("gate", result("ab12-cde"), 60) is True  # same plate, other spelling
    assert dedupe.seen("street", result("AB12CDE"), 60) is False  # other camera
    now[0] += 50
    assert dedupe.seen("gate", result("AB12CDE"), 60) is True  # each sighting extends it
    now[0] += 61
    assert dedupe.seen("gate", result("AB12CDE"), 60) is False  # a new passage
    # A misread whose candidates include the recent plate is the same passage.
    now[0] += 1
    assert dedupe.seen("gate", result("AB12C0E", "AB12CDE"), 60) is True
    assert dedupe.seen("gate", result("XY99ZZZ"), 60) is False
    assert dedupe.seen("gate", result("XY99ZZZ"), 0) is False  # cool-down 0: every read
