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
    states = sorted(s.entity_id for s in hass.states.async_all() if s.entity_id.split(".")[1].startswith(("driveway", "plate")))
    print(states)
    assert hass.states.get("sensor.plate_recognizer_cloud_calls_used").state == "0"
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.NOT_LOADED
    assert DOMAIN
