"""The one Frigate event policy (platereader.frigate_flow): holds, Frigate's reads, bounds."""

from __future__ import annotations

from platereader.frigate_events import FrigateEvent, FrigateFilter, parse_event
from platereader.frigate_flow import FILTERED, FrigateEventPolicy, LookupFacts, Step
from platereader.frigate_policy import FrigatePlate, LprOptions, Reason
from platereader.frigate_tracker import DecisionReason, EventTracker
from tests.test_frigate_policy_matrix import Message, away


def event(kind: str = "new", event_id: str = "ev-1", step: int = 0, **kw: object) -> FrigateEvent:
    message = Message(kind, snapshot_time=100.0 + step, box=away(step), **kw)  # type: ignore[arg-type]
    return parse_event(message.payload(event_id, "driveway"))


def policy(*, watched: bool = False, max_held: int = 8, **lpr: object) -> FrigateEventPolicy:
    options = LprOptions(**lpr)  # type: ignore[arg-type]
    result = FrigateEventPolicy(
        FrigateFilter(),
        EventTracker(),
        options,
        lambda camera, plate: LookupFacts(watched=watched),
        max_held=max_held,
    )
    result.plates.learn("driveway")  # Frigate reads plates on this camera
    return result


def test_first_lookup_is_held_for_frigates_read_then_goes_ahead() -> None:
    flow = policy()
    held = flow.on_event(event(), now=0.0)
    assert (held.step, held.lpr, held.attempt) == (Step.HOLD, Reason.WAITING, 1)
    assert flow.held("ev-1")
    assert flow.on_event(event("update", step=1), now=1.0).reason == "read_in_flight"
    after = flow.wait_over("ev-1", now=3.0)
    assert after is not None and (after.step, after.lpr) == (Step.LOOKUP, Reason.NO_READ)
    assert flow.wait_over("ev-1") is None  # nothing held any more
    flow.record("ev-1", 0.2)
    # Only a car's first lookup waits: the next better snapshot is looked up at once.
    again = flow.on_event(event("update", step=2), now=4.0)
    assert (again.step, again.attempt) == (Step.LOOKUP, 2)


def test_frigates_read_during_the_wait_is_published_instead() -> None:
    flow = policy()
    assert flow.on_event(event(), now=0.0).step is Step.HOLD
    plate = FrigatePlate("ev-1", "driveway", "AB12CDE", 0.95)
    published = flow.on_plate(plate, now=1.0)
    assert published is not None and (published.step, published.plate) == (Step.PUBLISH, plate)
    assert not flow.held("ev-1")
    assert flow.tracker.settled("ev-1")
    assert flow.on_event(event("update", step=1), now=2.0).step is Step.IGNORE
    # A plate for an event never seen waits for that event's next message.
    assert flow.on_plate(FrigatePlate("other", "driveway", "XY99ZZZ", 0.95)) is None


def test_watched_plate_to_confirm_releases_the_held_lookup() -> None:
    flow = policy(watched=True, confirm_watched=True)
    assert flow.on_event(event(), now=0.0).step is Step.HOLD
    release = flow.on_plate(FrigatePlate("ev-1", "driveway", "AB12CDE", 0.95), now=1.0)
    assert release is not None and release.step is Step.RELEASE
    lookup = flow.wait_over("ev-1", now=1.0)
    assert lookup is not None and (lookup.step, lookup.lpr) == (Step.LOOKUP, Reason.CONFIRM_WATCHED)


def test_held_lookups_are_bounded() -> None:
    flow = policy(max_held=1)
    assert flow.on_event(event(event_id="a"), now=0.0).step is Step.HOLD
    assert flow.on_event(event(event_id="b"), now=0.0).step is Step.LOOKUP


def test_filtered_and_ended_events() -> None:
    flow = policy(mode="off")
    person = flow.on_event(event(label="person"), now=0.0)
    assert (person.step, person.reason) == (Step.IGNORE, FILTERED)
    assert "person" in person.detail
    first = flow.on_event(event(), now=0.0)
    assert (first.step, first.reason, first.lpr) == (
        Step.LOOKUP,
        DecisionReason.FIRST_SNAPSHOT.value,
        None,
    )
    flow.end("ev-1")
    assert "ev-1" not in flow.tracker
    assert len(flow.plates) == 0
