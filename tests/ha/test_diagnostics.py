"""Diagnostics, and the token staying out of logs, diagnostics and errors."""

from __future__ import annotations

import json
import logging

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.plate_recognizer.const import CONF_WATCHLIST, DOMAIN
from tests.fake_api import FakePlateRecognizer

from .conftest import TOKEN, FakeCamera, cloud_entry, setup_entry

WATCH = [{"name": "Anna", "plate": "NHK552", "tolerance": 1.0, "tags": ["family"]}]


async def test_diagnostics_redact_token_and_plates(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    fake_api: FakePlateRecognizer,
    camera: FakeCamera,
) -> None:
    entry = await setup_entry(hass, cloud_entry(fake_api, options={CONF_WATCHLIST: WATCH}))
    await hass.services.async_call(
        DOMAIN, "read_plate", {"camera": "camera.driveway"}, blocking=True, return_response=True
    )
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    text = json.dumps(diagnostics)
    assert TOKEN not in text
    assert "NHK552" not in text.upper()
    assert "Anna" not in text
    assert diagnostics["entry"]["data"]["token"] == "**REDACTED**"
    assert diagnostics["entry"]["options"]["watchlist"][0]["plate"] == "**REDACTED**"
    assert diagnostics["entry"]["options"]["watchlist"][0]["tags"] == ["family"]
    assert diagnostics["cloud"] is True
    assert diagnostics["reachable"] is True
    assert diagnostics["usage"]["calls"] == 1
    (camera_diag,) = diagnostics["cameras"]
    assert camera_diag["settings"]["camera_entity"] == "camera.driveway"
    assert camera_diag["last_read"]["found"] is True
    assert camera_diag["last_read"]["plate"] == "**REDACTED**"
    assert camera_diag["watched_present"] is True


async def test_token_never_logged(
    hass: HomeAssistant,
    fake_api: FakePlateRecognizer,
    camera: FakeCamera,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    entry = await setup_entry(hass, cloud_entry(fake_api))
    # A server echoing the token back in its error must not leak it either.
    fake_api.fail_next(400, body={"detail": f"bad request from Token {TOKEN}"})
    errors: list[str] = []
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            DOMAIN, "read_plate", {"camera": "camera.driveway"}, blocking=True
        )
    errors.append(str(err.value))
    errors.append(repr(err.value.__cause__))
    fake_api.tokens.clear()
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            "button", "press", {"entity_id": "button.driveway_read_plate_now"}, blocking=True
        )
    errors.append(str(err.value))
    errors.append(repr(err.value.__cause__))
    errors.append(repr(entry.runtime_data.reader))
    await hass.config_entries.async_unload(entry.entry_id)
    for text in [*errors, caplog.text]:
        assert TOKEN not in text
