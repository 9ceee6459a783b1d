"""Setup, unload, and a triggered read updating every entity and firing the events."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant

from custom_components.plate_recognizer.const import DOMAIN
from tests.fake_api import FakePlateRecognizer

from .conftest import FakeCamera, cloud_entry, setup_entry


async def test_setup_and_unload(
    hass: HomeAssistant, fake_api: FakePlateRecognizer, camera: FakeCamera
) -> None:
    entry = await setup_entry(hass, cloud_entry(fake_api))
    assert entry.state is ConfigEntryState.LOADED
    for entity_id in (
        "sensor.driveway_last_plate",
        "sensor.driveway_vehicle_type",
        "binary_sensor.driveway_watched_vehicle_present",
        "event.driveway_plate",
        "image.driveway_snapshot",
        "button.driveway_read_plate_now",
        "sensor.plate_recognizer_cloud_usage_resets",
    ):
        assert hass.states.get(entity_id) is not None, entity_id
    # MMC is off: no make/model sensors.
    assert hass.states.get("sensor.driveway_make_and_model") is None
    assert hass.states.get("sensor.plate_recognizer_cloud_calls_used").state == "0"
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.NOT_LOADED
    assert not hass.config_entries.async_loaded_entries(DOMAIN)
