"""One configured camera at run time: its triggers, its reads and their results.

Push model: nothing polls. A trigger (an entity turning on, a Frigate car
event over MQTT, the button or the action) calls `async_read`, which takes a
snapshot, sends it to the API, keeps the result, tells the entities to write
their state, and then fires the events, so automations triggered by an event
already see updated sensors and image.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from homeassistant.components.camera import async_get_image
from homeassistant.const import STATE_ON
from homeassistant.core import (
    CALLBACK_TYPE,
    Event,
    EventStateChangedData,
    HomeAssistant,
    callback,
)
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.event import async_call_later, async_track_state_change_event
from homeassistant.util import dt as dt_util

from .const import (
    DOMAIN,
    EVENT_PLATE_DETECTED,
    EVENT_TYPE_UNKNOWN,
    EVENT_TYPE_WATCHED,
    TRIGGER_ENTITY,
    TRIGGER_FRIGATE,
)
from .coordinator import PlateRecognizerConfigEntry
from .frigate_trigger import FrigateTrigger
from .platereader import (
    EngineConfig,
    PlateReaderAuthenticationError,
    PlateReaderConfigError,
    PlateReaderConnectionError,
    PlateReaderError,
    PlateReaderHTTPError,
    PlateReaderImageError,
    PlateReaderNoCreditsError,
    PlateReaderRateLimitError,
    PlateReaderResponseError,
    ReadResponse,
)
from .platereader.annotate import annotate
from .platereader.frigate_policy import READ_BY_FRIGATE, FrigatePlate, lookup_read_by
from .reading import CameraRead, PlateRead
from .settings import CameraSettings, Settings

_LOGGER = logging.getLogger(__name__)

_ACTIVE_STATES = frozenset({STATE_ON, "detected", "occupied", "home"})


def _is_active(state: str | None) -> bool:
    """On for binary sensors; above zero for count sensors (Frigate's car count)."""
    if state is None:
        return False
    if state in _ACTIVE_STATES:
        return True
    try:
        return float(state) > 0
    except ValueError:
        return False


class CameraRuntime:
    """Reads of one camera subentry, and the state its entities show."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: PlateRecognizerConfigEntry[CameraRuntime],
        camera: CameraSettings,
    ) -> None:
        self.hass = hass
        self.entry = entry
        self.settings = camera
        self.device_id: str | None = None
        self.last_read: CameraRead | None = None
        self.last_plate: PlateRead | None = None  # best plate of the last read that had one
        self.last_plate_read: CameraRead | None = None
        self.snapshot: bytes | None = None
        self.snapshot_time = dt_util.utcnow()
        self.watched_present = False
        self.last_watched: PlateRead | None = None
        self._lock = asyncio.Lock()
        self._camera_failed = False
        self._listeners: list[Callable[[], None]] = []
        self._read_listeners: list[Callable[[CameraRead], None]] = []
        self._unsubs: list[CALLBACK_TYPE] = []
        self._hold_unsub: CALLBACK_TYPE | None = None
        self.frigate: FrigateTrigger | None = None

    # -- listeners -------------------------------------------------------------

    @callback
    def async_add_listener(self, listener: Callable[[], None]) -> CALLBACK_TYPE:
        """Called after every read (and when the watched sensor turns off)."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    @callback
    def async_add_read_listener(self, listener: Callable[[CameraRead], None]) -> CALLBACK_TYPE:
        """Called with each read that found a plate, after the state listeners."""
        self._read_listeners.append(listener)
        return lambda: self._read_listeners.remove(listener)

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()

    # -- life cycle ------------------------------------------------------------

    async def async_start(self) -> None:
        """Find the camera's device and subscribe to its trigger."""
        device = dr.async_get(self.hass).async_get_device(
            identifiers={(DOMAIN, self.settings.subentry_id)}
        )
        self.device_id = device.id if device else None
        if self.settings.trigger == TRIGGER_ENTITY and self.settings.trigger_entity:
            self._unsubs.append(
                async_track_state_change_event(
                    self.hass, [self.settings.trigger_entity], self._async_trigger_changed
                )
            )
        elif self.settings.trigger == TRIGGER_FRIGATE and self.settings.frigate_camera:
            frigate = FrigateTrigger(
                self.hass, self, self.settings.frigate_camera, self.settings.frigate_lpr
            )
            if await frigate.async_start():
                self.frigate = frigate
            else:
                _LOGGER.warning(
                    "%s: the MQTT integration is not set up, so Frigate events cannot trigger "
                    "reads",
                    self.settings.title,
                )

    @callback
    def async_stop(self) -> None:
        while self._unsubs:
            self._unsubs.pop()()
        if self.frigate is not None:
            self.frigate.async_stop()
            self.frigate = None
        if self._hold_unsub is not None:
            self._hold_unsub()
            self._hold_unsub = None

    # -- triggers --------------------------------------------------------------

    @callback
    def _async_trigger_changed(self, event: Event[EventStateChangedData]) -> None:
        new, old = event.data["new_state"], event.data["old_state"]
        if not _is_active(new.state if new else None):
            return
        if _is_active(old.state if old else None):
            return
        self.hass.async_create_task(self.async_triggered_read(TRIGGER_ENTITY))

    async def async_triggered_read(
        self, trigger: str, *, image: bytes | None = None, frigate: FrigatePlate | None = None
    ) -> CameraRead | None:
        """A read nobody waits for, errors logged not raised. A lookup is skipped if a
        read is running; Frigate's own read of a plate waits its turn instead."""
        if frigate is None and self._lock.locked():
            _LOGGER.debug(
                "%s: read already running, %s trigger skipped", self.settings.title, trigger
            )
            return None
        try:
            return await self.async_read(trigger, image=image, frigate=frigate)
        except HomeAssistantError as err:
            _LOGGER.debug("%s: %s read failed: %s", self.settings.title, trigger, err)
            return None

    # -- reading ---------------------------------------------------------------

    async def async_read(
        self,
        trigger: str,
        *,
        regions: Sequence[str] | None = None,
        mmc: bool | None = None,
        config: EngineConfig | None = None,
        image: bytes | None = None,
        frigate: FrigatePlate | None = None,
        publish: bool = True,
    ) -> CameraRead:
        """Snapshot, look up, update entities, fire events; raise HomeAssistantError on failure.

        `image`: read this picture rather than the camera's current one. `frigate`:
        Frigate read the plate already; it is published as it is, without a lookup
        (the camera's picture, if it can be had, becomes the snapshot). `publish=False`:
        only return the read (the action on a camera no subentry configures).
        """
        data = self.entry.runtime_data
        settings = data.settings
        if regions is None:
            regions = self.settings.regions or settings.regions
        async with self._lock:
            picture: bytes | None
            if frigate is not None:
                picture = image if image is not None else await self.async_camera_image()
                response = ReadResponse(results=(frigate.result(),))
                read_by = READ_BY_FRIGATE
            else:
                picture = image if image is not None else await self._async_image()
                try:
                    response = await data.reader.read(
                        picture,
                        regions=list(regions),
                        camera_id=self.settings.camera_entity,
                        mmc=settings.mmc if mmc is None else mmc,
                        config=settings.engine if config is None else config,
                    )
                except PlateReaderError as err:
                    raise self._read_failed(err) from err
                data.reachability.succeeded()
                data.coordinator.note_read(response)
                read_by = lookup_read_by(data.is_cloud)
            read = CameraRead.build(
                response,
                settings.watchlist,
                camera=self.settings.camera_entity,
                trigger=trigger,
                time=dt_util.utcnow(),
                read_by=read_by,
            )
            if not publish:
                return read
            if read.vehicles and picture is not None:
                await self._async_draw(picture, response, read)
            self._store(read)
        self._fire_events(read)
        return read

    async def _async_image(self) -> bytes:
        """The camera's picture now; a translated HomeAssistantError if there is none."""
        try:
            image = await async_get_image(self.hass, self.settings.camera_entity)
        except HomeAssistantError as err:
            if not self._camera_failed:  # once per outage, not on every trigger
                _LOGGER.warning(
                    "%s: no snapshot from %s: %s",
                    self.settings.title,
                    self.settings.camera_entity,
                    err,
                )
                self._camera_failed = True
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="camera_unavailable",
                translation_placeholders={"camera": self.settings.camera_entity},
            ) from err
        self._camera_failed = False
        return image.content

    def entry_settings(self) -> Settings:
        """The entry's settings as they are now (options can change at any time)."""
        return self.entry.runtime_data.settings

    async def async_camera_image(self) -> bytes | None:
        """The camera's picture now, or None (logged once per outage)."""
        try:
            return await self._async_image()
        except HomeAssistantError:
            return None

    def _read_failed(self, err: PlateReaderError) -> HomeAssistantError:
        """Log the failure once in the right place and turn it into a translated error."""
        data = self.entry.runtime_data
        key = "read_failed"
        if isinstance(err, PlateReaderAuthenticationError) and data.is_cloud:
            _LOGGER.error("%s: the API token was refused; please reauthenticate", self.entry.title)
            self.entry.async_start_reauth(self.hass)
            key = "invalid_auth"
        elif isinstance(err, PlateReaderNoCreditsError):
            data.coordinator.note_no_credits()
            key = "no_credits"
        elif isinstance(err, PlateReaderConnectionError | PlateReaderResponseError) or (
            isinstance(err, PlateReaderHTTPError)
            and not isinstance(err, PlateReaderRateLimitError)
            and err.status >= 500
        ):
            data.reachability.failed(err)
            key = "cannot_connect"
        elif isinstance(err, PlateReaderConfigError):
            _LOGGER.error("%s: %s", self.settings.title, err)
            key = "invalid_request"
        else:
            _LOGGER.warning("%s: read failed: %s", self.settings.title, err)
        return HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key=key,
            translation_placeholders={"error": str(err)},
        )

    async def _async_draw(self, image: bytes, response: Any, read: CameraRead) -> None:
        # Watched plates drawn apart; `read.vehicles` follows `response.results`.
        watched = {index for index, plate in enumerate(read.vehicles) if plate.watched}
        try:
            # Pillow work: in the executor, never on the event loop.
            self.snapshot = await self.hass.async_add_executor_job(
                partial(annotate, image, response.results, highlight=watched)
            )
        except PlateReaderImageError as err:
            _LOGGER.debug("%s: cannot annotate the snapshot: %s", self.settings.title, err)
            self.snapshot = image
        self.snapshot_time = dt_util.utcnow()

    def _store(self, read: CameraRead) -> None:
        self.last_read = read
        if read.best is not None:
            self.last_plate = read.best
            self.last_plate_read = read
        if read.watched:
            self.last_watched = read.watched[0]
            self._hold_watched()
        self._notify()

    def _hold_watched(self) -> None:
        """On now; off `hold_time` seconds after the last watched plate was read."""
        self.watched_present = True
        if self._hold_unsub is not None:
            self._hold_unsub()
        self._hold_unsub = async_call_later(
            self.hass, self.entry.runtime_data.settings.hold_time, self._async_hold_expired
        )

    @callback
    def _async_hold_expired(self, _now: Any) -> None:
        self._hold_unsub = None
        self.watched_present = False
        self._notify()

    def _fire_events(self, read: CameraRead) -> None:
        for plate in read.plates:
            self.hass.bus.async_fire(
                EVENT_PLATE_DETECTED,
                {
                    "device_id": self.device_id,
                    "config_entry_id": self.entry.entry_id,
                    "camera": self.settings.camera_entity,
                    "type": EVENT_TYPE_WATCHED if plate.watched else EVENT_TYPE_UNKNOWN,
                    "trigger": read.trigger,
                    "read_by": read.read_by,
                    "time": read.time.isoformat(),
                    **plate.as_dict(),
                },
            )
        if read.plates:
            for listener in list(self._read_listeners):
                listener(read)
