"""Config flow: cloud and local setup, every error, reauth and reconfigure."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.plate_recognizer.const import (
    CONF_API_URL,
    CONF_MODE,
    CONF_TOKEN,
    DOMAIN,
    MODE_CLOUD,
    MODE_LOCAL,
)
from custom_components.plate_recognizer.flow_connection import (
    cloud_unique_id,
    normalise_server_url,
    server_unique_id,
)
from tests.fake_api import NO_CREDITS_BODY, FakePlateRecognizer

from .conftest import TOKEN, FakeCamera, cloud_entry, local_entry, setup_entry

STRINGS = json.loads(
    (
        Path(__file__).resolve().parents[2] / "custom_components/plate_recognizer/strings.json"
    ).read_text()
)


async def _start(hass: HomeAssistant, mode: str) -> dict[str, Any]:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == [MODE_CLOUD, MODE_LOCAL]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": mode}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == mode
    return result


def _cloud_input(fake: FakePlateRecognizer, token: str = TOKEN) -> dict[str, Any]:
    return {CONF_TOKEN: token, "advanced": {CONF_API_URL: fake.url}}


def _assert_plain_words(result: dict[str, Any]) -> None:
    """Every placeholder of the shown errors is given, and none carries an exception's text."""
    placeholders = result.get("description_placeholders") or {}
    for error in result["errors"].values():
        text = STRINGS["config"]["error"][error]
        for name in re.findall(r"\{(\w+)\}", text):
            assert name in placeholders, (error, name)
    for value in placeholders.values():
        assert not re.search(r"Error|Exception|GET |POST |/info/|/v1/", value), value


async def test_cloud_success(hass: HomeAssistant, fake_api: FakePlateRecognizer) -> None:
    result = await _start(hass, MODE_CLOUD)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _cloud_input(fake_api, f"  {TOKEN} ")
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Plate Recognizer Cloud"
    assert result["data"] == {CONF_MODE: MODE_CLOUD, CONF_API_URL: fake_api.url, CONF_TOKEN: TOKEN}
    assert result["result"].unique_id == cloud_unique_id(TOKEN)
    assert TOKEN not in result["result"].unique_id
    assert fake_api.statistics_requests == 2  # the check, then the new entry's first poll


@pytest.mark.parametrize(
    ("fault", "body", "error"),
    [
        (403, None, "invalid_auth"),
        (403, NO_CREDITS_BODY, "no_credits"),
        (503, None, "server_error"),
        ("drop", None, "cannot_connect"),
        ("wrong-shape", None, "unexpected_response"),
        ("garbage", None, "unexpected_response"),
        (404, None, "unexpected_response"),
    ],
)
async def test_cloud_errors_then_recover(
    hass: HomeAssistant,
    fake_api: FakePlateRecognizer,
    fault: int | str,
    body: Any,
    error: str,
) -> None:
    result = await _start(hass, MODE_CLOUD)
    fake_api.fail_next(fault, body=body, endpoint="statistics")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _cloud_input(fake_api)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}
    _assert_plain_words(result)
    # The form keeps working: the next try succeeds.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _cloud_input(fake_api)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_cloud_wrong_token_and_used_up_account(
    hass: HomeAssistant, fake_api: FakePlateRecognizer
) -> None:
    result = await _start(hass, MODE_CLOUD)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _cloud_input(fake_api, "wrong-token")
    )
    assert result["errors"] == {"base": "invalid_auth"}
    fake_api.calls = fake_api.total_calls  # statistics: nothing remaining
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _cloud_input(fake_api)
    )
    assert result["errors"] == {"base": "no_credits"}


async def test_cloud_server_down_and_bad_url(
    hass: HomeAssistant, fake_api: FakePlateRecognizer
) -> None:
    result = await _start(hass, MODE_CLOUD)
    url = fake_api.url
    await fake_api.stop()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_TOKEN: TOKEN, "advanced": {CONF_API_URL: url}}
    )
    assert result["errors"] == {"base": "cannot_connect"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_TOKEN: TOKEN, "advanced": {CONF_API_URL: "ftp://example"}}
    )
    assert result["errors"] == {CONF_API_URL: "invalid_url"}


async def test_cloud_already_configured(hass: HomeAssistant, fake_api: FakePlateRecognizer) -> None:
    MockConfigEntry(domain=DOMAIN, unique_id=cloud_unique_id(TOKEN)).add_to_hass(hass)
    result = await _start(hass, MODE_CLOUD)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _cloud_input(fake_api)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert fake_api.statistics_requests == 0  # no call wasted on a duplicate


async def test_local_success_and_duplicate(
    hass: HomeAssistant, fake_onprem: FakePlateRecognizer
) -> None:
    port = fake_onprem.url.rsplit(":", 1)[1]
    result = await _start(hass, MODE_LOCAL)
    # The URL the SDK's own clients are configured with is accepted: the entry keeps the base.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_URL: f" {fake_onprem.url}/v1/plate-reader/ "}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    # The port is in the title: two servers on one host get two names.
    assert result["title"] == f"Plate Recognizer (127.0.0.1:{port})"
    assert result["data"] == {CONF_MODE: MODE_LOCAL, CONF_API_URL: fake_onprem.url}
    assert result["result"].unique_id == server_unique_id(fake_onprem.url)
    assert fake_onprem.info_requests == 2

    # The same server by another name, or another spelling: one entry, and no request.
    for same in (
        fake_onprem.url.upper().replace("HTTP", "http"),
        f"http://localhost:{port}/",
        f"127.0.0.1:{port}",
    ):
        result = await _start(hass, MODE_LOCAL)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_API_URL: same}
        )
        assert result["type"] is FlowResultType.ABORT, same
        assert result["reason"] == "already_configured"
    assert fake_onprem.info_requests == 2


async def test_local_form_suggests_the_default_and_refuses_what_is_no_url(
    hass: HomeAssistant,
) -> None:
    result = await _start(hass, MODE_LOCAL)
    (key,) = result["data_schema"].schema
    assert key.description == {"suggested_value": "http://localhost:8080"}
    # The description's example is code (not a link), and agrees with the suggestion.
    description = STRINGS["config"]["step"]["local"]["description"]
    assert "`http://localhost:8080`" in description
    assert "`http://192.168.1.20:8080`" in description
    for bad in ("ftp://box:8080", "http://box:port", "http://"):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_API_URL: bad}
        )
        assert result["errors"] == {CONF_API_URL: "invalid_url"}, bad


async def test_local_errors_in_plain_words(
    hass: HomeAssistant, fake_onprem: FakePlateRecognizer
) -> None:
    result = await _start(hass, MODE_LOCAL)
    fake_onprem.fail_next(502, endpoint="info")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_URL: fake_onprem.url}
    )
    assert result["errors"] == {"base": "server_error"}
    assert result["description_placeholders"] == {"url": fake_onprem.url, "status": "502"}
    _assert_plain_words(result)

    # A local server answering 403 has a licence problem: there is no token to blame.
    fake_onprem.fail_next(403, endpoint="info")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_URL: fake_onprem.url}
    )
    assert result["errors"] == {"base": "server_refused"}
    _assert_plain_words(result)

    # Nothing listens there: the user reads which address did not answer, not
    # "GET http://127.0.0.1:1/info/: cannot reach the server: ConnectError: ...".
    url = fake_onprem.url
    await fake_onprem.stop()
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_API_URL: url})
    assert result["errors"] == {"base": "cannot_connect"}
    assert result["description_placeholders"] == {"url": url}
    _assert_plain_words(result)


def test_server_unique_id_drops_credentials_case_and_endpoint() -> None:
    assert server_unique_id("HTTP://user:pw@Box.lan:8080/") == "http://box.lan:8080"
    assert server_unique_id("http://box.lan:8080/v1/plate-reader/") == "http://box.lan:8080"
    # One server on this machine, whichever loopback name is used.
    assert server_unique_id("http://localhost:8080") == "http://127.0.0.1:8080"
    assert server_unique_id("http://[::1]:8080/") == "http://127.0.0.1:8080"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("http://box:8080", "http://box:8080"),
        ("box:8080", "http://box:8080"),
        ("HTTPS://box/sdk/v1/plate-reader/", "https://box/sdk"),
        ("http://box:8080/info/", "http://box:8080"),
        ("http://[fd00::5]:8080/", "http://[fd00::5]:8080"),
        ("ftp://box", None),
        ("http://box:eighty", None),
        ("", None),
    ],
)
def test_normalise_server_url(typed: str, stored: str | None) -> None:
    assert normalise_server_url(typed) == stored


async def assert_token_replaced(
    hass: HomeAssistant, entry: MockConfigEntry, result: Any, reason: str
) -> None:
    """The flow ended with `reason`; the entry now holds, and is named by, "new-token"."""
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == reason
    assert entry.data[CONF_TOKEN] == "new-token"
    assert entry.unique_id == cloud_unique_id("new-token")
    await hass.async_block_till_done()


async def test_reauth(
    hass: HomeAssistant, fake_api: FakePlateRecognizer, camera: FakeCamera
) -> None:
    fake_api.tokens.add("new-token")
    entry = await setup_entry(hass, cloud_entry(fake_api))
    result = await entry.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_confirm"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_TOKEN: "bad"})
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_TOKEN: "new-token"}
    )
    await assert_token_replaced(hass, entry, result, "reauth_successful")


async def test_reauth_with_token_of_another_entry(
    hass: HomeAssistant, fake_api: FakePlateRecognizer, camera: FakeCamera
) -> None:
    fake_api.tokens.add("other-token")
    MockConfigEntry(domain=DOMAIN, unique_id=cloud_unique_id("other-token")).add_to_hass(hass)
    entry = await setup_entry(hass, cloud_entry(fake_api))
    result = await entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_TOKEN: "other-token"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert entry.data[CONF_TOKEN] == TOKEN


async def test_reconfigure_cloud(
    hass: HomeAssistant, fake_api: FakePlateRecognizer, camera: FakeCamera
) -> None:
    fake_api.tokens.update({"new-token", "other-token"})
    MockConfigEntry(domain=DOMAIN, unique_id=cloud_unique_id("other-token")).add_to_hass(hass)
    entry = await setup_entry(hass, cloud_entry(fake_api))
    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_URL: fake_api.url, CONF_TOKEN: "nope"}
    )
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_URL: fake_api.url, CONF_TOKEN: "other-token"}
    )
    assert result["errors"] == {"base": "already_configured"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_URL: fake_api.url, CONF_TOKEN: "new-token"}
    )
    await assert_token_replaced(hass, entry, result, "reconfigure_successful")


async def test_reconfigure_cloud_same_token_new_url(
    hass: HomeAssistant, fake_api: FakePlateRecognizer, camera: FakeCamera
) -> None:
    entry = await setup_entry(hass, cloud_entry(fake_api))
    async with FakePlateRecognizer(mode="cloud") as other:
        result = await entry.start_reconfigure_flow(hass)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_API_URL: other.url, CONF_TOKEN: TOKEN}
        )
        assert result["reason"] == "reconfigure_successful"
        assert entry.data[CONF_API_URL] == other.url
        await hass.async_block_till_done()


async def test_reconfigure_local(
    hass: HomeAssistant, fake_onprem: FakePlateRecognizer, camera: FakeCamera
) -> None:
    entry = await setup_entry(hass, local_entry(fake_onprem))
    async with FakePlateRecognizer(mode="onprem") as moved:
        MockConfigEntry(domain=DOMAIN, unique_id=server_unique_id(moved.url)).add_to_hass(hass)
        result = await entry.start_reconfigure_flow(hass)
        assert CONF_TOKEN not in result["data_schema"].schema
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_API_URL: moved.url}
        )
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "already_configured"

    async with FakePlateRecognizer(mode="onprem") as moved:
        result = await entry.start_reconfigure_flow(hass)
        fake_url = moved.url
        moved.fail_next("wrong-shape", endpoint="info")
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_API_URL: fake_url}
        )
        assert result["errors"] == {"base": "unexpected_response"}
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_API_URL: fake_url}
        )
        assert result["reason"] == "reconfigure_successful"
        assert entry.data[CONF_API_URL] == fake_url
        assert entry.unique_id == server_unique_id(fake_url)
        await hass.async_block_till_done()
