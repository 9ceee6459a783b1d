"""frigate/events parsing (0.14, 0.15, 0.16 fixtures), FrigateFilter and EventTracker."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bridge.frigate import (
    Decision,
    DecisionReason,
    EventTracker,
    FrigateEvent,
    FrigateEventError,
    FrigateFilter,
    parse_event,
)

PAYLOADS = Path(__file__).parent / "frigate_payloads"
ALL_PAYLOADS = sorted(PAYLOADS.glob("*.json"))


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / name).read_text())
    return data


def event_from(name: str) -> FrigateEvent:
    return parse_event((PAYLOADS / name).read_bytes())


# --------------------------------------------------------------------------- parsing


def test_fixtures_exist_for_every_version() -> None:
    names = {p.name for p in ALL_PAYLOADS}
    for version in ("v0.14", "v0.15", "v0.16"):
        kinds = {n.split("_", 2)[2] for n in names if n.startswith(version)}
        assert {"new.json", "end.json"} <= {k.rsplit("_", 1)[-1] for k in kinds}, version


@pytest.mark.parametrize("path", ALL_PAYLOADS, ids=lambda p: p.stem)
def test_every_fixture_parses(path: Path) -> None:
    raw = path.read_bytes()
    event = parse_event(raw)
    assert event == parse_event(raw.decode())  # bytes and str alike
    data = json.loads(raw)
    assert event.type == data["type"]
    assert event.id == data["after"]["id"]
    assert event.camera == data["after"]["camera"]
    assert event.label == data["after"]["label"]
    assert 0.0 <= event.score <= 1.0
    assert 0.0 <= event.top_score <= 1.0
    assert event.box is not None
    hash(event)  # frozen and hashable: usable as a dict key / in sets


def test_v014_new() -> None:
    event = event_from("v0.14_car_new.json")
    assert event.type == "new"
    assert event.id == "1718987129.308396-fqk5ka"
    assert event.camera == "driveway"
    assert event.label == "car"
    assert event.score == pytest.approx(0.76171875)
    assert event.top_score == pytest.approx(0.7421875)
    assert event.area == 43750
    assert event.box == (340.0, 305.0, 590.0, 480.0)
    assert event.current_zones == ()
    assert not event.stationary
    assert event.active
    assert event.has_snapshot
    assert event.snapshot_score == pytest.approx(0.76171875)
    assert event.snapshot_frame_time == pytest.approx(1718987129.9)
    assert event.snapshot_area == 43750
    assert event.sub_label is None
    assert event.recognized_license_plate is None
    assert event.recognized_license_plate_score is None
    assert not event.false_positive
    assert event.start_time == pytest.approx(1718987129.308396)
    assert event.end_time is None
    assert event.frigate_version_hint == "0.14-0.15"
    assert event.snapshot_available


def test_v014_update_and_end() -> None:
    update = event_from("v0.14_car_update.json")
    assert update.type == "update"
    assert update.current_zones == ("drive",)
    assert update.entered_zones == ("drive",)
    assert update.snapshot_frame_time == pytest.approx(1718987130.6)
    end = event_from("v0.14_car_end.json")
    assert end.type == "end"
    assert end.end_time == pytest.approx(1718987141.7)
    assert end.score == 0.0
    assert end.snapshot_score == pytest.approx(0.8203125)


def test_v014_stationary_and_person_sub_label() -> None:
    parked = event_from("v0.14_parked_car_update.json")
    assert parked.stationary
    assert not parked.active
    assert parked.motionless_count == 35880
    person = event_from("v0.14_person_sub_label.json")
    assert person.label == "person"
    assert person.sub_label == ("Alice", 0.87)


def test_v015_logo_sub_label_and_parked_without_saved_snapshot() -> None:
    truck = event_from("v0.15_truck_update_logo.json")
    assert truck.label == "truck"
    assert truck.sub_label == ("ups", 0.8125)
    assert truck.entered_zones == ("street_far", "street_near")
    assert truck.frigate_version_hint == "0.14-0.15"
    parked = event_from("v0.15_parked_car_update.json")
    assert parked.stationary
    assert not parked.has_snapshot
    assert parked.position_changes == 0
    # in progress: the API still serves the best frame announced in `snapshot`
    assert parked.snapshot_available


def test_v016_recognized_license_plate_forms() -> None:
    documented = event_from("v0.16_car_update_plate.json")
    assert documented.recognized_license_plate == "AB123CD"
    assert documented.recognized_license_plate_score == pytest.approx(0.933451)
    assert documented.frigate_version_hint == "0.16+"
    assert documented.sub_label is None

    as_tuple = event_from("v0.16_car_update_plate_tuple.json")
    assert as_tuple.recognized_license_plate == "AB123CD"
    assert as_tuple.recognized_license_plate_score == pytest.approx(0.9334)

    known = event_from("v0.16_car_update_known_plate.json")
    assert known.sub_label == ("Dad's car", 0.91)
    assert known.recognized_license_plate == "KA123XY"

    new = event_from("v0.16_car_new.json")
    assert new.recognized_license_plate is None
    assert new.recognized_license_plate_score is None
    assert new.frigate_version_hint == "0.16+"  # key present, value null


def test_legacy_payload() -> None:
    legacy = event_from("legacy_car_update_string_sub_label.json")
    assert legacy.sub_label == ("Dad", None)
    assert legacy.snapshot_frame_time == pytest.approx(1607123961.837752)
    assert legacy.snapshot_score == legacy.top_score  # no snapshot object: falls back
    assert legacy.active  # absent before 0.14: derived from stationary
    assert legacy.frigate_version_hint == "<0.14"


def _with_after(**changes: Any) -> str:
    data = load("v0.14_car_update.json")
    data["after"].update(changes)
    return json.dumps(data)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("Dad", ("Dad", None)),
        ("", None),
        (["Dad", 0.9], ("Dad", 0.9)),
        (["Dad", 1], ("Dad", 1.0)),
        (["Dad", None], ("Dad", None)),
        (["Dad"], ("Dad", None)),
        ([None, None], None),  # what Frigate publishes after a sub label is cleared
    ],
)
def test_sub_label_forms(value: object, expected: tuple[str, float | None] | None) -> None:
    assert parse_event(_with_after(sub_label=value)).sub_label == expected


def test_snapshot_score_falls_back_to_top_score() -> None:
    event = parse_event(_with_after(snapshot=None))
    assert event.snapshot_score == event.top_score
    assert event.snapshot_frame_time is None
    snapshot_without_score = parse_event(_with_after(snapshot={"frame_time": 5.0}))
    assert snapshot_without_score.snapshot_score == snapshot_without_score.top_score
    assert snapshot_without_score.snapshot_frame_time == 5.0


def test_optional_fields_missing_are_tolerated() -> None:
    minimal = {"type": "update", "after": {"id": "x", "camera": "c", "label": "car"}}
    event = parse_event(json.dumps(minimal))
    assert event.score == 0.0
    assert event.box is None
    assert event.current_zones == ()
    assert not event.has_snapshot
    assert not event.snapshot_available
    assert event.frigate_version_hint is None


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"\xff\xfe", "not UTF-8"),
        ("not json", "not JSON"),
        ("{", "not JSON"),
        ("[]", "payload must be a JSON object, got list"),
        ('{"type": "bogus", "after": {}}', "type must be 'new', 'update' or 'end'"),
        ('{"after": {}}', "type must be"),
        ('{"type": "new"}', "'after' is missing"),
        ('{"type": "new", "after": []}', "after must be an object, got list"),
        ('{"type": "new", "after": {"camera": "c", "label": "car"}}', r"after\.id is missing"),
        ('{"type": "new", "after": {"id": 5, "camera": "c", "label": "car"}}', r"after\.id must"),
        ('{"type": "new", "after": {"id": "", "camera": "c", "label": "car"}}', r"after\.id must"),
        ('{"type": "new", "after": {"id": "x", "label": "car"}}', r"after\.camera is missing"),
    ],
)
def test_malformed_payloads(payload: bytes | str, message: str) -> None:
    with pytest.raises(FrigateEventError, match=message):
        parse_event(payload)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("score", "0.8", r"after\.score must be a number, got str"),
        ("score", True, r"after\.score must be a number, got bool"),
        ("top_score", [1], r"after\.top_score must be a number"),
        ("area", "big", r"after\.area must be a number"),
        ("box", [1, 2, 3], r"after\.box must be \[x1, y1, x2, y2\]"),
        ("box", "1,2,3,4", r"after\.box must be"),
        ("current_zones", "drive", r"after\.current_zones must be a list of strings"),
        ("entered_zones", [1], r"after\.entered_zones must be a list of strings"),
        ("stationary", "yes", r"after\.stationary must be true or false"),
        ("has_snapshot", 1, r"after\.has_snapshot must be true or false"),
        ("snapshot", "x", r"after\.snapshot must be an object or null"),
        ("snapshot", {"score": "hi"}, r"after\.snapshot\.score must be a number"),
        ("sub_label", 5, r"after\.sub_label must be null, a string or \[name, score\]"),
        ("sub_label", [5, 0.5], r"after\.sub_label\[0\] must be a string"),
        ("sub_label", ["x", "y"], r"after\.sub_label\[1\] must be a number or null"),
        ("recognized_license_plate", 123, r"after\.recognized_license_plate must be"),
        ("recognized_license_plate_score", "x", r"recognized_license_plate_score must be"),
        ("end_time", "later", r"after\.end_time must be a number"),
    ],
)
def test_wrong_types_are_reported_by_path(field: str, value: object, message: str) -> None:
    with pytest.raises(FrigateEventError, match=message):
        parse_event(_with_after(**{field: value}))


def test_error_is_a_value_error() -> None:
    assert issubclass(FrigateEventError, ValueError)


# --------------------------------------------------------------------------- filter


def test_default_filter_accepts_vehicle_fixtures() -> None:
    default = FrigateFilter()
    for name in (
        "v0.14_car_new.json",
        "v0.15_truck_update_logo.json",
        "v0.16_car_update_plate.json",
        "v0.14_parked_car_update.json",  # parking is the tracker's business, not the filter's
    ):
        event = event_from(name)
        assert default.accepts(event), (name, default.reason(event))
        assert default.reason(event) is None


def test_filter_reasons() -> None:
    car = event_from("v0.14_car_update.json")
    person = event_from("v0.14_person_sub_label.json")
    assert (
        FrigateFilter().reason(person)
        == "label 'person' not in ['bus', 'car', 'motorcycle', 'truck']"
    )
    assert FrigateFilter(labels=frozenset({"person"})).accepts(person)

    only_street = FrigateFilter(cameras=frozenset({"street"}))
    assert only_street.reason(car) == "camera 'driveway' not in ['street']"

    zone = FrigateFilter(zones=frozenset({"gate"}))
    reason = zone.reason(car)
    assert reason is not None
    assert "zones ['drive']" in reason

    assert FrigateFilter(min_score=0.9).reason(car) == "top score 0.83 < 0.90"
    assert FrigateFilter(min_area=100_000).reason(car) == "area 64824 < 100000"

    false_positive = replace(car, false_positive=True)
    assert FrigateFilter().reason(false_positive) == "false positive"


def test_filter_zones_current_or_entered() -> None:
    truck = event_from("v0.15_truck_update_logo.json")  # current street_near, entered far+near
    assert FrigateFilter(zones=frozenset({"street_far"})).accepts(truck)  # entered only
    assert FrigateFilter(zones=frozenset({"street_near"})).accepts(truck)
    end = event_from("v0.15_car_end.json")  # left every zone but entered them
    assert end.current_zones == ()
    assert FrigateFilter(zones=frozenset({"street_near"})).accepts(end)
    assert not FrigateFilter(zones=frozenset({"drive"})).accepts(end)


def test_filter_uses_top_score_and_snapshot_area() -> None:
    end = event_from("v0.14_car_end.json")  # score 0 at the end, top_score high
    assert FrigateFilter(min_score=0.8).accepts(end)
    # snapshot area (what will be read) rather than the current box
    small_now = replace(end, area=10)
    assert FrigateFilter(min_area=50_000).accepts(small_now)
    assert not FrigateFilter(min_area=50_000).accepts(replace(end, snapshot_area=None, area=10))


def test_filter_validation_and_coercion() -> None:
    f = FrigateFilter(cameras={"a", "b"}, labels=["car"], zones="drive")  # type: ignore[arg-type]
    assert f.cameras == frozenset({"a", "b"})
    assert f.labels == frozenset({"car"})
    assert f.zones == frozenset({"drive"})  # a bare string is one zone, not its letters
    with pytest.raises(ValueError, match="min_score"):
        FrigateFilter(min_score=1.5)
    with pytest.raises(ValueError, match="min_area"):
        FrigateFilter(min_area=-1)


# --------------------------------------------------------------------------- tracker


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def car(
    event_type: str = "update",
    *,
    event_id: str = "ev1",
    snapshot_time: float | None = 10.0,
    snapshot_score: float = 0.8,
    box: tuple[float, float, float, float] = (100, 100, 300, 250),
    stationary: bool = False,
    has_snapshot: bool = True,
) -> FrigateEvent:
    base = event_from("v0.14_car_update.json")
    return replace(
        base,
        type=event_type,  # type: ignore[arg-type]
        id=event_id,
        snapshot_frame_time=snapshot_time,
        snapshot_score=snapshot_score,
        snapshot_box=box,
        box=box,
        stationary=stationary,
        active=not stationary,
        has_snapshot=has_snapshot,
    )


def moved(box: tuple[float, float, float, float], dx: float) -> tuple[float, float, float, float]:
    return (box[0] + dx, box[1], box[2] + dx, box[3])


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def tracker(clock: FakeClock) -> EventTracker:
    return EventTracker(clock=clock)


def read(tracker: EventTracker, event: FrigateEvent, plate_score: float | None = None) -> Decision:
    """decide(), and when it says read, report the lookup's result like the pipeline does."""
    decision = tracker.decide(event)
    if decision.read:
        tracker.record(event.id, plate_score)
    return decision


def test_first_event_after_start_is_read(tracker: EventTracker) -> None:
    decision = tracker.decide(car("new"))
    assert decision.read
    assert decision
    assert decision.reason is DecisionReason.FIRST_SNAPSHOT
    assert decision.attempt == 1


def test_first_event_may_be_an_update(tracker: EventTracker) -> None:
    # the bridge can start while a car is mid-passage: no "new" was seen
    assert tracker.should_read(car("update"))


def test_better_snapshot_is_read_same_snapshot_is_not(tracker: EventTracker) -> None:
    box = (100.0, 100.0, 300.0, 250.0)
    assert read(tracker, car("new", snapshot_time=10.0, box=box), 0.4).read
    same = tracker.decide(car("update", snapshot_time=10.0, box=moved(box, 80)))
    assert same == Decision(False, DecisionReason.SNAPSHOT_NOT_IMPROVED)
    better = tracker.decide(car("update", snapshot_time=11.0, box=moved(box, 160)))
    assert better == Decision(True, DecisionReason.BETTER_SNAPSHOT, 2)


def test_repeated_identical_updates_are_not_read(tracker: EventTracker) -> None:
    event = car("update", snapshot_time=10.0)
    assert read(tracker, event, 0.3).read
    for _ in range(50):
        assert not tracker.should_read(event)
    assert tracker.attempts(event.id) == 1


def test_stationary_never_read(tracker: EventTracker) -> None:
    decision = tracker.decide(car("update", stationary=True))
    assert decision == Decision(False, DecisionReason.STATIONARY)
    assert tracker.attempts("ev1") == 0


def test_parked_car_position_unchanged_is_not_reread(tracker: EventTracker) -> None:
    box = (40.0, 500.0, 380.0, 700.0)
    assert read(tracker, car("new", snapshot_time=1.0, box=box), 0.5).read
    # not (yet) flagged stationary, new snapshot frame, but the box has not moved
    jitter = (41.0, 501.0, 380.0, 699.0)
    decision = tracker.decide(car("update", snapshot_time=2.0, box=jitter))
    assert decision == Decision(False, DecisionReason.POSITION_UNCHANGED)
    # then it drives off: moving and a better frame -> read again
    assert tracker.decide(car("update", snapshot_time=3.0, box=moved(box, 200))).read


def test_parked_car_for_hours_costs_one_lookup(tracker: EventTracker, clock: FakeClock) -> None:
    box = (40.0, 500.0, 380.0, 700.0)
    lookups = 0
    for minute in range(6 * 60):  # Frigate publishes at least once a minute
        clock.now += 60
        event = car(
            "new" if minute == 0 else "update",
            event_id="parked",
            snapshot_time=1.0 + (minute // 30),  # a "better" frame now and then (light changes)
            box=box,
            stationary=minute >= 1,
        )
        lookups += read(tracker, event, 0.55).read
    assert lookups == 1


def test_stop_after_good_plate(tracker: EventTracker) -> None:
    box = (100.0, 100.0, 300.0, 250.0)
    assert read(tracker, car("new", snapshot_time=1.0, box=box), 0.93).read
    decision = tracker.decide(car("update", snapshot_time=2.0, box=moved(box, 100)))
    assert decision == Decision(False, DecisionReason.PLATE_FOUND)
    assert not tracker.should_read(car("end", snapshot_time=2.0, box=moved(box, 200)))


def test_low_plate_score_keeps_trying(tracker: EventTracker) -> None:
    box = (100.0, 100.0, 300.0, 250.0)
    assert read(tracker, car("new", snapshot_time=1.0, box=box), 0.79).read
    assert read(tracker, car("update", snapshot_time=2.0, box=moved(box, 50)), None).read
    assert tracker.attempts("ev1") == 2


def test_attempt_budget(clock: FakeClock) -> None:
    tracker = EventTracker(max_attempts=2, clock=clock)
    box = (0.0, 0.0, 100.0, 100.0)
    decisions = [
        read(tracker, car("update", snapshot_time=float(i), box=moved(box, 150 * i)), 0.1)
        for i in range(1, 6)
    ]
    assert [d.read for d in decisions] == [True, True, False, False, False]
    assert decisions[2].reason is DecisionReason.MAX_ATTEMPTS
    assert tracker.attempts("ev1") == 2


def test_in_flight_lookup_holds_back_parallel_reads(
    tracker: EventTracker, clock: FakeClock
) -> None:
    box = (0.0, 0.0, 100.0, 100.0)
    assert tracker.decide(car("new", snapshot_time=1.0, box=box)).read  # lookup running...
    second = tracker.decide(car("update", snapshot_time=2.0, box=moved(box, 150)))
    assert second == Decision(False, DecisionReason.READ_IN_FLIGHT)
    tracker.record("ev1", 0.2)  # ...finished without a good plate
    assert tracker.decide(car("update", snapshot_time=3.0, box=moved(box, 300))).read


def test_in_flight_times_out(clock: FakeClock) -> None:
    tracker = EventTracker(clock=clock, in_flight_timeout=30)
    box = (0.0, 0.0, 100.0, 100.0)
    assert tracker.decide(car("new", snapshot_time=1.0, box=box)).read
    clock.now += 31  # the caller never called record()
    assert tracker.decide(car("update", snapshot_time=2.0, box=moved(box, 150))).read


def test_end_reads_only_if_never_read_and_saved_snapshot(tracker: EventTracker) -> None:
    # fast car: Frigate published only an end message
    decision = tracker.decide(car("end", event_id="fast", has_snapshot=True))
    assert decision == Decision(True, DecisionReason.END_UNREAD, 1)
    # never read, but nothing saved: the in-progress frame is gone after end
    no_saved = tracker.decide(car("end", event_id="nosave", has_snapshot=False))
    assert no_saved == Decision(False, DecisionReason.NO_SNAPSHOT)
    # already read during the passage
    box = (0.0, 0.0, 100.0, 100.0)
    assert read(tracker, car("new", event_id="seen", box=box), 0.5).read
    end = tracker.decide(car("end", event_id="seen", snapshot_time=99.0, box=moved(box, 300)))
    assert end == Decision(False, DecisionReason.END_ALREADY_READ)


def test_no_snapshot_no_read(tracker: EventTracker) -> None:
    event = car("new", has_snapshot=False, snapshot_time=None)
    assert tracker.decide(event) == Decision(False, DecisionReason.NO_SNAPSHOT)
    # has_snapshot false but the in-progress best frame is announced (snapshots disabled in Frigate)
    assert tracker.decide(car("update", has_snapshot=False, snapshot_time=5.0)).read


def test_end_forgets(tracker: EventTracker) -> None:
    assert read(tracker, car("new"), 0.95).read
    assert "ev1" in tracker
    tracker.end("ev1")
    assert "ev1" not in tracker
    assert len(tracker) == 0
    tracker.end("ev1")  # idempotent
    tracker.record("ev1", 0.9)  # late result for a forgotten event: ignored
    assert "ev1" not in tracker


def test_entries_expire_after_ttl(clock: FakeClock) -> None:
    tracker = EventTracker(ttl=100, clock=clock)
    assert read(tracker, car("new", event_id="old"), 0.95).read
    clock.now += 50
    tracker.decide(car("new", event_id="young"))
    clock.now += 60  # "old" last seen 110 s ago, "young" 60 s ago
    tracker.decide(car("update", event_id="other"))
    assert "old" not in tracker
    assert "young" in tracker
    # a forgotten event id is treated as new again
    assert tracker.should_read(car("update", event_id="old", snapshot_time=1.0))


def test_memory_is_bounded(clock: FakeClock) -> None:
    tracker = EventTracker(clock=clock, max_events=50)
    for i in range(1000):
        clock.now += 0.01
        tracker.decide(car("new", event_id=f"e{i}"))
    assert len(tracker) == 50
    assert "e999" in tracker
    assert "e0" not in tracker


def test_scores_without_frame_times(tracker: EventTracker) -> None:
    box = (0.0, 0.0, 100.0, 100.0)
    assert read(tracker, car("new", snapshot_time=None, snapshot_score=0.7, box=box), 0.1).read
    same = tracker.decide(
        car("update", snapshot_time=None, snapshot_score=0.7, box=moved(box, 150))
    )
    assert same.reason is DecisionReason.SNAPSHOT_NOT_IMPROVED
    assert tracker.decide(
        car("update", snapshot_time=None, snapshot_score=0.8, box=moved(box, 300))
    ).read


def test_fixture_sequence_v014(tracker: EventTracker) -> None:
    """new -> update (better snapshot) -> end, and a parked car, from the 0.14 fixtures."""
    new = event_from("v0.14_car_new.json")
    update = event_from("v0.14_car_update.json")
    end = event_from("v0.14_car_end.json")
    parked = event_from("v0.14_parked_car_update.json")
    assert read(tracker, new, 0.6).reason is DecisionReason.FIRST_SNAPSHOT
    assert read(tracker, update, 0.9).reason is DecisionReason.BETTER_SNAPSHOT
    assert tracker.decide(end).reason is DecisionReason.PLATE_FOUND
    tracker.end(end.id)
    assert tracker.decide(parked).reason is DecisionReason.STATIONARY


def test_fixture_sequence_v016(tracker: EventTracker) -> None:
    new = event_from("v0.16_car_new.json")
    update = event_from("v0.16_car_update_plate.json")
    again = event_from("v0.16_car_update_plate_tuple.json")  # same snapshot frame, new message
    assert read(tracker, new, 0.5).read
    assert read(tracker, update, 0.7).read
    assert tracker.decide(again).reason is DecisionReason.SNAPSHOT_NOT_IMPROVED


def test_tracker_validation() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        EventTracker(max_attempts=0)
    with pytest.raises(ValueError, match="positive"):
        EventTracker(ttl=0)


def test_decision_reason_values_are_stable_strings() -> None:
    assert DecisionReason("stationary") is DecisionReason.STATIONARY
    assert str(DecisionReason.BETTER_SNAPSHOT) == "better_snapshot"
    assert copy.copy(Decision(True, DecisionReason.FIRST_SNAPSHOT, 1)).read


# --------------------------------------------------------------------------- errors


def test_error_keeps_camera_and_event_id_when_the_payload_has_them() -> None:
    payload = {
        "type": "new",
        "after": {"id": "m13", "camera": "driveway", "label": "car", "top_score": "high"},
    }
    with pytest.raises(FrigateEventError, match=r"after\.top_score must be a number, got str") as e:
        parse_event(json.dumps(payload))
    assert (e.value.camera, e.value.event_id) == ("driveway", "m13")
    # Only what the payload really has: no camera, an id of the wrong type.
    with pytest.raises(FrigateEventError, match=r"after\.id must be a non-empty string") as e:
        parse_event(json.dumps({"type": "new", "after": {"id": 7, "label": "car"}}))
    assert (e.value.camera, e.value.event_id) == (None, None)


def test_unknown_fields_are_ignored_at_every_level() -> None:
    data = load("v0.16_car_update_plate.json")
    data["future_field"] = {"x": 1}
    data["after"]["speed_estimate"] = [1, 2]
    data["after"]["snapshot"]["future"] = "y"
    assert parse_event(json.dumps(data)) == event_from("v0.16_car_update_plate.json")


def test_oversized_payload_is_refused_before_decoding() -> None:
    huge = _with_after(sub_label="x" * 300_000)
    with pytest.raises(FrigateEventError, match="payload over"):
        parse_event(huge)
