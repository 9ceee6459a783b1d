"""The token stays out of Home Assistant's log, errors, diagnostics, repairs and forms.

A proxy or captive portal between Home Assistant and the API echoes the request's
`Authorization` header into what it answers; everything the integration shows or
logs about that answer must be free of the token.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.plate_recognizer.const import (
    CONF_API_URL,
    CONF_TOKEN,
    DOMAIN,
    MODE_CLOUD,
)
from tests.error_texts import texts_of
from tests.fake_api import FakePlateRecognizer

from .conftest import TOKEN, FakeCamera, cloud_entry, setup_entry

PORTAL = (
    f"<html><head><title>Guest Wi-Fi - Authorization: Token {TOKEN}</title></head>"
    f"<body>You sent Authorization: Token {TOKEN}</body></html>"
)

# name -> (fault, body, content type)
SHAPES: dict[str, tuple[Any, Any, str | None]] = {
    "200 html page": ("garbage", PORTAL, "text/html"),
    "200 invalid json": ("garbage", f'{{"echo": "Token {TOKEN}", ', "application/json"),
    "200 wrong shape": ("wrong-shape", {"results": [{"plate": f"Token {TOKEN}", "box": 1}]}, None),
    "503 html echo": (503, PORTAL, None),
    "400 echo": (400, {"error": f"bad request from Token {TOKEN}"}, None),
    "403 no credits echo": (403, {"detail": f"No credits left for Token {TOKEN}."}, None),
}


def issue_texts(hass: HomeAssistant) -> list[str]:
    return [
        json.dumps(issue.to_json(), default=str) for issue in ir.async_get(hass).issues.values()
    ]


@pytest.mark.parametrize("shape", list(SHAPES))
async def test_an_echoed_token_stays_out_of_errors_log_diagnostics_and_repairs(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    fake_api: FakePlateRecognizer,
    camera: FakeCamera,
    caplog: pytest.LogCaptureFixture,
    shape: str,
) -> None:
    fault, body, content_type = SHAPES[shape]
    caplog.set_level(logging.DEBUG)  # every logger: ours, HA's, httpx's
    entry = await setup_entry(hass, cloud_entry(fake_api))
    fake_api.fail_next(fault, times=2, body=body, content_type=content_type)
    with pytest.raises(HomeAssistantError) as caught:
        await hass.services.async_call(
            DOMAIN, "read_plate", {"camera": "camera.driveway"}, blocking=True
        )
    assert fake_api.requests[-1].token == TOKEN  # sent to the API, echoed back
    texts = texts_of(caught.value)
    texts.append(json.dumps(caught.value.translation_placeholders))
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    texts.append(json.dumps(diagnostics))
    texts += issue_texts(hass)
    await hass.config_entries.async_unload(entry.entry_id)
    texts.append(caplog.text)
    for text in texts:
        assert TOKEN not in text
    # The failure was shown and logged all the same.
    assert caught.value.translation_placeholders["error"]


async def test_an_echo_during_setup_stays_out_of_the_log_and_the_entry(
    hass: HomeAssistant,
    fake_api: FakePlateRecognizer,
    camera: FakeCamera,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake_api.fail_next("garbage", times=2, body=PORTAL, content_type="text/html", endpoint="any")
    entry = await setup_entry(hass, cloud_entry(fake_api))
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert entry.reason  # HA keeps (and shows) why the entry is not ready
    assert "HTML page" in caplog.text  # ... and logs it
    for text in (str(entry.reason), caplog.text, *issue_texts(hass)):
        assert TOKEN not in text


async def test_an_echo_in_the_config_flow_stays_out_of_the_form_and_log(
    hass: HomeAssistant, fake_api: FakePlateRecognizer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": MODE_CLOUD}
    )
    fake_api.fail_next("garbage", body=PORTAL, content_type="text/html", endpoint="statistics")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_TOKEN: TOKEN, "advanced": {CONF_API_URL: fake_api.url}}
    )
    assert result["errors"] == {"base": "unexpected_response"}
    assert "HTML page" in caplog.text  # the debug log says what answered
    for text in (json.dumps(result, default=str), caplog.text):
        assert TOKEN not in text
