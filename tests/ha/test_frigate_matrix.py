"""The Frigate-policy table (tests/test_frigate_policy_matrix.py) through the integration.

The real Home Assistant test harness with its MQTT integration, a camera set
up with the Frigate trigger, and the fake Plate Recognizer API: each row's
messages arrive on `frigate/events` one at a time, each handled (and its
lookup finished) before the next; lookups are counted at the API, Frigate's
own reads by the `plate_recognizer_plate_detected` events they fire.
"""

from __future__ import annotations

import pytest
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import async_capture_events
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.plate_recognizer.const import EVENT_PLATE_DETECTED
from tests.fake_api import FakePlateRecognizer
from tests.test_frigate_policy_matrix import MATRIX, Row

from .conftest import FakeCamera, frigate_entry, send_frigate_event, setup_entry


@pytest.fixture
def expected_lingering_timers() -> bool:
    """The MQTT integration's own housekeeping timer may outlive a test (not ours)."""
    return True


@pytest.mark.parametrize("row", MATRIX, ids=lambda row: row.id)
async def test_integration(
    row: Row,
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    fake_api: FakePlateRecognizer,
    camera: FakeCamera,
) -> None:
    fake_api.rate_limit = None
    fake_api.responder = lambda request: row.api_results()
    await setup_entry(hass, frigate_entry(fake_api))
    detected = async_capture_events(hass, EVENT_PLATE_DETECTED)
    for message in row.messages:
        await send_frigate_event(hass, message.payload("ev-1", "drive"))
    frigate_reads = [e for e in detected if e.data["read_by"] == "frigate"]
    assert (len(fake_api.requests), len(frigate_reads)) == (row.lookups, row.frigate_reads)
