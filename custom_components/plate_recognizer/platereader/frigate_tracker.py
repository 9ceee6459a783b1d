"""Per Frigate event: does this message deserve a plate lookup?

Lookups cost money or quota, and Frigate publishes an update at least once a
minute for every tracked object — including a car parked in the drive for a
week — so reading on every message would burn the budget on the same parked
car. :class:`EventTracker` is the one answer for both products: the bridge
(which reads Frigate's snapshot) and the integration's Frigate trigger (which
reads the camera entity's live picture, ``live_image=True``).

Pure: no I/O, and the time is passed in (``now=``; the clock given to the
constructor is only the default). State is bounded: at most ``max_events``
events, each forgotten ``ttl`` seconds after its last message.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from .frigate_events import Box, FrigateEvent

__all__ = [
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_STOP_SCORE",
    "Decision",
    "DecisionReason",
    "EventTracker",
]

DEFAULT_MAX_ATTEMPTS: Final = 3
# A plate read at least this well ends an event's lookups.
DEFAULT_STOP_SCORE: Final = 0.9  # the bridge's `stop_score` default too


class DecisionReason(StrEnum):
    """Why :class:`EventTracker` did or did not ask for a lookup (stable, for metrics)."""

    FIRST_SNAPSHOT = "first_snapshot"
    BETTER_SNAPSHOT = "better_snapshot"
    END_UNREAD = "end_unread"
    NO_SNAPSHOT = "no_snapshot"
    SNAPSHOT_NOT_IMPROVED = "snapshot_not_improved"
    STATIONARY = "stationary"
    POSITION_UNCHANGED = "position_unchanged"
    PLATE_FOUND = "plate_found"
    MAX_ATTEMPTS = "max_attempts"
    READ_IN_FLIGHT = "read_in_flight"
    END_ALREADY_READ = "end_already_read"
    GONE = "gone"  # `end` with a live picture: the camera no longer shows the car


@dataclass(frozen=True)
class Decision:
    """Outcome of :meth:`EventTracker.decide`; truthy when a lookup should happen."""

    read: bool
    reason: DecisionReason
    attempt: int = 0  # 1-based number of this lookup for the event when read, else 0

    def __bool__(self) -> bool:
        return self.read


@dataclass
class _EventState:
    last_seen: float
    attempts: int = 0
    done: bool = False
    in_flight_since: float | None = None
    read_snapshot_time: float | None = None
    read_snapshot_score: float | None = None
    read_box: Box | None = None


def _iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else (1.0 if a == b else 0.0)


class EventTracker:
    """Decides, per Frigate event, whether this message deserves a plate lookup.

    A lookup happens on ``new``/``update`` only when the event has a snapshot
    that is better than the one last read (Frigate replaces its snapshot only
    when it finds a better frame, so a newer ``snapshot.frame_time`` means a
    better image; without frame times a higher score is required) — and never:

    * for stationary vehicles (``stationary`` true, or the box has not moved
      since the last lookup): a parked car keeps producing updates for hours;
    * after a plate scored ``>= stop_score`` (see :meth:`record`);
    * beyond ``max_attempts`` lookups per event;
    * while a lookup for the event is still in flight (async pipelines would
      otherwise read the same car twice in parallel; ``in_flight_timeout``
      covers a caller that never calls :meth:`record`).

    On ``end`` a lookup happens only if the event was never read and a saved
    snapshot exists (a car that passed faster than an update). With
    ``live_image`` (the caller reads the camera's current picture, not
    Frigate's snapshot) no snapshot is needed, and ``end`` never reads: the
    car has left the picture. Call :meth:`end` once the end message is handled
    to forget the event; entries also expire ``ttl`` seconds after their last
    message, and at most ``max_events`` are kept (least recently seen first out).
    """

    def __init__(
        self,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        stop_score: float = DEFAULT_STOP_SCORE,
        ttl: float = 3600,
        clock: Callable[[], float] = time.monotonic,
        *,
        max_events: int = 1024,
        in_flight_timeout: float = 30.0,
        still_iou: float = 0.9,
        live_image: bool = False,
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {max_attempts!r}")
        if ttl <= 0 or max_events < 1:
            raise ValueError("ttl and max_events must be positive")
        self.max_attempts = max_attempts
        self.stop_score = stop_score
        self.ttl = ttl
        self.max_events = max_events
        self.in_flight_timeout = in_flight_timeout
        # Boxes overlapping at least this much count as "not moved": detector
        # boxes of a parked car jitter by a few pixels between frames.
        self.still_iou = still_iou
        self.live_image = live_image
        self._clock = clock
        self._events: OrderedDict[str, _EventState] = OrderedDict()

    def __len__(self) -> int:
        return len(self._events)

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._events

    def attempts(self, event_id: str) -> int:
        state = self._events.get(event_id)
        return 0 if state is None else state.attempts

    def _expire(self, now: float) -> None:
        # OrderedDict is kept in last-seen order, so expired entries are at the front.
        while self._events:
            event_id, state = next(iter(self._events.items()))
            if now - state.last_seen < self.ttl:
                break
            del self._events[event_id]

    def _touch(self, event_id: str, now: float) -> _EventState:
        self._expire(now)
        state = self._events.get(event_id)
        if state is None:
            state = _EventState(last_seen=now)
            self._events[event_id] = state
            while len(self._events) > self.max_events:
                self._events.popitem(last=False)
        else:
            state.last_seen = now
            self._events.move_to_end(event_id)
        return state

    def decide(self, event: FrigateEvent, now: float | None = None) -> Decision:
        """Decide for one message; a positive decision counts as an attempt."""
        now = self._clock() if now is None else now
        state = self._touch(event.id, now)

        if (
            state.in_flight_since is not None
            and now - state.in_flight_since >= self.in_flight_timeout
        ):
            state.in_flight_since = None  # the caller never reported back; don't block forever
        if state.done:
            return Decision(False, DecisionReason.PLATE_FOUND)
        if state.attempts >= self.max_attempts:
            return Decision(False, DecisionReason.MAX_ATTEMPTS)
        if state.in_flight_since is not None:
            return Decision(False, DecisionReason.READ_IN_FLIGHT)
        if event.type == "end" and state.attempts > 0:
            return Decision(False, DecisionReason.END_ALREADY_READ)
        if event.type == "end" and self.live_image:
            return Decision(False, DecisionReason.GONE)
        if not self.live_image and not event.snapshot_available:
            return Decision(False, DecisionReason.NO_SNAPSHOT)
        if event.stationary:
            return Decision(False, DecisionReason.STATIONARY)

        # Where the vehicle is now (not where it was in the snapshot, which
        # stays put until Frigate finds a better frame).
        box = event.box if event.box is not None else event.snapshot_box
        if state.attempts > 0:
            if not self._improved(state, event):
                return Decision(False, DecisionReason.SNAPSHOT_NOT_IMPROVED)
            if (
                box is not None
                and state.read_box is not None
                and _iou(box, state.read_box) >= self.still_iou
            ):
                # A "better" frame of a car that has not moved since the last
                # lookup (parked, not yet flagged stationary): same plate view.
                return Decision(False, DecisionReason.POSITION_UNCHANGED)

        if event.type == "end":
            reason = DecisionReason.END_UNREAD
        elif state.attempts == 0:
            reason = DecisionReason.FIRST_SNAPSHOT
        else:
            reason = DecisionReason.BETTER_SNAPSHOT
        state.attempts += 1
        state.in_flight_since = now
        state.read_snapshot_time = event.snapshot_frame_time
        state.read_snapshot_score = event.snapshot_score
        state.read_box = box
        return Decision(True, reason, state.attempts)

    @staticmethod
    def _improved(state: _EventState, event: FrigateEvent) -> bool:
        if event.snapshot_frame_time is not None and state.read_snapshot_time is not None:
            return event.snapshot_frame_time > state.read_snapshot_time
        # No frame times to compare (pre-0.14 payloads without snapshot_time):
        # only a clearly higher confidence counts as a better image.
        last = state.read_snapshot_score if state.read_snapshot_score is not None else 0.0
        return event.snapshot_score > last + 0.01

    def should_read(self, event: FrigateEvent) -> bool:
        """``decide(event).read``."""
        return self.decide(event).read

    def record(self, event_id: str, best_plate_score: float | None) -> None:
        """Report a finished lookup: the best plate's score, or None (nothing read / failed).

        Always call it after a positive decision, success or not: it ends the
        in-flight state that holds back parallel lookups of the same event.
        """
        state = self._events.get(event_id)
        if state is None:
            return  # already ended or expired: nothing left to stop
        state.in_flight_since = None
        if best_plate_score is not None and best_plate_score >= self.stop_score:
            state.done = True

    def settle(self, event_id: str, now: float | None = None) -> None:
        """The event's plate is known without a lookup (Frigate read it): no more lookups."""
        state = self._touch(event_id, self._clock() if now is None else now)
        state.done = True
        state.in_flight_since = None

    def settled(self, event_id: str) -> bool:
        """Has a lookup (or :meth:`settle`) found the event's plate?"""
        state = self._events.get(event_id)
        return state is not None and state.done

    def end(self, event_id: str) -> None:
        """Forget an event (after its ``end`` message was handled)."""
        self._events.pop(event_id, None)
