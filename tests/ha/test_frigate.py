"""Frigate car events over Home Assistant's MQTT integration trigger reads."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import STATE_ON, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import (
    async_capture_events,
    async_fire_mqtt_message,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.plate_recognizer.const import (
    CONF_CAMERA,
    CONF_FRIGATE_CAMERA,
    CONF_FRIGATE_LPR,
    CONF_FRIGATE_LPR_CONFIRM,
    CONF_FRIGATE_LPR_WAIT,
    CONF_MMC,
    CONF_REGIONS,
    CONF_TRIGGER,
    CONF_WATCHLIST,
    EVENT_PLATE_DETECTED,
    FRIGATE_LPR_TOPIC,
    SUBENTRY_CAMERA,
    TRIGGER_FRIGATE,
)
from custom_components.plate_recognizer.platereader.frigate_policy import LprOptions
from tests.fake_api import FakePlateRecognizer
from tests.fake_api.images import image_bytes

from .conftest import (
    CAMERA,
    FRAME,
    FakeCamera,
    advance,
    cloud_entry,
    frigate_entry,
    send_frigate_event,
    setup_entry,
)

LAST_PLATE = "sensor.driveway_last_plate"
WATCHED = "binary_sensor.driveway_watched_vehicle_present"
IMAGE = "image.driveway_snapshot"
CALLS_USED = "sensor.plate_recognizer_cloud_calls_used"
WATCHLIST = [{"name": "Anna", "plate": "NHK 552", "tags": ["resident"]}]


@pytest.fixture
def expected_lingering_timers() -> bool:
    """The MQTT integration's own housekeeping timer may outlive a test (not ours)."""
    return True


def _event(kind: str, event_id: str = "1.1-abc", **after: Any) -> str:
    body = {"id": event_id, "camera": "drive", "label": "car", **after}
    return json.dumps({"type": kind, "before": body, "after": body})


def _read(plate: str | None, score: float | None = None) -> dict[str, Any]:
    """`after` fields of a Frigate 0.16 event (its own plate read, or none yet)."""
    return {"recognized_license_plate": plate, "recognized_license_plate_score": score}


def _lpr(event_id: str, plate: str, score: float, camera: str = "drive") -> str:
    """A `frigate/tracked_object_update` message of type `lpr` (Frigate 0.16+)."""
    return json.dumps(
        {
            "type": "lpr",
            "id": event_id,
            "name": None,
            "plate": plate,
            "score": score,
            "camera": camera,
            "timestamp": 1752332042.5,
            "plate_box": [917, 487, 1029, 529],
        }
    )


async def test_frigate_car_event_reads_once_per_event(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    fake_api: FakePlateRecognizer,
    camera: FakeCamera,
) -> None:
    fake_api.rate_limit = None
    await setup_entry(hass, frigate_entry(fake_api))

    # Not for us: another camera, a person, a false positive, not JSON at all.
    await send_frigate_event(hass, _event("new", camera="garden"))
    await send_frigate_event(hass, _event("new", label="person"))
    await send_frigate_event(hass, _event("new", false_positive=True))
    await send_frigate_event(hass, "not json")
    await send_frigate_event(hass, json.dumps({"type": "new"}))
    assert fake_api.requests == []

    await send_frigate_event(hass, _event("new"))
    assert len(fake_api.requests) == 1
    attributes = hass.states.get(LAST_PLATE).attributes
    assert (attributes["trigger"], attributes["read_by"]) == ("frigate", "api")
    # The plate was found: later updates of the same event cost nothing.
    await send_frigate_event(hass, _event("update"))
    assert len(fake_api.requests) == 1
    await send_frigate_event(hass, _event("end"))

    # A new car (a new event id) is read again.
    await send_frigate_event(hass, _event("new", event_id="2.2-def", label="truck"))
    assert len(fake_api.requests) == 2


async def test_frigate_updates_are_throttled_until_a_plate_is_found(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    fake_api: FakePlateRecognizer,
    camera: FakeCamera,
) -> None:
    fake_api.responder = lambda request: []  # the car is still too far away
    await setup_entry(hass, frigate_entry(fake_api))
    await send_frigate_event(hass, _event("new"))
    await send_frigate_event(hass, _event("update"))  # too soon after the first read
    await send_frigate_event(hass, _event("update", stationary=True))  # parked
    assert len(fake_api.requests) == 1


async def test_frigate_without_mqtt_warns(
    hass: HomeAssistant,
    fake_api: FakePlateRecognizer,
    camera: FakeCamera,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await setup_entry(hass, frigate_entry(fake_api))
    assert "MQTT integration is not set up" in caplog.text


# -- Frigate's own plate reads (0.16+ LPR) ---------------------------------------------


async def test_confident_frigate_read_is_published_without_a_lookup(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    fake_api: FakePlateRecognizer,
    camera: FakeCamera,
) -> None:
    await setup_entry(hass, frigate_entry(fake_api, options={CONF_WATCHLIST: WATCHLIST}))
    bus_events = async_capture_events(hass, EVENT_PLATE_DETECTED)

    await send_frigate_event(hass, _event("new", **_read("NHK552", 0.95)))
    await send_frigate_event(hass, _event("update", **_read("NHK552", 0.95)))
    assert fake_api.requests == []
    state = hass.states.get(LAST_PLATE)
    assert state.state == "NHK552"
    assert (state.attributes["read_by"], state.attributes["trigger"]) == ("frigate", "frigate")
    assert state.attributes["score"] == 0.95
    assert state.attributes["watched"] is True
    assert hass.states.get(WATCHED).state == STATE_ON
    assert hass.states.get(IMAGE).state != STATE_UNKNOWN  # the camera's picture of the car
    assert hass.states.get(CALLS_USED).state == "0"  # no lookup counted
    (bus_event,) = bus_events
    assert (bus_event.data["read_by"], bus_event.data["type"]) == ("frigate", "watched_plate")

    # Frigate reads plates on this camera now: the next car's lookup waits for its read,
    # which comes on tracked_object_update.
    await send_frigate_event(hass, _event("new", "2.2-def", **_read(None)))
    assert fake_api.requests == []
    async_fire_mqtt_message(hass, FRIGATE_LPR_TOPIC, _lpr("2.2-def", "XY99ZZZ", 0.93))
    await hass.async_block_till_done()
    assert hass.states.get(LAST_PLATE).state == "XY99ZZZ"
    assert bus_events[-1].data["type"] == "unknown_plate"
    await advance(hass, timedelta(seconds=30))  # the wait would be long over
    assert fake_api.requests == []


async def test_weak_frigate_read_is_looked_up_after_the_wait(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    fake_api: FakePlateRecognizer,
    camera: FakeCamera,
) -> None:
    fake_api.rate_limit = None
    await setup_entry(hass, frigate_entry(fake_api, **{CONF_FRIGATE_LPR_WAIT: 5}))
    await send_frigate_event(hass, _event("new", **_read("NHK55Z", 0.8)))  # below 0.9
    assert fake_api.requests == []
    camera.image = image_bytes("JPEG", 640, 360)  # the car has driven on
    await advance(hass, timedelta(seconds=2))
    assert fake_api.requests == []
    await advance(hass, timedelta(seconds=6))  # from now: past the 5 s wait
    # Read: the picture taken when the car came, not the empty drive of now.
    (request,) = fake_api.requests
    assert request.upload == FRAME
    state = hass.states.get(LAST_PLATE)
    assert (state.state, state.attributes["read_by"]) == ("NHK552", "api")


async def test_missing_frigate_read_is_looked_up_after_the_wait(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    fake_api: FakePlateRecognizer,
    camera: FakeCamera,
) -> None:
    await setup_entry(hass, frigate_entry(fake_api, **{CONF_FRIGATE_LPR: "on"}))
    await send_frigate_event(hass, _event("new", **_read(None)))
    await send_frigate_event(hass, _event("update", **_read(None)))
    assert fake_api.requests == []
    await advance(hass, timedelta(seconds=4))  # the default wait is 3 s
    assert len(fake_api.requests) == 1
    # A car that leaves before the wait is over is looked up at once.
    await send_frigate_event(hass, _event("new", "3.3-ghi", **_read(None)))
    await send_frigate_event(hass, _event("end", "3.3-ghi", **_read(None)))
    assert len(fake_api.requests) == 2


async def test_mmc_looks_up_even_a_confident_frigate_read(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    fake_api: FakePlateRecognizer,
    camera: FakeCamera,
) -> None:
    await setup_entry(hass, frigate_entry(fake_api, options={CONF_MMC: True}))
    await send_frigate_event(hass, _event("new", **_read("NHK552", 0.97)))
    (request,) = fake_api.requests  # at once: nothing to wait for
    assert request.mmc is True
    assert hass.states.get(LAST_PLATE).attributes["read_by"] == "api"


async def test_confirm_watched_looks_up_before_a_watched_plate_counts(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    fake_api: FakePlateRecognizer,
    camera: FakeCamera,
) -> None:
    fake_api.rate_limit = None
    await setup_entry(
        hass,
        frigate_entry(
            fake_api, options={CONF_WATCHLIST: WATCHLIST}, **{CONF_FRIGATE_LPR_CONFIRM: True}
        ),
    )
    await send_frigate_event(hass, _event("new", **_read("NHK552", 0.97)))
    assert len(fake_api.requests) == 1
    state = hass.states.get(LAST_PLATE)
    assert (state.attributes["read_by"], state.attributes["watched"]) == ("api", True)
    # A plate not on the watch list needs no second opinion.
    await send_frigate_event(hass, _event("new", "2.2-def", **_read("XY99ZZZ", 0.97)))
    assert len(fake_api.requests) == 1
    assert hass.states.get(LAST_PLATE).attributes["read_by"] == "frigate"


async def test_lpr_off_and_frigate_without_lpr_read_at_once(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    fake_api: FakePlateRecognizer,
    camera: FakeCamera,
) -> None:
    fake_api.rate_limit = None
    await setup_entry(hass, frigate_entry(fake_api, **{CONF_FRIGATE_LPR: "off"}))
    await send_frigate_event(hass, _event("new", **_read("NHK552", 0.99)))
    assert len(fake_api.requests) == 1
    async_fire_mqtt_message(hass, FRIGATE_LPR_TOPIC, _lpr("2.2-def", "XY99ZZZ", 0.99))
    await send_frigate_event(hass, _event("new", "2.2-def"))
    assert len(fake_api.requests) == 2
    assert hass.states.get(LAST_PLATE).attributes["read_by"] == "api"


async def test_frigate_step_stores_the_lpr_options_changed(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    fake_api: FakePlateRecognizer,
    camera: FakeCamera,
) -> None:
    entry = await setup_entry(hass, cloud_entry(fake_api, subentries=[]))
    configure = hass.config_entries.subentries.async_configure
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_CAMERA), context={"source": SOURCE_USER}
    )
    result = await configure(
        result["flow_id"], {CONF_CAMERA: CAMERA, CONF_TRIGGER: TRIGGER_FRIGATE}
    )
    assert result["step_id"] == "frigate"
    result = await configure(
        result["flow_id"],
        {
            CONF_FRIGATE_CAMERA: "drive",
            CONF_FRIGATE_LPR: "on",
            CONF_FRIGATE_LPR_WAIT: 5,
            CONF_FRIGATE_LPR_CONFIRM: True,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    # The minimum score was left at its default: not stored, so it follows the default.
    assert result["data"] == {
        CONF_CAMERA: CAMERA,
        CONF_TRIGGER: TRIGGER_FRIGATE,
        CONF_REGIONS: [],
        CONF_FRIGATE_CAMERA: "drive",
        CONF_FRIGATE_LPR: "on",
        CONF_FRIGATE_LPR_WAIT: 5,
        CONF_FRIGATE_LPR_CONFIRM: True,
    }
    await hass.async_block_till_done()
    (runtime,) = entry.runtime_data.cameras.values()
    assert runtime.settings.frigate_lpr == LprOptions(mode="on", wait=5, confirm_watched=True)
