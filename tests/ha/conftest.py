"""Fixtures for the Home Assistant integration's tests.

The only fake is the remote API (tests.fake_api, real HTTP on 127.0.0.1) and
Home Assistant's own test doubles (a test camera platform, the MQTT mock).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from homeassistant.components.camera import Camera
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
    async_fire_time_changed,
    setup_test_component_platform,
)

from custom_components.plate_recognizer.const import (
    CONF_API_URL,
    CONF_CAMERA,
    CONF_FRIGATE_CAMERA,
    CONF_MODE,
    CONF_REGIONS,
    CONF_TOKEN,
    CONF_TRIGGER,
    CONF_TRIGGER_ENTITY,
    DOMAIN,
    FRIGATE_TOPIC,
    MODE_CLOUD,
    MODE_LOCAL,
    SUBENTRY_CAMERA,
    TRIGGER_ENTITY,
    TRIGGER_FRIGATE,
)
from tests.fake_api import DEFAULT_TOKEN, FakePlateRecognizer, image_bytes

TOKEN = DEFAULT_TOKEN
CAMERA = "camera.driveway"
MOTION = "binary_sensor.driveway_motion"
# Big enough for the fake's boxes (the reference's car is at x 67..908, y 113..653).
FRAME = image_bytes("JPEG", 1280, 720)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/plate_recognizer."""


class FakeCamera(Camera):
    """A camera entity whose snapshot the test controls."""

    _attr_name = "Driveway"
    _attr_unique_id = "driveway"

    def __init__(self) -> None:
        super().__init__()
        self.image: bytes | None = FRAME

    async def async_camera_image(
        self, width: int | None = None, height: int | None = None
    ) -> bytes | None:
        return self.image


@pytest.fixture
async def camera(hass: HomeAssistant) -> FakeCamera:
    """`camera.driveway`, served by a test camera platform."""
    entity = FakeCamera()
    setup_test_component_platform(hass, "camera", [entity])
    assert await async_setup_component(hass, "camera", {"camera": {"platform": "test"}})
    await hass.async_block_till_done()
    assert hass.states.get(CAMERA) is not None
    return entity


def camera_subentry(
    camera: str = CAMERA, title: str = "Driveway", **data: Any
) -> ConfigSubentryData:
    return ConfigSubentryData(
        data={
            CONF_CAMERA: camera,
            CONF_TRIGGER: TRIGGER_ENTITY,
            CONF_TRIGGER_ENTITY: MOTION,
            CONF_REGIONS: [],
            **data,
        },
        subentry_type=SUBENTRY_CAMERA,
        title=title,
        unique_id=camera,
    )


def cloud_entry(
    fake: FakePlateRecognizer,
    *,
    options: dict[str, Any] | None = None,
    subentries: list[ConfigSubentryData] | None = None,
) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="Plate Recognizer Cloud",
        unique_id="cloud-account",
        data={CONF_MODE: MODE_CLOUD, CONF_API_URL: fake.url, CONF_TOKEN: TOKEN},
        options=options or {},
        subentries_data=[camera_subentry()] if subentries is None else subentries,
    )


def frigate_entry(
    fake: FakePlateRecognizer, options: dict[str, Any] | None = None, **camera: Any
) -> MockConfigEntry:
    """A cloud entry whose one camera is triggered by Frigate's camera `drive`."""
    subentry = camera_subentry(
        **{CONF_TRIGGER: TRIGGER_FRIGATE, CONF_FRIGATE_CAMERA: "drive", **camera}
    )
    return cloud_entry(fake, options=options, subentries=[subentry])


async def send_frigate_event(hass: HomeAssistant, payload: str) -> None:
    """One `frigate/events` message, handled (and the lookup it started finished)."""
    async_fire_mqtt_message(hass, FRIGATE_TOPIC, payload)
    await hass.async_block_till_done()


def local_entry(fake: FakePlateRecognizer, **kwargs: Any) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="Plate Recognizer (127.0.0.1)",
        unique_id=fake.url,
        data={CONF_MODE: MODE_LOCAL, CONF_API_URL: fake.url},
        options=kwargs.get("options", {}),
        subentries_data=kwargs.get("subentries", [camera_subentry()]),
    )


async def setup_entry(hass: HomeAssistant, entry: MockConfigEntry) -> MockConfigEntry:
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


@pytest.fixture
async def loaded_cloud(
    hass: HomeAssistant, fake_api: FakePlateRecognizer, camera: FakeCamera
) -> MockConfigEntry:
    return await setup_entry(hass, cloud_entry(fake_api))


async def advance(hass: HomeAssistant, delta: timedelta) -> None:
    """Move time on; the coordinator's poll runs as a background task, so wait for those too."""
    async_fire_time_changed(hass, dt_util.utcnow() + delta)
    await hass.async_block_till_done(wait_background_tasks=True)
