"""One table of Frigate-policy decisions, run through both products.

Each row is the life of one Frigate event (its `frigate/events` messages, in
order), what the Plate Recognizer API reads in each lookup, and the outcome:
how many lookups the event cost and how many of Frigate's own plate reads were
published instead. This file runs the table against the core
(`platereader.frigate_events`, `.frigate_tracker`, `.frigate_policy`);
tests/bridge/test_frigate_matrix.py runs it through the bridge (real MQTT, a
fake Frigate) and tests/ha/test_frigate_matrix.py through the integration's
Frigate trigger, so a parked car can never again cost lookups in one product
and not in the other.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

import pytest

from platereader.frigate_events import FrigateFilter, parse_event
from platereader.frigate_flow import FrigateEventPolicy, LookupFacts, Step
from platereader.frigate_policy import LprOptions
from platereader.frigate_tracker import EventTracker

Box = tuple[int, int, int, int]
HERE: Box = (100, 100, 400, 300)
JITTER: Box = (102, 101, 401, 302)  # a parked car's box, a few pixels off


def away(step: int) -> Box:
    """The car `step` moves further on (no overlap with the last position)."""
    x = 100 + 350 * step
    return (x, 100, x + 300, 300)


@dataclass(frozen=True)
class Message:
    """One `frigate/events` message of the row's event (Frigate 0.15, or 0.16 with `plate`)."""

    kind: Literal["new", "update", "end"]
    snapshot_time: float = 100.0
    box: Box = HERE
    label: str = "car"
    stationary: bool = False
    false_positive: bool = False
    plate: str | None = None  # Frigate's own read (0.16+ LPR)
    plate_score: float | None = None

    def after(self, event_id: str, camera: str) -> dict[str, Any]:
        x1, y1, x2, y2 = self.box
        area = (x2 - x1) * (y2 - y1)
        after: dict[str, Any] = {
            "id": event_id,
            "camera": camera,
            "frame_time": self.snapshot_time,
            "label": self.label,
            "sub_label": None,
            "top_score": 0.8,
            "score": 0.8,
            "false_positive": self.false_positive,
            "start_time": 99.0,
            "end_time": self.snapshot_time if self.kind == "end" else None,
            "box": list(self.box),
            "area": area,
            "region": [0, 0, 640, 640],
            "current_zones": [],
            "entered_zones": [],
            "stationary": self.stationary,
            "motionless_count": 0,
            "position_changes": 1,
            "active": not self.stationary,
            "has_snapshot": True,
            "has_clip": True,
            "snapshot": {
                "frame_time": self.snapshot_time,
                "box": list(self.box),
                "area": area,
                "region": [0, 0, 640, 640],
                "score": 0.8,
                "attributes": [],
            },
        }
        if self.plate is not None:
            after["recognized_license_plate"] = self.plate
            after["recognized_license_plate_score"] = self.plate_score
        return after

    def payload(self, event_id: str, camera: str) -> str:
        after = self.after(event_id, camera)
        return json.dumps({"type": self.kind, "before": after, "after": after})


@dataclass(frozen=True)
class Row:
    id: str
    messages: tuple[Message, ...]
    lookups: int
    frigate_reads: int = 0
    api_score: float | None = None  # what each lookup reads: a plate of this score, or none

    def api_results(self) -> list[dict[str, Any]]:
        """The API's `results` for each lookup of the row."""
        if self.api_score is None:
            return []
        return [
            {
                "plate": "ab12cde",
                "score": self.api_score,
                "dscore": 0.9,
                "box": {"xmin": 143, "ymin": 481, "xmax": 282, "ymax": 575},
                "candidates": [{"plate": "ab12cde", "score": self.api_score}],
            }
        ]


def _better(count: int, **kw: Any) -> tuple[Message, ...]:
    """`count` updates, each with a better snapshot of a moving car."""
    return tuple(
        Message("update", snapshot_time=100.0 + step, box=away(step), **kw)
        for step in range(1, count + 1)
    )


MATRIX: tuple[Row, ...] = (
    Row("new car event: a lookup", (Message("new"),), lookups=1),
    Row(
        "better snapshot: a second attempt within the budget",
        (Message("new"), *_better(1)),
        lookups=2,
    ),
    Row(
        "the same snapshot again: no second lookup",
        (Message("new"), Message("update"), Message("update")),
        lookups=1,
    ),
    Row(
        "stationary car: no more lookups",
        (Message("new"), *_better(2, stationary=True)),
        lookups=1,
    ),
    Row(
        "parked car with a newer frame in the same place: no more lookups",
        (Message("new"), Message("update", snapshot_time=101.0, box=JITTER)),
        lookups=1,
    ),
    Row("attempt budget: three lookups at most", (Message("new"), *_better(4)), lookups=3),
    Row(
        "a good plate ends the lookups",
        (Message("new"), *_better(2)),
        lookups=1,
        api_score=0.95,
    ),
    Row(
        "a weak plate: another attempt",
        (Message("new"), *_better(1)),
        lookups=2,
        api_score=0.5,
    ),
    Row("label person: ignored", (Message("new", label="person"),), lookups=0),
    Row("false positive: ignored", (Message("new", false_positive=True),), lookups=0),
    Row(
        "plate read by Frigate above its confidence: published, no lookup",
        (
            Message("new", plate="AB12CDE", plate_score=0.95),
            *_better(1, plate="AB12CDE", plate_score=0.95),
        ),
        lookups=0,
        frigate_reads=1,
    ),
)


def run_core(row: Row) -> tuple[int, int]:
    """The row through the core's one policy: (lookups, Frigate reads published).

    Each lookup reports the API's best score back, as both products do.
    """
    policy = FrigateEventPolicy(
        FrigateFilter(), EventTracker(), LprOptions(), lambda camera, plate: LookupFacts()
    )
    lookups = published = 0
    for now, message in enumerate(row.messages):
        judgement = policy.on_event(parse_event(message.payload("ev-1", "driveway")), float(now))
        assert judgement.step not in (Step.HOLD, Step.RELEASE), judgement  # no LPR wait here
        if judgement.step is Step.LOOKUP:
            lookups += 1
            policy.record("ev-1", row.api_score)
        published += judgement.step is Step.PUBLISH
    return lookups, published


@pytest.mark.parametrize("row", MATRIX, ids=lambda row: row.id)
def test_core(row: Row) -> None:
    assert run_core(row) == (row.lookups, row.frigate_reads)
