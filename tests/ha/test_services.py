"""The read_plate action: its response, its overrides and its errors."""

from __future__ import annotations

import logging

import pytest
import voluptuous as vol
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (
    async_capture_events,
    setup_test_component_platform,
)

from custom_components.plate_recognizer.const import (
    CONF_REGIONS,
    CONF_WATCHLIST,
    DOMAIN,
    EVENT_PLATE_DETECTED,
)
from tests.fake_api import FakePlateRecognizer

from .conftest import CAMERA, FakeCamera, camera_subentry, cloud_entry, setup_entry

GARDEN = "camera.garden"


class GardenCamera(FakeCamera):
    """A second camera entity, never added to the integration."""

    _attr_name = "Garden"
    _attr_unique_id = "garden"


async def _read(hass: HomeAssistant, **data: object) -> dict[str, object]:
    response = await hass.services.async_call(
        DOMAIN, "read_plate", {"camera": CAMERA, **data}, blocking=True, return_response=True
    )
    assert isinstance(response, dict)
    return response


async def test_response_and_entities(
    hass: HomeAssistant, fake_api: FakePlateRecognizer, camera: FakeCamera
) -> None:
    watch = [{"name": "Anna", "plate": "NHK552", "tolerance": 0, "tags": ["family"]}]
    entry = await setup_entry(
        hass,
        cloud_entry(
            fake_api,
            options={CONF_WATCHLIST: watch, CONF_REGIONS: ["gb"]},
            subentries=[camera_subentry(regions=["ie"])],
        ),
    )
    response = await _read(hass)
    assert response["camera"] == CAMERA
    assert response["trigger"] == "action"
    assert response["found"] is True
    assert response["plate"] == "NHK552"
    assert response["score"] == 0.904
    assert response["watched"] is True
    assert response["match"]["name"] == "Anna"
    assert response["match"]["tags"] == ["family"]
    assert response["region"] == "gb"
    assert response["vehicle"]["type"] == "Sedan"
    assert [p["plate"] for p in response["plates"]] == ["NHK552"]
    assert [v["type"] for v in response["vehicles"]] == ["Sedan"]
    assert response["processing_time"] is not None
    # The camera's own regions win over the entry's.
    assert fake_api.last_request.regions == ["ie"]
    assert hass.states.get("sensor.driveway_last_plate").state == "NHK552"
    assert hass.states.get("binary_sensor.driveway_watched_vehicle_present").state == "on"
    assert entry.runtime_data.cameras


async def test_overrides(
    hass: HomeAssistant, fake_api: FakePlateRecognizer, camera: FakeCamera
) -> None:
    fake_api.rate_limit = None
    entry = await setup_entry(hass, cloud_entry(fake_api))
    # An unquoted `no` in a YAML script arrives as False: it can only mean Norway.
    response = await _read(
        hass,
        regions=[False, "GB"],
        mmc=True,
        config={"threshold_o": 0.95},
        config_entry_id=entry.entry_id,
    )
    request = fake_api.last_request
    assert request.regions == ["no", "gb"]
    assert request.mmc is True
    assert request.config == {"threshold_o": 0.95}
    # The fake applied the threshold: 0.904 < 0.95, nothing found.
    assert response["found"] is False
    assert response["plate"] is None
    assert response["plates"] == []

    await _read(hass, regions="no", config='{"mode": "fast"}')
    assert fake_api.last_request.regions == ["no"]
    assert fake_api.last_request.config == {"mode": "fast"}


async def test_errors(
    hass: HomeAssistant, fake_api: FakePlateRecognizer, camera: FakeCamera
) -> None:
    entry = await setup_entry(hass, cloud_entry(fake_api))
    with pytest.raises(vol.Invalid):
        await _read(hass, regions=["norway"])
    with pytest.raises(ServiceValidationError) as err:
        await _read(hass, config={"mode": "slow"})
    assert err.value.translation_key == "invalid_config"
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "read_plate",
            {"camera": "camera.garden"},
            blocking=True,
            return_response=True,
        )
    assert err.value.translation_key == "unknown_camera"
    with pytest.raises(ServiceValidationError) as err:
        await _read(hass, config_entry_id="other")
    assert err.value.translation_key == "not_loaded"
    # The action outlives its entries, and says why it cannot read.
    await hass.config_entries.async_unload(entry.entry_id)
    with pytest.raises(ServiceValidationError) as err:
        await _read(hass)
    assert err.value.translation_key == "not_loaded"
    assert fake_api.requests == []


async def test_reads_a_camera_not_added(hass: HomeAssistant, fake_api: FakePlateRecognizer) -> None:
    setup_test_component_platform(hass, "camera", [FakeCamera(), GardenCamera()])
    assert await async_setup_component(hass, "camera", {"camera": {"platform": "test"}})
    await hass.async_block_till_done()
    assert hass.states.get(GARDEN) is not None
    watch = [{"name": "Anna", "plate": "NHK552", "tolerance": 0}]
    await setup_entry(
        hass,
        cloud_entry(
            fake_api,
            options={CONF_WATCHLIST: watch, CONF_REGIONS: ["gb"]},
            subentries=[camera_subentry()],
        ),
    )
    events = async_capture_events(hass, EVENT_PLATE_DETECTED)
    response = await hass.services.async_call(
        DOMAIN, "read_plate", {"camera": GARDEN}, blocking=True, return_response=True
    )
    assert isinstance(response, dict)
    assert response["camera"] == GARDEN
    assert response["plate"] == "NHK552"
    assert response["watched"] is True  # judged with the entry's watch list
    assert fake_api.last_request.regions == ["gb"]  # and its regions
    # Only configured cameras have entities and events: the driveway's stay untouched.
    await hass.async_block_till_done()
    assert events == []
    assert hass.states.get("sensor.driveway_last_plate").state == "unknown"
    assert hass.states.get("binary_sensor.driveway_watched_vehicle_present").state == "off"
    assert hass.states.get("sensor.garden_last_plate") is None


async def test_strict_region_without_regions_is_the_callers_mistake(
    hass: HomeAssistant,
    fake_api: FakePlateRecognizer,
    camera: FakeCamera,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await setup_entry(hass, cloud_entry(fake_api))
    with pytest.raises(ServiceValidationError) as err:
        await _read(hass, config={"region": "strict"})
    assert err.value.translation_key == "strict_needs_regions"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert fake_api.requests == []
    # With regions the same call is sent.
    await _read(hass, config={"region": "strict"}, regions=["gb"])
    assert fake_api.last_request.config == {"region": "strict"}
