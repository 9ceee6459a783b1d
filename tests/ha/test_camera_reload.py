"""A camera changed through its Reconfigure flow works at once, without a manual reload."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant

from custom_components.plate_recognizer.const import CONF_REGIONS, CONF_TRIGGER_ENTITY
from tests.fake_api import FakePlateRecognizer

from .conftest import MOTION, FakeCamera, cloud_entry, setup_entry

GATE_MOTION = "binary_sensor.gate_motion"


async def _motion(hass: HomeAssistant, entity_id: str) -> None:
    hass.states.async_set(entity_id, "off")
    await hass.async_block_till_done()
    hass.states.async_set(entity_id, "on")
    await hass.async_block_till_done()


async def test_reconfigured_camera_is_applied(
    hass: HomeAssistant, fake_api: FakePlateRecognizer, camera: FakeCamera
) -> None:
    """Home Assistant changes a subentry in place, so the update listener compared
    the saved subentry with itself: the camera kept its old trigger until a reload."""
    fake_api.rate_limit = None
    entry = await setup_entry(hass, cloud_entry(fake_api))
    (subentry,) = entry.subentries.values()
    # What the camera's Reconfigure flow does when it is saved (async_update_and_abort).
    assert hass.config_entries.async_update_subentry(
        entry,
        subentry,
        data={**subentry.data, CONF_TRIGGER_ENTITY: GATE_MOTION, CONF_REGIONS: ["ie"]},
    )
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    (runtime,) = entry.runtime_data.cameras.values()
    assert runtime.settings.trigger_entity == GATE_MOTION

    await _motion(hass, MOTION)  # the old trigger no longer reads
    assert fake_api.requests == []
    await _motion(hass, GATE_MOTION)
    assert len(fake_api.requests) == 1
    assert fake_api.requests[0].regions == ["ie"]


async def test_an_unchanged_save_does_not_reload(
    hass: HomeAssistant, fake_api: FakePlateRecognizer, camera: FakeCamera
) -> None:
    entry = await setup_entry(hass, cloud_entry(fake_api))
    data = entry.runtime_data
    # A title change only (the device's name): nothing to set up again.
    (subentry,) = entry.subentries.values()
    assert hass.config_entries.async_update_entry(entry, title=entry.title + " (renamed)")
    await hass.async_block_till_done()
    assert entry.runtime_data is data
    assert subentry.data[CONF_TRIGGER_ENTITY] == MOTION
