"""Frigate events of one camera, over Home Assistant's MQTT, start its reads.

A car event (`frigate/events`) triggers a lookup: at most `FRIGATE_MAX_READS`
per event, `FRIGATE_MIN_INTERVAL` apart, none once a plate was found, none for
a parked car's updates. Frigate 0.16+ reads plates itself; what its read means
(publish it as it is, hold the lookup a little while Frigate may still read the
plate, or look up now) is the shared core's decision
(`platereader.frigate_policy.decide`), the same as the MQTT bridge's.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later

from .const import (
    FRIGATE_LABELS,
    FRIGATE_LPR_TOPIC,
    FRIGATE_MAX_READS,
    FRIGATE_MIN_INTERVAL,
    FRIGATE_TOPIC,
    TRIGGER_FRIGATE,
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
    plate_in_event,
)

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
        # Frigate event id -> (reads so far, monotonic time of the last, plate found)
        self._events: dict[str, tuple[int, float, bool]] = {}
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
            payload = json.loads(message.payload)
            kind = payload["type"]
            after = payload["after"]
            event_id = str(after["id"])
        except (ValueError, KeyError, TypeError):
            _LOGGER.debug("Ignoring a Frigate message that is not an event: %.100r", message)
            return
        if after.get("camera") != self.camera:
            return
        if self.options.enabled:
            self._note_event_plate(event_id, after)
        if kind == "end":
            self._release(event_id)  # the car is gone: Frigate reads no more
            self._events.pop(event_id, None)
            self.plates.forget(event_id)
            return
        if kind not in ("new", "update") or after.get("label") not in FRIGATE_LABELS:
            return
        if after.get("false_positive") or (kind == "update" and after.get("stationary")):
            return  # a parked car would otherwise cost a read with every update
        if self.options.enabled and self._use_frigate_read(event_id):
            return
        if event_id in self._held:
            return  # a lookup is held for this car already
        reads, last, found = self._events.get(event_id, (0, 0.0, False))
        now = time.monotonic()
        if found or reads >= FRIGATE_MAX_READS or (reads and now - last < FRIGATE_MIN_INTERVAL):
            return
        self._events[event_id] = (reads + 1, now, False)
        if (
            self.options.enabled
            and not reads  # only the first lookup of a car waits
            and len(self._held) < _MAX_HELD
            and self._verdict(event_id, waited=False).action is Action.WAIT
        ):
            self._hold(event_id)
            return
        self.hass.async_create_task(self._async_lookup(event_id))

    def _note_event_plate(self, event_id: str, after: dict[str, Any]) -> None:
        try:
            found = plate_in_event(after)
        except FrigatePayloadError as err:
            _LOGGER.debug("Ignoring Frigate's plate of event %s: %s", event_id, err)
            return
        if found is not None:
            self.plates.add(FrigatePlate(event_id, self.camera, *found))

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
        if plate.event_id in self._events:
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
        reads, last, found = self._events.get(event_id, (0, 0.0, False))
        if plate is None or found:
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
        self._events[event_id] = (reads, last, True)
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
        result = await self.runtime.async_triggered_read(TRIGGER_FRIGATE, image=image)
        if result is not None and result.plates and event_id in self._events:
            reads, last, _ = self._events[event_id]
            self._events[event_id] = (reads, last, True)
