"""Frigate for the bridge: its events, the decision to look one up, and its HTTP API.

* Events and the policy live in the HA-free core, shared with the Home
  Assistant integration's Frigate trigger: :mod:`platereader.frigate_events`
  (pydantic payload models, :func:`parse_event`, :class:`FrigateFilter`),
  :mod:`platereader.frigate_tracker` (:class:`EventTracker`: better snapshot,
  good plate, attempt budget, parked cars) and :mod:`platereader.frigate_policy`
  (Frigate's own plate reads).
* :mod:`bridge.frigate.client`: :class:`FrigateClient`, snapshots over
  Frigate's HTTP API and the write-back of plates.

``bridge/sources/frigate.py`` wires them to MQTT and the pipeline.
"""

from platereader.frigate_events import (
    DEFAULT_LABELS,
    EventType,
    FrigateEvent,
    FrigateEventError,
    FrigateFilter,
    parse_event,
)
from platereader.frigate_tracker import Decision, DecisionReason, EventTracker

from .client import (
    SUB_LABEL_MAX,
    FrigateClient,
    FrigateError,
    Snapshot,
    height_param_for,
    parse_version,
)

__all__ = [
    "DEFAULT_LABELS",
    "SUB_LABEL_MAX",
    "Decision",
    "DecisionReason",
    "EventTracker",
    "EventType",
    "FrigateClient",
    "FrigateError",
    "FrigateEvent",
    "FrigateEventError",
    "FrigateFilter",
    "Snapshot",
    "height_param_for",
    "parse_event",
    "parse_version",
]
