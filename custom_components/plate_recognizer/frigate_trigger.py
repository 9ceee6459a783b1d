"""Frigate events of one camera, over Home Assistant's MQTT, start its reads.

Which car event (`frigate/events`) deserves a lookup is the shared core's
decision, the same as the MQTT bridge's: `platereader.frigate_events` parses
and filters the event (vehicle labels, false positives), and
`platereader.frigate_tracker.EventTracker` reads a car once more only when
Frigate found a better view of it, at most `FRIGATE_MAX_READS` times, never
once a good plate was read and never for a parked car. Frigate 0.16+ reads
plates itself; what its read means (publish it as it is, hold the lookup a
little while Frigate may still read the plate, or look up now) is
`platereader.frigate_policy.decide`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later

from .const import FRIGATE_LPR_TOPIC, FRIGATE_MAX_READS, FRIGATE_TOPIC, TRIGGER_FRIGATE
from .platereader.frigate_events import (
    DEFAULT_LABELS,
    FrigateEvent,
    FrigateEventError,
    FrigateFilter,
    parse_event,
)
from .platereader.frigate_policy import (
    Action,
    FrigatePayloadError,
    FrigatePlate,
    FrigatePlates,
    LprDecision,
    LprOptions,
    Reason,
    decide,
    parse_lpr_update,
)
from .platereader.frigate_tracker import EventTracker

if TYPE_CHECKING:
    from .camera_runtime import CameraRuntime

_LOGGER = logging.getLogger(__name__)

# Lookups held back at once per camera: each keeps one camera picture in memory.
_MAX_HELD = 4


@dataclass(slots=True)
class _Held:
    """A lookup held back while Frigate may still read the plate itself."""

    cancel: CALLBACK_TYPE
    image: bytes | None = None  # the picture taken when the car came, read if Frigate doesn't


class FrigateTrigger:
    """Frigate's messages about one camera, turned into reads of it."""

    def __init__(
        self, hass: HomeAssistant, runtime: CameraRuntime, camera: str, options: LprOptions
    ) -> None:
        self.hass = hass
        self.runtime = runtime
        self.camera = camera
        self.options = options
        self.plates = FrigatePlates(max_events=256)
        self.filter = FrigateFilter(cameras=frozenset({camera}), labels=DEFAULT_LABELS)
        # The lookup reads the camera's picture of now, not Frigate's snapshot.
        self.tracker = EventTracker(max_attempts=FRIGATE_MAX_READS, max_events=256, live_image=True)
        self._held: dict[str, _Held] = {}
        self._unsubs: list[CALLBACK_TYPE] = []

    async def async_start(self) -> bool:
        """Subscribe to Frigate's topics; False when the MQTT integration is not set up."""
        # Imported here: the mqtt integration is optional (an after-dependency).
        from homeassistant.components import mqtt

        if not await mqtt.async_wait_for_mqtt_client(self.hass):
            return False
        self._unsubs.append(
            await mqtt.async_subscribe(self.hass, FRIGATE_TOPIC, self._async_event_message)
        )
        if self.options.enabled:
            self._unsubs.append(
                await mqtt.async_subscribe(self.hass, FRIGATE_LPR_TOPIC, self._async_lpr_message)
            )
        return True

    @callback
    def async_stop(self) -> None:
        while self._unsubs:
            self._unsubs.pop()()
        for held in self._held.values():
            held.cancel()
        self._held.clear()

    # -- messages --------------------------------------------------------------

    @callback
    def _async_event_message(self, message: Any) -> None:
        try:
            event = parse_event(message.payload)
        except FrigateEventError as err:
            if err.camera in (None, self.camera):
                _LOGGER.debug("Ignoring a Frigate message that is not an event: %s", err)
            return
        if event.camera != self.camera:
            return
        reason = self.filter.reason(event)
        if reason is None and self.options.enabled and event.frigate_plate is not None:
            self.plates.add(event.frigate_plate)
        if event.type == "end":
            self._release(event.id)  # the car is gone: Frigate reads no more
            self.tracker.end(event.id)
            self.plates.forget(event.id)
            return
        if reason is not None:
            _LOGGER.debug("Frigate event %s ignored: %s", event.id, reason)
            return
        if self.options.enabled and self._use_frigate_read(event.id):
            return
        if event.id in self._held:
            return  # a lookup is held for this car already
        self._judge(event)

    def _judge(self, event: FrigateEvent) -> None:
        decision = self.tracker.decide(event)
        if not decision:
            _LOGGER.debug("Frigate event %s not read: %s", event.id, decision.reason)
            return
        if (
            self.options.enabled
            and decision.attempt == 1  # only the first lookup of a car waits
            and len(self._held) < _MAX_HELD
            and self._verdict(event.id, waited=False).action is Action.WAIT
        ):
            self._hold(event.id)
            return
        self.hass.async_create_task(self._async_lookup(event.id))

    @callback
    def _async_lpr_message(self, message: Any) -> None:
        """`frigate/tracked_object_update`: Frigate read a plate (`type: lpr`)."""
        try:
            plate = parse_lpr_update(message.payload)
        except FrigatePayloadError as err:
            _LOGGER.debug("Ignoring a Frigate tracked object update: %s", err)
            return
        if plate is None or plate.camera != self.camera:
            return
        self.plates.add(plate)
        # Only for a car event seen here; otherwise its next message uses the plate.
        if plate.event_id in self.tracker:
            self._use_frigate_read(plate.event_id)

    # -- Frigate's own reads -----------------------------------------------------

    def _verdict(self, event_id: str, *, waited: bool) -> LprDecision:
        plate = self.plates.get(event_id)
        settings = self.runtime.entry.runtime_data.settings
        watched = (
            self.options.confirm_watched
            and plate is not None
            and settings.watchlist.match(plate.result()) is not None
        )
        return decide(
            plate,
            self.options,
            reads_plates=self.plates.reads_plates(self.camera),
            mmc=settings.mmc,
            watched=watched,
            waited=waited,
        )

    def _use_frigate_read(self, event_id: str) -> bool:
        """Publish Frigate's read of the car if it is enough; True if the message needs
        nothing more (read by Frigate, or the lookup confirming it released)."""
        if self.plates.published(event_id):
            return True
        plate = self.plates.get(event_id)
        if plate is None or self.tracker.settled(event_id):
            return False  # no read of Frigate's, or a lookup found the plate already
        verdict = self._verdict(event_id, waited=False)
        if verdict.reason is Reason.CONFIRM_WATCHED and event_id in self._held:
            self._release(event_id)  # a watched plate to confirm: look up now
            return True
        if verdict.action is not Action.PUBLISH:
            return False
        held = self._held.pop(event_id, None)
        if held is not None:
            held.cancel()  # the lookup held for this car is not needed
        self.plates.mark_published(event_id)
        self.tracker.settle(event_id)
        self.hass.async_create_task(self._async_publish(plate))
        return True

    def _hold(self, event_id: str) -> None:
        cancel = async_call_later(self.hass, self.options.wait, partial(self._wait_over, event_id))
        self._held[event_id] = _Held(cancel)
        self.hass.async_create_task(self._async_keep_picture(event_id))

    async def _async_keep_picture(self, event_id: str) -> None:
        """The car as it is now: what the lookup reads if Frigate's read does not come."""
        image = await self.runtime.async_camera_image()
        held = self._held.get(event_id)
        if held is not None:
            held.image = image

    @callback
    def _wait_over(self, event_id: str, _now: Any) -> None:
        self._release(event_id)

    def _release(self, event_id: str) -> None:
        """The wait is over (or the car is gone): the held lookup goes ahead."""
        held = self._held.pop(event_id, None)
        if held is None:
            return
        held.cancel()
        if self._verdict(event_id, waited=True).action is Action.PUBLISH:
            self._use_frigate_read(event_id)
            return
        self.hass.async_create_task(self._async_lookup(event_id, held.image))

    async def _async_publish(self, plate: FrigatePlate) -> None:
        await self.runtime.async_triggered_read(TRIGGER_FRIGATE, frigate=plate)

    async def _async_lookup(self, event_id: str, image: bytes | None = None) -> None:
        best: float | None = None
        try:
            result = await self.runtime.async_triggered_read(TRIGGER_FRIGATE, image=image)
            if result is not None:
                scores = [p.result.score or 0.0 for p in result.plates if p.plate]
                best = max(scores, default=None)
        finally:
            # Always: it ends the lookup in flight, and a good plate ends the event's lookups.
            self.tracker.record(event_id, best)
