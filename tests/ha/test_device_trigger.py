"""Device triggers on camera devices: any plate, a watched plate, an unknown plate."""

from __future__ import annotations

from typing import Any

from homeassistant.components import automation
from homeassistant.components.device_automation import DeviceAutomationType
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (
    async_get_device_automations,
    async_mock_service,
)

from custom_components.plate_recognizer.const import CONF_WATCHLIST, DOMAIN
from tests.fake_api import FakePlateRecognizer, RecordedRequest

from .conftest import FakeCamera, cloud_entry, setup_entry

BUTTON = "button.driveway_read_plate_now"


def _reads(*plates: str) -> Any:
    texts = iter(plates)

    def responder(request: RecordedRequest) -> list[dict[str, Any]]:
        plate = next(texts).lower()
        return [
            {
                "plate": plate,
                "box": {"xmin": 10, "ymin": 10, "xmax": 60, "ymax": 30},
                "score": 0.9,
                "dscore": 0.9,
                "candidates": [{"plate": plate, "score": 0.9}],
            }
        ]

    return responder


def _camera_device(hass: HomeAssistant) -> dr.DeviceEntry:
    devices = [
        device
        for device in dr.async_get(hass).devices.values()
        if any(domain == DOMAIN for domain, _ in device.identifiers)
    ]
    [camera] = [d for d in devices if d.name == "Driveway"]
    return camera


async def test_camera_devices_offer_three_triggers(
    hass: HomeAssistant, fake_api: FakePlateRecognizer, camera: FakeCamera
) -> None:
    entry = await setup_entry(hass, cloud_entry(fake_api))
    device = _camera_device(hass)
    triggers = await async_get_device_automations(hass, DeviceAutomationType.TRIGGER, device.id)
    ours = sorted(t["type"] for t in triggers if t["domain"] == DOMAIN)
    assert ours == ["plate_detected", "unknown_plate", "watched_plate"]
    account = dr.async_get(hass).async_get_device({(DOMAIN, entry.entry_id)})
    assert account is not None
    account_triggers = await async_get_device_automations(
        hass, DeviceAutomationType.TRIGGER, account.id
    )
    assert [t for t in account_triggers if t["domain"] == DOMAIN] == []


async def test_triggers_fire_on_every_matching_read(
    hass: HomeAssistant, fake_api: FakePlateRecognizer, camera: FakeCamera
) -> None:
    fake_api.rate_limit = None
    fake_api.responder = _reads("NHK552", "NHK552", "ZZ999")
    watch = [{"name": "Anna", "plate": "NHK 552", "tolerance": 0.0, "tags": []}]
    await setup_entry(hass, cloud_entry(fake_api, options={CONF_WATCHLIST: watch}))
    device = _camera_device(hass)
    calls: list[ServiceCall] = async_mock_service(hass, "test", "automation")
    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {
            automation.DOMAIN: [
                {
                    "trigger": {
                        "platform": "device",
                        "domain": DOMAIN,
                        "device_id": device.id,
                        "type": kind,
                    },
                    "action": {
                        "service": "test.automation",
                        "data_template": {"kind": kind, "plate": "{{ trigger.event.data.plate }}"},
                    },
                }
                for kind in ("plate_detected", "watched_plate", "unknown_plate")
            ]
        },
    )
    for _ in range(3):
        await hass.services.async_call("button", "press", {"entity_id": BUTTON}, blocking=True)
    await hass.async_block_till_done()
    fired = sorted((call.data["kind"], call.data["plate"]) for call in calls)
    assert fired == [
        ("plate_detected", "NHK552"),
        ("plate_detected", "NHK552"),  # the same plate again still triggers
        ("plate_detected", "ZZ999"),
        ("unknown_plate", "ZZ999"),
        ("watched_plate", "NHK552"),
        ("watched_plate", "NHK552"),
    ]
