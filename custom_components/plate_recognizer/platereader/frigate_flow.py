"""The one Frigate event policy: what to do about each message, for both products.

:class:`FrigateEventPolicy` puts the core's parts together in the order both
the bridge (``bridge/sources/frigate.py``) and the integration's Frigate
trigger (``frigate_trigger.py``) follow: filter the event
(:class:`.frigate_events.FrigateFilter`), use Frigate's own plate read when it
is enough (:func:`.frigate_policy.decide`), else ask the
:class:`.frigate_tracker.EventTracker` whether this message deserves a lookup,
and hold the first lookup of a car a little while Frigate may still read the
plate. Each method answers with a :class:`Judgement`; the products carry it
out (fetch and read a picture, publish, start or cancel a timer).

Pure: no I/O, the time is passed in, and the state (the tracker's events,
Frigate's plates, the held lookups) is bounded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from .frigate_events import FrigateEvent, FrigateFilter
from .frigate_policy import Action, FrigatePlate, FrigatePlates, LprDecision, LprOptions, Reason
from .frigate_policy import decide as decide_lpr
from .frigate_tracker import EventTracker

__all__ = [
    "FILTERED",
    "MAX_HELD",
    "PUBLISHED",
    "FrigateEventPolicy",
    "Judgement",
    "LookupFacts",
    "Step",
]

# Lookups held back at once; beyond, a lookup goes ahead at once (each held
# lookup may keep a picture in memory).
MAX_HELD: Final = 256


class Step(StrEnum):
    IGNORE = "ignore"  # nothing to do for this message
    LOOKUP = "lookup"  # read the picture now (`attempt` says which lookup of the event)
    HOLD = "hold"  # hold the lookup `lpr.wait` seconds: Frigate may read the plate itself
    PUBLISH = "publish"  # publish Frigate's read (`plate`); a held lookup is not needed
    RELEASE = "release"  # the held lookup goes ahead now (a watched plate to confirm)


FILTERED: Final = "filtered"
PUBLISHED: Final = "frigate_read_published"


@dataclass(frozen=True, slots=True)
class Judgement:
    """What to do, and why.

    ``reason``: a stable string for metrics — :data:`FILTERED`,
    :data:`PUBLISHED`, or the tracker's :class:`.frigate_tracker.DecisionReason`
    — with ``detail`` saying more for logs. ``lpr``: the reason of the
    decision about Frigate's own read, when it was asked. ``attempt``: which
    lookup of the event this is (1-based) when the tracker allowed one.
    """

    step: Step
    reason: str
    attempt: int = 0
    plate: FrigatePlate | None = None
    lpr: Reason | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class LookupFacts:
    """What a product knows about a camera that makes a lookup worth it anyway.

    ``mmc``: the lookup adds make, model and colour. ``zones``: the camera
    keeps only plates in its zones (Frigate's read has no box in the picture).
    ``watched``: Frigate's plate is on the watch list.
    """

    mmc: bool = False
    zones: bool = False
    watched: bool = False


Facts = Callable[[str, FrigatePlate | None], LookupFacts]


class FrigateEventPolicy:
    """One Frigate event policy: filter, Frigate's own reads, the tracker, the wait."""

    def __init__(
        self,
        candidates: FrigateFilter,
        tracker: EventTracker,
        lpr: LprOptions,
        facts: Facts,
        *,
        plates: FrigatePlates | None = None,
        max_held: int = MAX_HELD,
    ) -> None:
        self.filter = candidates
        self.tracker = tracker
        self.lpr = lpr
        self.plates = FrigatePlates() if plates is None else plates
        self._facts = facts
        self._max_held = max_held
        self._held: dict[str, str] = {}  # event id -> camera, of the lookups held back

    # -- messages -----------------------------------------------------------------------

    def on_event(self, event: FrigateEvent, now: float | None = None) -> Judgement:
        """One ``frigate/events`` message that passed parsing."""
        reason = self.filter.reason(event)
        if reason is not None:
            return Judgement(Step.IGNORE, FILTERED, detail=reason)
        if self.lpr.enabled:
            plate = event.frigate_plate
            if plate is not None:
                self.plates.add(plate)
            frigate = self._frigate_read(event.id, event.camera, now)
            if frigate is not None:
                return frigate
        decision = self.tracker.decide(event, now)
        if not decision:
            return Judgement(Step.IGNORE, decision.reason.value)
        step = Step.LOOKUP
        verdict: Reason | None = None
        if self.lpr.enabled:
            lpr = self.verdict(event.id, event.camera, waited=event.type == "end")
            verdict = lpr.reason
            if (
                lpr.action is Action.WAIT
                and decision.attempt == 1  # only the first lookup of a car waits
                and len(self._held) < self._max_held
            ):
                self._held[event.id] = event.camera
                step = Step.HOLD
        return Judgement(step, decision.reason.value, decision.attempt, lpr=verdict)

    def on_plate(self, plate: FrigatePlate, now: float | None = None) -> Judgement | None:
        """Frigate read a plate (``tracked_object_update``, type ``lpr``).

        Acted on only for an event seen before (None otherwise): its next
        message uses the plate.
        """
        self.plates.add(plate)
        if plate.event_id not in self.tracker:
            return None
        return self._frigate_read(plate.event_id, plate.camera, now)

    def wait_over(self, event_id: str, now: float | None = None) -> Judgement | None:
        """The wait of a held lookup is over, or the car is gone: Frigate's read or a lookup.

        None if no lookup is held for the event.
        """
        camera = self._held.pop(event_id, None)
        if camera is None:
            return None
        verdict = self.verdict(event_id, camera, waited=True)
        if verdict.action is Action.PUBLISH:
            frigate = self._frigate_read(event_id, camera, now)
            if frigate is not None:
                return frigate  # Frigate's read came after all: the held lookup is dropped
        return Judgement(Step.LOOKUP, "wait_over", lpr=verdict.reason)

    def record(self, event_id: str, best_plate_score: float | None) -> None:
        """A lookup finished: its best plate's score, or None (nothing read, or it failed)."""
        self.tracker.record(event_id, best_plate_score)

    def end(self, event_id: str) -> None:
        """Forget an event (after its ``end``, once nothing for it is pending)."""
        self.tracker.end(event_id)
        self.plates.forget(event_id)
        self._held.pop(event_id, None)

    def held(self, event_id: str) -> bool:
        return event_id in self._held

    def drop_held(self) -> None:
        """Forget the held lookups (the product stopped their timers)."""
        self._held.clear()

    # -- Frigate's own reads --------------------------------------------------------------

    def verdict(self, event_id: str, camera: str, *, waited: bool) -> LprDecision:
        plate = self.plates.get(event_id)
        facts = self._facts(camera, plate)
        return decide_lpr(
            plate,
            self.lpr,
            reads_plates=self.plates.reads_plates(camera),
            mmc=facts.mmc,
            zones=facts.zones,
            watched=self.lpr.confirm_watched and plate is not None and facts.watched,
            waited=waited,
        )

    def _frigate_read(self, event_id: str, camera: str, now: float | None) -> Judgement | None:
        """Frigate's read of the event, if it settles this message; None to go on."""
        if self.plates.published(event_id):
            return Judgement(Step.IGNORE, PUBLISHED)
        plate = self.plates.get(event_id)
        if plate is None or self.tracker.settled(event_id):
            return None  # no read of Frigate's, or a lookup found the plate already
        verdict = self.verdict(event_id, camera, waited=False)
        if verdict.reason is Reason.CONFIRM_WATCHED and event_id in self._held:
            # A watched plate to confirm: the product calls wait_over() at once.
            return Judgement(Step.RELEASE, verdict.reason.value, lpr=verdict.reason)
        if verdict.action is not Action.PUBLISH:
            return None
        self._held.pop(event_id, None)
        self.tracker.settle(event_id, now)
        self.plates.mark_published(event_id)
        return Judgement(Step.PUBLISH, verdict.reason.value, plate=plate, lpr=verdict.reason)
