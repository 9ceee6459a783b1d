"""The watch list in the integration: the shared decision table through a real read, old
tolerances migrated, and a watched car announced once whatever the API does."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.plate_recognizer.const import (
    CONF_API_URL,
    CONF_MODE,
    CONF_TOKEN,
    CONF_WATCHLIST,
    DOMAIN,
    EVENT_PLATE_DETECTED,
    MODE_CLOUD,
)
from tests.fake_api import FakePlateRecognizer, RecordedRequest
from tests.test_watchlist_matrix import MATRIX, Row, decision

from .conftest import CAMERA, TOKEN, FakeCamera, camera_subentry, cloud_entry, setup_entry


async def _read(hass: HomeAssistant) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN, "read_plate", {"camera": CAMERA}, blocking=True, return_response=True
    )
    assert response is not None
    return dict(response)


def _camera_entity(hass: HomeAssistant, entry: MockConfigEntry, platform: str, key: str) -> str:
    """A camera entity's id, found by its unique id (its name is the UI's business)."""
    (subentry_id,) = entry.subentries
    entity_id = er.async_get(hass).async_get_entity_id(platform, DOMAIN, f"{subentry_id}_{key}")
    assert entity_id is not None
    return entity_id


@pytest.mark.parametrize("row", MATRIX, ids=lambda row: row.id)
async def test_decision_table_through_a_read(
    hass: HomeAssistant, fake_api: FakePlateRecognizer, camera: FakeCamera, row: Row
) -> None:
    fake_api.responder = lambda request: [row.api_result()]
    await setup_entry(hass, cloud_entry(fake_api, options={CONF_WATCHLIST: row.watchlist_config()}))
    bus_events = async_capture_events(hass, EVENT_PLATE_DETECTED)
    response = await _read(hass)
    (event,) = bus_events
    assert decision(event.data["match"]) == row.expected
    assert event.data["type"] == ("watched_plate" if row.expected else "unknown_plate")
    assert decision(response["match"]) == row.expected
    assert response["watched"] is (row.expected is not None)


async def test_old_tolerances_are_migrated(
    hass: HomeAssistant, fake_api: FakePlateRecognizer, camera: FakeCamera
) -> None:
    """1.1 stored 1.0 whether or not the user chose it; that default let neighbours in."""
    old = [
        {"name": "Default", "plate": "AB12 CDE", "tolerance": 1.0, "tags": []},
        {"name": "Chosen", "plate": "XY99 ZZZ", "tolerance": 1.5, "tags": []},
        {"name": "Quarter", "plate": "PB642", "tolerance": 0.25, "tags": []},
        {"name": "Wide", "plate": "GH45 JKL", "tolerance": 3.0, "tags": []},
        {"name": "Odd", "plate": "MN1", "tolerance": "x", "tags": []},
    ]
    entry = await setup_entry(hass, cloud_entry(fake_api, options={CONF_WATCHLIST: old}))
    assert entry.minor_version == 2
    assert [item["tolerance"] for item in entry.options[CONF_WATCHLIST]] == [0, 1, 0, 2, 0]
    fake_api.rate_limit = None
    reads = iter(["ab12cdf", "xy99zzf"])
    fake_api.responder = lambda request: [Row("", (), next(reads), 0.9).api_result()]
    assert (await _read(hass))["watched"] is False  # the old default no longer forgives F for E
    assert (await _read(hass))["match"]["kind"] == "tolerance"  # a chosen 1.5 still does


async def test_an_entry_of_this_version_is_left_alone(
    hass: HomeAssistant, fake_api: FakePlateRecognizer, camera: FakeCamera
) -> None:
    watch = [{"name": "One", "plate": "AB12 CDE", "tolerance": 1, "tags": []}]
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Plate Recognizer Cloud",
        unique_id="cloud-account",
        data={CONF_MODE: MODE_CLOUD, CONF_API_URL: fake_api.url, CONF_TOKEN: TOKEN},
        options={CONF_WATCHLIST: watch},
        subentries_data=[camera_subentry()],
        minor_version=2,
    )
    await setup_entry(hass, entry)
    assert entry.options[CONF_WATCHLIST] == watch


async def test_watched_present_fires_once_across_an_outage(
    hass: HomeAssistant, fake_api: FakePlateRecognizer, camera: FakeCamera
) -> None:
    """An API outage within the hold time is no second car.

    The sensor followed the API's reachability: on -> unavailable -> on when the
    API came back, and a `to: "on"` trigger opened the gate twice for one car.
    """
    fake_api.rate_limit = None
    reads = iter(["nhk552", "zz999"])

    def responder(request: RecordedRequest) -> list[dict[str, Any]]:
        return [Row("", (), next(reads), 0.9).api_result()]

    fake_api.responder = responder
    watch = [{"name": "Anna", "plate": "NHK 552", "tolerance": 0, "tags": []}]
    entry = await setup_entry(hass, cloud_entry(fake_api, options={CONF_WATCHLIST: watch}))
    present = _camera_entity(hass, entry, "binary_sensor", "watched_present")
    plate_event = _camera_entity(hass, entry, "event", "plate")
    last_plate = _camera_entity(hass, entry, "sensor", "last_plate")
    changes: dict[str, list[str]] = {present: [], plate_event: []}

    @callback  # in the event loop, in order (a plain function runs in the executor)
    def record(event: Event[EventStateChangedData]) -> None:
        new = event.data["new_state"]
        if event.data["entity_id"] in changes and new is not None:
            changes[event.data["entity_id"]].append(new.state)

    hass.bus.async_listen("state_changed", record)
    await _read(hass)  # the watched car
    assert hass.states.get(present).state == "on"  # type: ignore[union-attr]
    fired = hass.states.get(plate_event).state  # type: ignore[union-attr]

    fake_api.fail_next(503, times=2)  # the read and its retry
    with pytest.raises(HomeAssistantError):
        await _read(hass)
    assert hass.states.get(last_plate).state == "unavailable"  # the outage shows
    await _read(hass)  # the API is back: an unknown car
    await hass.async_block_till_done()
    assert hass.states.get(last_plate).state == "ZZ999"  # type: ignore[union-attr]

    assert changes[present] == ["on"]
    assert "unavailable" not in changes[plate_event]
    # The event entity's last state is the new car's event, not the old one again.
    assert hass.states.get(plate_event).state != fired  # type: ignore[union-attr]
