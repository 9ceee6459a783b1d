"""Failures: setup, reads and polls; reauth, the credits repair issue, unavailability."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir

from custom_components.plate_recognizer.const import (
    CLOUD_SCAN_INTERVAL,
    CONF_ENGINE,
    CONF_REGION_STRICT,
    CONF_TEXT_FORMATS,
    DOMAIN,
    LOCAL_SCAN_INTERVAL,
)
from tests.fake_api import NO_CREDITS_BODY, FakePlateRecognizer

from .conftest import TOKEN, FakeCamera, advance, cloud_entry, local_entry, setup_entry

BUTTON = "button.driveway_read_plate_now"
LAST_PLATE = "sensor.driveway_last_plate"
CALLS_USED = "sensor.plate_recognizer_cloud_calls_used"
CALLS_REMAINING = "sensor.plate_recognizer_cloud_calls_remaining"


async def _press(hass: HomeAssistant) -> None:
    await hass.services.async_call("button", "press", {"entity_id": BUTTON}, blocking=True)


def _reauth_flows(hass: HomeAssistant) -> list[object]:
    return [
        flow
        for flow in hass.config_entries.flow.async_progress()
        if flow["context"]["source"] == SOURCE_REAUTH
    ]


async def test_setup_retries_while_server_is_down(
    hass: HomeAssistant, fake_api: FakePlateRecognizer, camera: FakeCamera
) -> None:
    fake_api.fail_next(503, times=2, endpoint="statistics")
    entry = await setup_entry(hass, cloud_entry(fake_api))
    assert entry.state is ConfigEntryState.SETUP_RETRY


async def test_setup_with_refused_token_starts_reauth(
    hass: HomeAssistant, fake_api: FakePlateRecognizer, camera: FakeCamera
) -> None:
    fake_api.tokens.clear()
    entry = await setup_entry(hass, cloud_entry(fake_api))
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert len(_reauth_flows(hass)) == 1


async def test_setup_with_invalid_stored_engine_config(
    hass: HomeAssistant, fake_api: FakePlateRecognizer, camera: FakeCamera
) -> None:
    entry = await setup_entry(
        hass, cloud_entry(fake_api, options={CONF_ENGINE: {CONF_TEXT_FORMATS: ["(("]}})
    )
    assert entry.state is ConfigEntryState.SETUP_ERROR


async def test_refused_token_on_read_starts_reauth(
    hass: HomeAssistant,
    fake_api: FakePlateRecognizer,
    camera: FakeCamera,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await setup_entry(hass, cloud_entry(fake_api))
    fake_api.tokens.clear()
    with pytest.raises(HomeAssistantError) as err:
        await _press(hass)
    assert err.value.translation_key == "invalid_auth"
    await hass.async_block_till_done()
    assert len(_reauth_flows(hass)) == 1
    assert "please reauthenticate" in caplog.text
    assert TOKEN not in caplog.text
    assert TOKEN not in str(err.value)


async def test_no_credits_raises_and_clears_repair_issue(
    hass: HomeAssistant, fake_api: FakePlateRecognizer, camera: FakeCamera
) -> None:
    entry = await setup_entry(hass, cloud_entry(fake_api))
    issues = ir.async_get(hass)
    issue_id = f"no_credits_{entry.entry_id}"
    fake_api.calls = fake_api.total_calls  # the fake answers 403 "no credits"
    with pytest.raises(HomeAssistantError) as err:
        await _press(hass)
    assert err.value.translation_key == "no_credits"
    issue = issues.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "no_credits"
    assert issue.severity is ir.IssueSeverity.ERROR
    assert hass.states.get(CALLS_REMAINING).state == "0"

    # The statistics poll agrees: the issue stays.
    await advance(hass, CLOUD_SCAN_INTERVAL)
    assert issues.async_get_issue(DOMAIN, issue_id) is not None

    # A new period: the next poll removes it.
    fake_api.calls = 0
    await advance(hass, 2 * CLOUD_SCAN_INTERVAL)
    assert issues.async_get_issue(DOMAIN, issue_id) is None
    assert hass.states.get(CALLS_USED).state == "0"

    # A read that works removes it too.
    fake_api.fail_next(403, body=NO_CREDITS_BODY)
    with pytest.raises(HomeAssistantError):
        await _press(hass)
    assert issues.async_get_issue(DOMAIN, issue_id) is not None
    await _press(hass)
    assert issues.async_get_issue(DOMAIN, issue_id) is None


async def test_statistics_refusing_for_credits(
    hass: HomeAssistant, fake_api: FakePlateRecognizer, camera: FakeCamera
) -> None:
    fake_api.fail_next(403, body=NO_CREDITS_BODY, endpoint="statistics")
    entry = await setup_entry(hass, cloud_entry(fake_api))
    assert entry.state is ConfigEntryState.LOADED
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"no_credits_{entry.entry_id}")
    fake_api.fail_next(403, body=NO_CREDITS_BODY, endpoint="statistics")
    await advance(hass, CLOUD_SCAN_INTERVAL)
    assert hass.states.get(CALLS_REMAINING).state == "0"


async def test_outage_marks_unavailable_and_logs_once(
    hass: HomeAssistant,
    fake_api: FakePlateRecognizer,
    camera: FakeCamera,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake_api.rate_limit = None
    await setup_entry(hass, cloud_entry(fake_api))
    fake_api.fail_next(503, times=4)  # two reads, each tried twice
    with pytest.raises(HomeAssistantError) as err:
        await _press(hass)
    assert err.value.translation_key == "cannot_connect"
    assert hass.states.get(LAST_PLATE).state == STATE_UNAVAILABLE
    assert hass.states.get(BUTTON).state == STATE_UNAVAILABLE
    # Triggers still read while entities are unavailable; a second failure is not logged.
    hass.states.async_set("binary_sensor.driveway_motion", "on")
    await hass.async_block_till_done()
    assert len(fake_api.requests) == 4
    assert caplog.text.count("is unreachable") == 1

    # The action works whatever the entities' state, and the next success recovers.
    await hass.services.async_call(
        DOMAIN, "read_plate", {"camera": "camera.driveway"}, blocking=True, return_response=True
    )
    assert hass.states.get(LAST_PLATE).state == "NHK552"
    assert caplog.text.count("is reachable again") == 1
    assert TOKEN not in caplog.text


async def test_poll_failure_marks_unavailable(
    hass: HomeAssistant, fake_api: FakePlateRecognizer, camera: FakeCamera
) -> None:
    await setup_entry(hass, cloud_entry(fake_api))
    fake_api.fail_next("drop", times=2, endpoint="statistics")
    await advance(hass, CLOUD_SCAN_INTERVAL)
    assert hass.states.get(CALLS_USED).state == STATE_UNAVAILABLE
    assert hass.states.get(LAST_PLATE).state == STATE_UNAVAILABLE


async def test_poll_with_refused_token_starts_reauth(
    hass: HomeAssistant, fake_api: FakePlateRecognizer, camera: FakeCamera
) -> None:
    await setup_entry(hass, cloud_entry(fake_api))
    fake_api.tokens.clear()
    await advance(hass, CLOUD_SCAN_INTERVAL)
    assert len(_reauth_flows(hass)) == 1


@pytest.mark.parametrize(
    ("fault", "key"),
    [(429, "read_failed"), (400, "read_failed"), ("wrong-shape", "cannot_connect")],
)
async def test_other_read_failures(
    hass: HomeAssistant,
    fake_api: FakePlateRecognizer,
    camera: FakeCamera,
    fault: int | str,
    key: str,
) -> None:
    await setup_entry(hass, cloud_entry(fake_api))
    fake_api.fail_next(fault, times=2)
    with pytest.raises(HomeAssistantError) as err:
        await _press(hass)
    assert err.value.translation_key == key


async def test_strict_region_without_regions_is_not_sent(
    hass: HomeAssistant, fake_api: FakePlateRecognizer, camera: FakeCamera
) -> None:
    await setup_entry(
        hass, cloud_entry(fake_api, options={CONF_ENGINE: {CONF_REGION_STRICT: True}})
    )
    with pytest.raises(HomeAssistantError) as err:
        await _press(hass)
    assert err.value.translation_key == "invalid_request"
    assert fake_api.requests == []


async def test_camera_without_image(
    hass: HomeAssistant,
    fake_api: FakePlateRecognizer,
    camera: FakeCamera,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await setup_entry(hass, cloud_entry(fake_api))
    camera.image = None
    for _ in range(2):
        with pytest.raises(HomeAssistantError) as err:
            await _press(hass)
        assert err.value.translation_key == "camera_unavailable"
    assert caplog.text.count("no snapshot from camera.driveway") == 1
    # A triggered read logs nothing more and raises nothing.
    hass.states.async_set("binary_sensor.driveway_motion", "on")
    await hass.async_block_till_done()
    assert fake_api.requests == []
    camera.image = b"not an image"
    with pytest.raises(HomeAssistantError) as err:
        await _press(hass)
    assert err.value.translation_key == "invalid_request"


async def test_triggers_skip_while_a_read_runs(
    hass: HomeAssistant, fake_api: FakePlateRecognizer, camera: FakeCamera
) -> None:
    fake_api.delay = 0.3
    await setup_entry(hass, cloud_entry(fake_api))
    hass.states.async_set("binary_sensor.driveway_motion", "on")
    await hass.async_block_till_done()
    assert len(fake_api.requests) == 1
    runtime = next(iter(hass.config_entries.async_entries(DOMAIN)[0].runtime_data.cameras.values()))
    task = hass.async_create_task(runtime.async_triggered_read("entity"))
    assert await runtime.async_triggered_read("entity") is None  # skipped: one is running
    assert await task is not None


async def test_local_server_usage_and_refusal(
    hass: HomeAssistant, fake_onprem: FakePlateRecognizer, camera: FakeCamera
) -> None:
    entry = await setup_entry(hass, local_entry(fake_onprem))
    used = "sensor.plate_recognizer_127_0_0_1_calls_used"
    remaining = "sensor.plate_recognizer_127_0_0_1_calls_remaining"
    assert hass.states.get(used).state == "0"
    assert hass.states.get("sensor.plate_recognizer_127_0_0_1_usage_resets") is None
    await _press(hass)
    assert hass.states.get(used).state == "1"  # from the read's own usage counters
    assert int(hass.states.get(remaining).state) == fake_onprem.total_calls - 1

    # An SDK refusing us is the server's licence, not our token: no reauth.
    fake_onprem.fail_next(403, endpoint="info")
    await advance(hass, LOCAL_SCAN_INTERVAL)
    assert hass.states.get(used).state == STATE_UNAVAILABLE
    assert _reauth_flows(hass) == []
    fake_onprem.fail_next(403)
    with pytest.raises(HomeAssistantError) as err:
        await _press(hass)
    assert err.value.translation_key == "read_failed"
    assert _reauth_flows(hass) == []
    assert entry.state is ConfigEntryState.LOADED
    assert timedelta(0) < LOCAL_SCAN_INTERVAL < CLOUD_SCAN_INTERVAL
