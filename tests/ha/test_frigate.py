"""Frigate car events over Home Assistant's MQTT integration trigger reads."""

from __future__ import annotations

import json
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import async_fire_mqtt_message
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.plate_recognizer.const import (
    CONF_FRIGATE_CAMERA,
    CONF_TRIGGER,
    FRIGATE_TOPIC,
    TRIGGER_FRIGATE,
)
from tests.fake_api import FakePlateRecognizer

from .conftest import FakeCamera, camera_subentry, cloud_entry, setup_entry


@pytest.fixture
def expected_lingering_timers() -> bool:
    """The MQTT integration's own housekeeping timer may outlive a test (not ours)."""
    return True


def _event(kind: str, event_id: str = "1.1-abc", **after: Any) -> str:
    body = {"id": event_id, "camera": "drive", "label": "car", **after}
    return json.dumps({"type": kind, "before": body, "after": body})


def _frigate_entry(fake: FakePlateRecognizer) -> Any:
    return cloud_entry(
        fake,
        subentries=[
            camera_subentry(**{CONF_TRIGGER: TRIGGER_FRIGATE, CONF_FRIGATE_CAMERA: "drive"})
        ],
    )


async def _send(hass: HomeAssistant, payload: str) -> None:
    async_fire_mqtt_message(hass, FRIGATE_TOPIC, payload)
    await hass.async_block_till_done()


async def test_frigate_car_event_reads_once_per_event(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    fake_api: FakePlateRecognizer,
    camera: FakeCamera,
) -> None:
    fake_api.rate_limit = None
    await setup_entry(hass, _frigate_entry(fake_api))

    # Not for us: another camera, a person, a false positive, not JSON at all.
    await _send(hass, _event("new", camera="garden"))
    await _send(hass, _event("new", label="person"))
    await _send(hass, _event("new", false_positive=True))
    await _send(hass, "not json")
    await _send(hass, json.dumps({"type": "new"}))
    assert fake_api.requests == []

    await _send(hass, _event("new"))
    assert len(fake_api.requests) == 1
    assert hass.states.get("sensor.driveway_last_plate").attributes["trigger"] == "frigate"
    # The plate was found: later updates of the same event cost nothing.
    await _send(hass, _event("update"))
    assert len(fake_api.requests) == 1
    await _send(hass, _event("end"))

    # A new car (a new event id) is read again.
    await _send(hass, _event("new", event_id="2.2-def", label="truck"))
    assert len(fake_api.requests) == 2


async def test_frigate_updates_are_throttled_until_a_plate_is_found(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    fake_api: FakePlateRecognizer,
    camera: FakeCamera,
) -> None:
    fake_api.responder = lambda request: []  # the car is still too far away
    await setup_entry(hass, _frigate_entry(fake_api))
    await _send(hass, _event("new"))
    await _send(hass, _event("update"))  # too soon after the first read
    await _send(hass, _event("update", stationary=True))  # parked
    assert len(fake_api.requests) == 1


async def test_frigate_without_mqtt_warns(
    hass: HomeAssistant,
    fake_api: FakePlateRecognizer,
    camera: FakeCamera,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await setup_entry(hass, _frigate_entry(fake_api))
    assert "MQTT integration is not set up" in caplog.text
