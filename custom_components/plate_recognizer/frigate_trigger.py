"""Frigate events of one camera, over Home Assistant's MQTT, start its reads.

What to do about each message is the shared core's one Frigate event policy,
the same as the MQTT bridge's (`platereader.frigate_flow.FrigateEventPolicy`):
filter the event (vehicle labels, false positives), use Frigate's own plate
read (0.16+) when it is enough, else read a car once more only when Frigate
found a better view of it (`platereader.frigate_tracker.EventTracker`: at most
`FRIGATE_MAX_READS` times, never once a good plate was read, never for a
parked car), holding the first lookup a little while Frigate may still read
the plate. This module carries the answers out with the camera's picture.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later

from .const import FRIGATE_LPR_TOPIC, FRIGATE_MAX_READS, FRIGATE_TOPIC, TRIGGER_FRIGATE
from .platereader.frigate_events import (
    DEFAULT_LABELS,
    FrigateEventError,
    FrigateFilter,
    parse_event,
)
from .platereader.frigate_flow import FrigateEventPolicy, Judgement, LookupFacts, Step
from .platereader.frigate_policy import (
    FrigatePayloadError,
    FrigatePlate,
    FrigatePlates,
    LprOptions,
    parse_lpr_update,
)
from .platereader.frigate_tracker import EventTracker
from .reading import CameraRead
from .settings import Settings


class FrigateCamera(Protocol):
    """What the trigger needs of its camera (`CameraRuntime` is one).

    A protocol rather than the class itself: the camera builds its trigger, so
    importing the camera here would make the two modules import each other.
    """

    def entry_settings(self) -> Settings:
        """The integration entry's settings (watch list, MMC) as they are now."""
        ...

    async def async_camera_image(self) -> bytes | None: ...

    async def async_triggered_read(
        self, trigger: str, *, image: bytes | None = None, frigate: FrigatePlate | None = None
    ) -> CameraRead | None: ...


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
        self, hass: HomeAssistant, runtime: FrigateCamera, camera: str, options: LprOptions
    ) -> None:
        self.hass = hass
        self.runtime = runtime
        self.camera = camera
        self.options = options
        self.plates = FrigatePlates(max_events=256)
        # The lookup reads the camera's picture of now, not Frigate's snapshot.
        self.tracker = EventTracker(max_attempts=FRIGATE_MAX_READS, max_events=256, live_image=True)
        self.policy = FrigateEventPolicy(
            FrigateFilter(cameras=frozenset({camera}), labels=DEFAULT_LABELS),
            self.tracker,
            options,
            self._facts,
            plates=self.plates,
            max_held=_MAX_HELD,
        )
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
        self.policy.drop_held()

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
        judgement = self.policy.on_event(event)
        _LOGGER.debug("Frigate event %s: %s (%s)", event.id, judgement.step, judgement.reason)
        self._carry_out(event.id, judgement)
        if event.type == "end":
            self._release(event.id)  # the car is gone: Frigate reads no more
            self.policy.end(event.id)

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
        judgement = self.policy.on_plate(plate)
        if judgement is not None:
            self._carry_out(plate.event_id, judgement)

    def _carry_out(self, event_id: str, judgement: Judgement) -> None:
        if judgement.step is Step.LOOKUP:
            self.hass.async_create_task(self._async_lookup(event_id))
        elif judgement.step is Step.HOLD:
            self._hold(event_id)
        elif judgement.step is Step.RELEASE:
            self._release(event_id)
        elif judgement.step is Step.PUBLISH and judgement.plate is not None:
            held = self._held.pop(event_id, None)
            if held is not None:
                held.cancel()  # the lookup held for this car is not needed
            self.hass.async_create_task(self._async_publish(judgement.plate))

    def _facts(self, camera: str, plate: FrigatePlate | None) -> LookupFacts:
        settings = self.runtime.entry_settings()
        watched = (
            self.options.confirm_watched
            and plate is not None
            and settings.watchlist.match(plate.result()) is not None
        )
        return LookupFacts(mmc=settings.mmc, watched=watched)

    # -- a lookup held back while Frigate may still read the plate ----------------

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
        judgement = self.policy.wait_over(event_id)
        if judgement is None or judgement.step is Step.IGNORE:
            return
        if judgement.step is Step.PUBLISH and judgement.plate is not None:
            self.hass.async_create_task(self._async_publish(judgement.plate))
            return
        self.hass.async_create_task(self._async_lookup(event_id, held.image))

    # -- reads ---------------------------------------------------------------------

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
            self.policy.record(event_id, best)
