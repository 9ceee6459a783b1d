"""Triggered reads: every entity updated, the events fired, the watched sensor's hold time."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import Any

import pytest
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util
from PIL import Image
from pytest_homeassistant_custom_component.common import (
    async_capture_events,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.plate_recognizer.const import (
    CONF_HOLD_TIME,
    CONF_MMC,
    CONF_REGIONS,
    CONF_WATCHLIST,
    DOMAIN,
    EVENT_PLATE_DETECTED,
)
from tests.fake_api import FakePlateRecognizer, RecordedRequest

from .conftest import CAMERA, FRAME, MOTION, FakeCamera, camera_subentry, cloud_entry, setup_entry

LAST_PLATE = "sensor.driveway_last_plate"
VEHICLE_TYPE = "sensor.driveway_vehicle_type"
WATCHED = "binary_sensor.driveway_watched_vehicle_present"
EVENT = "event.driveway_plate"
IMAGE = "image.driveway_snapshot"
CALLS_USED = "sensor.plate_recognizer_cloud_calls_used"

WATCHLIST = [{"name": "Anna", "plate": "NHK 552", "tolerance": 1.0, "tags": ["resident"]}]


async def _motion(hass: HomeAssistant, entity_id: str = MOTION) -> None:
    hass.states.async_set(entity_id, STATE_OFF)
    await hass.async_block_till_done()
    hass.states.async_set(entity_id, STATE_ON)
    await hass.async_block_till_done()


def _record_event_states(hass: HomeAssistant) -> list[str]:
    """Every event type the event entity reports, in order."""
    seen: list[str] = []

    @callback
    def _listener(event: Event[Any]) -> None:
        if event.data["entity_id"] == EVENT and event.data["new_state"] is not None:
            seen.append(event.data["new_state"].attributes.get("event_type"))

    hass.bus.async_listen("state_changed", _listener)
    return seen


async def test_motion_read_updates_everything(
    hass: HomeAssistant,
    fake_api: FakePlateRecognizer,
    camera: FakeCamera,
    hass_client: ClientSessionGenerator,
) -> None:
    entry = await setup_entry(
        hass,
        cloud_entry(fake_api, options={CONF_WATCHLIST: WATCHLIST, CONF_REGIONS: ["gb"]}),
    )
    assert hass.states.get(LAST_PLATE).state == STATE_UNKNOWN
    assert hass.states.get(WATCHED).state == STATE_OFF
    assert hass.states.get(IMAGE).state == STATE_UNKNOWN
    bus_events = async_capture_events(hass, EVENT_PLATE_DETECTED)
    event_types = _record_event_states(hass)

    await _motion(hass)

    request = fake_api.last_request
    assert request.upload == FRAME
    assert request.camera_id == CAMERA
    assert request.regions == ["gb"]
    assert request.mmc is False
    assert request.config is None

    state = hass.states.get(LAST_PLATE)
    assert state.state == "NHK552"
    assert state.attributes["score"] == 0.904
    assert state.attributes["region"] == "gb"
    assert state.attributes["candidates"] == [{"plate": "NHK552", "score": 0.904}]
    assert state.attributes["box"] == {"xmin": 143, "ymin": 481, "xmax": 282, "ymax": 575}
    assert state.attributes["watched"] is True
    assert state.attributes["match"]["name"] == "Anna"
    assert state.attributes["match"]["distance"] == 0
    assert state.attributes["trigger"] == "entity"
    assert [v["type"] for v in state.attributes["vehicles"]] == ["Sedan"]
    assert hass.states.get(VEHICLE_TYPE).state == "Sedan"
    assert hass.states.get(WATCHED).state == STATE_ON
    assert hass.states.get(WATCHED).attributes["name"] == "Anna"
    assert hass.states.get(CALLS_USED).state == "1"

    assert event_types == ["plate_detected", "watched_plate"]
    assert hass.states.get(EVENT).attributes["plate"] == "NHK552"

    (bus_event,) = bus_events
    device = dr.async_get(hass).async_get_device(
        identifiers={(DOMAIN, next(iter(entry.subentries)))}
    )
    assert device is not None
    assert bus_event.data["device_id"] == device.id
    assert bus_event.data["camera"] == CAMERA
    assert bus_event.data["type"] == "watched_plate"
    assert bus_event.data["plate"] == "NHK552"
    assert bus_event.data["match"]["tags"] == ["resident"]

    # The snapshot: the camera's frame, annotated, same size.
    assert hass.states.get(IMAGE).state != STATE_UNKNOWN
    client = await hass_client()
    response = await client.get(f"/api/image_proxy/{IMAGE}")
    assert response.status == HTTPStatus.OK
    body = await response.read()
    assert body != FRAME
    with Image.open(io.BytesIO(body)) as picture:
        assert picture.size == (1280, 720)
        # Anna's plate is watched: its box is drawn in green over the blue frame
        # (an unknown plate's is yellow).
        red, green, blue = picture.convert("RGB").getpixel((143, 520))
        assert green > 180 and red < 100 and blue < 160


async def test_watched_sensor_turns_off_after_hold_time(
    hass: HomeAssistant, fake_api: FakePlateRecognizer, camera: FakeCamera
) -> None:
    await setup_entry(
        hass, cloud_entry(fake_api, options={CONF_WATCHLIST: WATCHLIST, CONF_HOLD_TIME: 30})
    )
    await _motion(hass)
    first = dt_util.utcnow()
    assert hass.states.get(WATCHED).state == STATE_ON
    await _fire_at(hass, first + timedelta(seconds=20))
    assert hass.states.get(WATCHED).state == STATE_ON

    # A second sighting restarts the hold. The client's 1 lookup/s limit puts
    # it at least a second after the first, so at +30.5 s only the first
    # sighting's hold would have ended.
    await hass.services.async_call(
        "button", "press", {"entity_id": "button.driveway_read_plate_now"}, blocking=True
    )
    await _fire_at(hass, first + timedelta(seconds=30.5))
    assert hass.states.get(WATCHED).state == STATE_ON
    await _fire_at(hass, dt_util.utcnow() + timedelta(seconds=31))
    assert hass.states.get(WATCHED).state == STATE_OFF
    # The last match stays in the attributes, for notifications.
    assert hass.states.get(WATCHED).attributes["plate"] == "NHK552"


async def _fire_at(hass: HomeAssistant, when: datetime) -> None:
    async_fire_time_changed(hass, when)
    await hass.async_block_till_done()


async def test_unknown_plate_and_fuzzy_match(
    hass: HomeAssistant, fake_api: FakePlateRecognizer, camera: FakeCamera
) -> None:
    # Anna's plate read with an 8 for the B and a 0 for the O: still Anna's.
    reads = iter(["AB12CDE", "A812CD0", "ZZ999"])

    def responder(request: RecordedRequest) -> list[dict[str, Any]]:
        plate = next(reads)
        return [
            {
                "plate": plate.lower(),
                "box": {"xmin": 10, "ymin": 10, "xmax": 60, "ymax": 30},
                "score": 0.8,
                "dscore": 0.9,
                "candidates": [{"plate": plate.lower(), "score": 0.8}],
            }
        ]

    fake_api.responder = responder
    fake_api.rate_limit = None
    watch = [{"name": "Anna", "plate": "AB12 CDO", "tolerance": 0.5, "tags": []}]
    await setup_entry(hass, cloud_entry(fake_api, options={CONF_WATCHLIST: watch}))
    bus_events = async_capture_events(hass, EVENT_PLATE_DETECTED)
    for _ in range(3):
        await hass.services.async_call(
            "button", "press", {"entity_id": "button.driveway_read_plate_now"}, blocking=True
        )
    types = {e.data["plate"]: e.data["type"] for e in bus_events}
    assert types == {
        "AB12CDE": "unknown_plate",  # E for O is a real difference (1 > 0.5)
        "A812CD0": "watched_plate",  # 8/B and 0/O: 0.5
        "ZZ999": "unknown_plate",
    }
    assert bus_events[1].data["match"]["distance"] == 0.5
    assert hass.states.get(EVENT).attributes["event_type"] == "unknown_plate"
    # Vehicles without a detected vehicle: the type sensor stays unknown.
    assert hass.states.get(VEHICLE_TYPE).state == STATE_UNKNOWN


async def test_no_plate_keeps_last_plate(
    hass: HomeAssistant, fake_api: FakePlateRecognizer, camera: FakeCamera
) -> None:
    await setup_entry(hass, cloud_entry(fake_api))
    fake_api.rate_limit = None
    await _motion(hass)
    assert hass.states.get(LAST_PLATE).state == "NHK552"
    fake_api.responder = lambda request: []
    bus_events = async_capture_events(hass, EVENT_PLATE_DETECTED)
    await hass.services.async_call(
        "button", "press", {"entity_id": "button.driveway_read_plate_now"}, blocking=True
    )
    assert bus_events == []
    assert hass.states.get(LAST_PLATE).state == "NHK552"


async def test_mmc_entities(
    hass: HomeAssistant, fake_api: FakePlateRecognizer, camera: FakeCamera
) -> None:
    await setup_entry(hass, cloud_entry(fake_api, options={CONF_MMC: True}))
    await _motion(hass)
    assert fake_api.last_request.mmc is True
    make_model = hass.states.get("sensor.driveway_make_and_model")
    assert make_model.state == "Riley RMF"
    assert make_model.attributes["make"] == "Riley"
    assert make_model.attributes["score"] == 0.306
    assert hass.states.get("sensor.driveway_colour").state == "black"
    assert hass.states.get("sensor.driveway_orientation").state == "Front"


async def test_vehicle_mode_lists_every_vehicle(
    hass: HomeAssistant, fake_api: FakePlateRecognizer, camera: FakeCamera
) -> None:
    await setup_entry(
        hass, cloud_entry(fake_api, options={CONF_MMC: True, "engine": {"vehicle_mode": True}})
    )
    await _motion(hass)
    attributes = hass.states.get(LAST_PLATE).attributes
    assert [(v["type"], v["plate"]) for v in attributes["vehicles"]] == [
        ("Sedan", "NHK552"),
        ("Van", None),
    ]
    assert attributes["vehicles"][1]["make_model"]["make"] == "Ford"


@pytest.mark.parametrize(
    ("old", "new", "reads"),
    [
        (STATE_OFF, STATE_ON, 1),
        (STATE_ON, STATE_ON, 0),  # an attribute change while on
        (STATE_ON, STATE_OFF, 0),
        ("0", "2", 1),  # a count sensor (Frigate's car count) going above zero
        ("1", "2", 0),
        (STATE_UNAVAILABLE, "clear", 0),
        (None, STATE_ON, 1),  # the entity appearing already on
    ],
)
async def test_which_changes_trigger(
    hass: HomeAssistant,
    fake_api: FakePlateRecognizer,
    camera: FakeCamera,
    old: str | None,
    new: str,
    reads: int,
) -> None:
    await setup_entry(hass, cloud_entry(fake_api))
    fake_api.rate_limit = None
    if old is not None:
        hass.states.async_set(MOTION, old)
        await hass.async_block_till_done()
    before = len(fake_api.requests)
    hass.states.async_set(MOTION, new, {"changed": True})
    await hass.async_block_till_done()
    assert len(fake_api.requests) - before == reads


async def test_manual_camera_has_no_trigger(
    hass: HomeAssistant, fake_api: FakePlateRecognizer, camera: FakeCamera
) -> None:
    await setup_entry(hass, cloud_entry(fake_api, subentries=[camera_subentry(trigger="manual")]))
    await _motion(hass)
    assert fake_api.requests == []
    await hass.services.async_call(
        "button", "press", {"entity_id": "button.driveway_read_plate_now"}, blocking=True
    )
    assert len(fake_api.requests) == 1
    assert hass.states.get(LAST_PLATE).attributes["trigger"] == "button"
