"""Options (settings, engine, watch list) and camera subentries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import voluptuous as vol
from homeassistant.config_entries import SOURCE_RECONFIGURE, SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.plate_recognizer.const import (
    CONF_CAMERA,
    CONF_DETECTION_RULE_STRICT,
    CONF_ENGINE,
    CONF_FAST_MODE,
    CONF_FRIGATE_CAMERA,
    CONF_HOLD_TIME,
    CONF_LOOKUPS_PER_SECOND,
    CONF_MMC,
    CONF_NAME,
    CONF_PLATE,
    CONF_REGION_STRICT,
    CONF_REGIONS,
    CONF_TAGS,
    CONF_TEXT_FORMATS,
    CONF_THRESHOLD_D,
    CONF_THRESHOLD_O,
    CONF_TOLERANCE,
    CONF_TRIGGER,
    CONF_TRIGGER_ENTITY,
    CONF_VEHICLE_MODE,
    CONF_WATCHLIST,
    SUBENTRY_CAMERA,
    TRIGGER_ENTITY,
    TRIGGER_FRIGATE,
    TRIGGER_MANUAL,
)
from custom_components.plate_recognizer.frigate_options import LPR_KEYS
from tests.fake_api import FakePlateRecognizer

from .conftest import CAMERA, MOTION, FakeCamera, cloud_entry, local_entry, setup_entry

STRINGS = json.loads(
    (
        Path(__file__).resolve().parents[2] / "custom_components/plate_recognizer/strings.json"
    ).read_text()
)

ENGINE_OFF = {
    CONF_DETECTION_RULE_STRICT: False,
    CONF_VEHICLE_MODE: False,
    CONF_REGION_STRICT: False,
    CONF_FAST_MODE: False,
}


async def _open(hass: HomeAssistant, entry: MockConfigEntry, step: str) -> dict[str, Any]:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": step}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == step
    return result


async def test_settings_keep_norway_a_string(
    hass: HomeAssistant, fake_api: FakePlateRecognizer, camera: FakeCamera
) -> None:
    entry = await setup_entry(hass, cloud_entry(fake_api))
    result = await _open(hass, entry, "settings")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_REGIONS: ["no", "GB", "bogus"], CONF_MMC: True, CONF_HOLD_TIME: 60}
    )
    assert result["errors"] == {CONF_REGIONS: "invalid_region"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_REGIONS: ["no", "GB", "us-ca"], CONF_MMC: True, CONF_HOLD_TIME: 60}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {
        CONF_REGIONS: ["no", "gb", "us-ca"],
        CONF_MMC: True,
        CONF_HOLD_TIME: 60,
        CONF_LOOKUPS_PER_SECOND: 1.0,  # the Free plan's default, kept
    }
    await hass.async_block_till_done()
    # The reload applied them: MMC sensors now exist.
    assert hass.states.get("sensor.driveway_make_and_model") is not None


async def test_strict_region_needs_regions(
    hass: HomeAssistant, fake_api: FakePlateRecognizer, camera: FakeCamera
) -> None:
    entry = await setup_entry(hass, cloud_entry(fake_api))
    result = await _open(hass, entry, "engine")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**ENGINE_OFF, CONF_REGION_STRICT: True}
    )
    assert result["errors"] == {CONF_REGION_STRICT: "strict_needs_regions"}
    # Once set, regions cannot be emptied while strict region is on.
    hass.config_entries.async_update_entry(
        entry, options={CONF_REGIONS: ["gb"], CONF_ENGINE: {CONF_REGION_STRICT: True}}
    )
    await hass.async_block_till_done()
    result = await _open(hass, entry, "settings")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_REGIONS: [], CONF_MMC: False, CONF_HOLD_TIME: 60}
    )
    assert result["errors"] == {CONF_REGIONS: "strict_needs_regions"}


async def test_engine_config(
    hass: HomeAssistant, fake_api: FakePlateRecognizer, camera: FakeCamera
) -> None:
    entry = await setup_entry(hass, cloud_entry(fake_api, options={CONF_REGIONS: ["gb"]}))
    result = await _open(hass, entry, "engine")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**ENGINE_OFF, CONF_TEXT_FORMATS: ["[A-Z"]}
    )
    assert result["errors"] == {"base": "invalid_engine_config"}
    assert "[A-Z" in result["description_placeholders"]["error"]
    engine = {
        CONF_DETECTION_RULE_STRICT: True,
        CONF_VEHICLE_MODE: True,
        CONF_REGION_STRICT: True,
        CONF_FAST_MODE: True,
        CONF_THRESHOLD_D: 0.2,
        CONF_THRESHOLD_O: 0.4,
        CONF_TEXT_FORMATS: ["[A-Z]{2}[0-9]{2}[A-Z]{3}"],
    }
    result = await hass.config_entries.options.async_configure(result["flow_id"], engine)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options[CONF_ENGINE] == engine
    await hass.async_block_till_done()

    # The next read sends exactly that engine config.
    await hass.services.async_call(
        "button", "press", {"entity_id": "button.driveway_read_plate_now"}, blocking=True
    )
    assert fake_api.last_request.config == {
        "detection_rule": "strict",
        "detection_mode": "vehicle",
        "region": "strict",
        "threshold_d": 0.2,
        "threshold_o": 0.4,
        "mode": "fast",
        "text_formats": ["[A-Z]{2}[0-9]{2}[A-Z]{3}"],
    }
    assert fake_api.last_request.regions == ["gb"]


async def test_watchlist_add_and_remove(
    hass: HomeAssistant, fake_api: FakePlateRecognizer, camera: FakeCamera
) -> None:
    entry = await setup_entry(hass, cloud_entry(fake_api))
    menu = await hass.config_entries.options.async_init(entry.entry_id)
    assert "remove_watched" not in menu["menu_options"]  # nothing to remove yet
    hass.config_entries.options.async_abort(menu["flow_id"])

    for name, plate in (("Anna", "ab12 cde"), ("Bob", "XY-99")):
        result = await _open(hass, entry, "add_watched")
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {CONF_NAME: name, CONF_PLATE: " - ", CONF_TOLERANCE: 1}
        )
        assert result["errors"] == {CONF_PLATE: "invalid_plate"}
        result = await hass.config_entries.options.async_configure(
            result["flow_id"],
            {CONF_NAME: name, CONF_PLATE: plate, CONF_TOLERANCE: 1, CONF_TAGS: ["family", " "]},
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done()
    assert entry.options[CONF_WATCHLIST] == [
        {CONF_NAME: "Anna", CONF_PLATE: "AB12 CDE", CONF_TOLERANCE: 1, CONF_TAGS: ["family"]},
        {CONF_NAME: "Bob", CONF_PLATE: "XY-99", CONF_TOLERANCE: 1, CONF_TAGS: ["family"]},
    ]

    result = await _open(hass, entry, "remove_watched")
    # Optional, so the frontend ticks nothing (it ticks the first option of a required list).
    (key,) = result["data_schema"].schema
    assert isinstance(key, vol.Optional)
    assert key.default is vol.UNDEFINED
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert result["errors"] == {CONF_WATCHLIST: "nothing_to_remove"}
    assert len(entry.options[CONF_WATCHLIST]) == 2
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_WATCHLIST: ["0"]}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert [item[CONF_NAME] for item in entry.options[CONF_WATCHLIST]] == ["Bob"]
    await hass.async_block_till_done()


async def _add_camera(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, Any]:
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_CAMERA), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    return result


def _fields(result: dict[str, Any]) -> set[str]:
    return {str(key) for key in result["data_schema"].schema}


async def test_add_camera_subentry(
    hass: HomeAssistant, fake_api: FakePlateRecognizer, camera: FakeCamera
) -> None:
    entry = await setup_entry(hass, cloud_entry(fake_api, subentries=[]))
    assert hass.states.get("sensor.driveway_last_plate") is None

    result = await _add_camera(hass, entry)
    # The first step only asks what every camera needs: no motion or Frigate field
    # is shown while "Only on request" (the suggested trigger) is chosen.
    assert _fields(result) == {CONF_CAMERA, CONF_TRIGGER, CONF_REGIONS}
    flow_id = result["flow_id"]
    configure = hass.config_entries.subentries.async_configure
    result = await configure(
        flow_id, {CONF_CAMERA: CAMERA, CONF_TRIGGER: TRIGGER_MANUAL, CONF_REGIONS: ["x1y"]}
    )
    assert result["errors"] == {CONF_REGIONS: "invalid_region"}
    result = await configure(flow_id, {CONF_CAMERA: CAMERA, CONF_TRIGGER: TRIGGER_FRIGATE})
    assert result["errors"] == {"base": "mqtt_not_set_up"}

    # A motion trigger: its entity is asked for in a second step, and only there.
    result = await configure(
        flow_id, {CONF_CAMERA: CAMERA, CONF_TRIGGER: TRIGGER_ENTITY, CONF_REGIONS: ["no"]}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "entity"
    assert _fields(result) == {CONF_TRIGGER_ENTITY}
    assert result["description_placeholders"] == {"camera": "Driveway"}
    result = await configure(flow_id, {CONF_TRIGGER_ENTITY: MOTION})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Driveway"
    await hass.async_block_till_done()

    (subentry,) = entry.subentries.values()
    assert subentry.unique_id == CAMERA
    assert dict(subentry.data) == {
        CONF_CAMERA: CAMERA,
        CONF_TRIGGER: TRIGGER_ENTITY,
        CONF_TRIGGER_ENTITY: MOTION,
        CONF_REGIONS: ["no"],
    }
    # The entry reloaded with the camera's entities.
    assert hass.states.get("sensor.driveway_last_plate") is not None

    result = await _add_camera(hass, entry)
    result = await configure(result["flow_id"], {CONF_CAMERA: CAMERA, CONF_TRIGGER: TRIGGER_MANUAL})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_add_camera_on_request_is_one_step(
    hass: HomeAssistant, fake_api: FakePlateRecognizer, camera: FakeCamera
) -> None:
    entry = await setup_entry(hass, cloud_entry(fake_api, subentries=[]))
    result = await _add_camera(hass, entry)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_CAMERA: CAMERA, CONF_TRIGGER: TRIGGER_MANUAL}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {CONF_CAMERA: CAMERA, CONF_TRIGGER: TRIGGER_MANUAL, CONF_REGIONS: []}
    await hass.async_block_till_done()


# The MQTT integration's own housekeeping timer may outlive the test (not ours).
@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_add_camera_with_frigate(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    fake_api: FakePlateRecognizer,
    camera: FakeCamera,
    expected_lingering_timers: bool,
) -> None:
    entry = await setup_entry(hass, cloud_entry(fake_api, subentries=[]))
    result = await _add_camera(hass, entry)
    configure = hass.config_entries.subentries.async_configure
    result = await configure(
        result["flow_id"], {CONF_CAMERA: CAMERA, CONF_TRIGGER: TRIGGER_FRIGATE}
    )
    assert result["step_id"] == "frigate"
    assert _fields(result) == {CONF_FRIGATE_CAMERA, *LPR_KEYS}  # LPR: tests/ha/test_frigate.py
    result = await configure(result["flow_id"], {CONF_FRIGATE_CAMERA: "  "})
    assert result["errors"] == {CONF_FRIGATE_CAMERA: "frigate_camera_required"}
    result = await configure(result["flow_id"], {CONF_FRIGATE_CAMERA: " drive "})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {
        CONF_CAMERA: CAMERA,
        CONF_TRIGGER: TRIGGER_FRIGATE,
        CONF_FRIGATE_CAMERA: "drive",
        CONF_REGIONS: [],
    }
    await hass.async_block_till_done()


async def test_reconfigure_camera_subentry(
    hass: HomeAssistant, fake_api: FakePlateRecognizer, camera: FakeCamera
) -> None:
    entry = await setup_entry(hass, cloud_entry(fake_api))
    subentry_id = next(iter(entry.subentries))

    async def _reconfigure() -> dict[str, Any]:
        return await hass.config_entries.subentries.async_init(
            (entry.entry_id, SUBENTRY_CAMERA),
            context={"source": SOURCE_RECONFIGURE, "subentry_id": subentry_id},
        )

    result = await _reconfigure()
    assert result["step_id"] == "reconfigure"
    assert _fields(result) == {CONF_TRIGGER, CONF_REGIONS}
    # Keeping the motion trigger: its step comes with the saved entity suggested.
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_TRIGGER: TRIGGER_ENTITY}
    )
    assert result["step_id"] == "entity"
    (key,) = result["data_schema"].schema
    assert key.description == {"suggested_value": MOTION}
    hass.config_entries.subentries.async_abort(result["flow_id"])

    result = await _reconfigure()
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_TRIGGER: TRIGGER_MANUAL, CONF_REGIONS: ["GB"]}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert dict(entry.subentries[subentry_id].data) == {
        CONF_CAMERA: CAMERA,
        CONF_TRIGGER: TRIGGER_MANUAL,
        CONF_REGIONS: ["gb"],
    }
    await hass.async_block_till_done()


def test_camera_forms_explain_every_field() -> None:
    """The reconfigure form has the add form's help texts, and each step's field has one."""
    steps = STRINGS["config_subentries"]["camera"]["step"]
    for step in steps.values():
        assert set(step["data_description"]) == set(step["data"]) - {"camera_entity"} | (
            {"camera_entity"} if "camera_entity" in step["data"] else set()
        )
    assert (
        steps["reconfigure"]["data_description"]["trigger"]
        == (steps["user"]["data_description"]["trigger"])
    )


async def test_lookups_per_second_follow_the_cloud_plan(
    hass: HomeAssistant, fake_api: FakePlateRecognizer, camera: FakeCamera
) -> None:
    entry = await setup_entry(hass, cloud_entry(fake_api))
    assert entry.runtime_data.reader.limiter.rate == 1.0  # Free plan by default
    result = await _open(hass, entry, "settings")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {CONF_REGIONS: [], CONF_MMC: False, CONF_HOLD_TIME: 60, CONF_LOOKUPS_PER_SECOND: 8},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options[CONF_LOOKUPS_PER_SECOND] == 8.0
    assert entry.runtime_data.reader.limiter.rate == 8.0  # applied by the reload


async def test_local_servers_have_no_rate_option(
    hass: HomeAssistant, fake_onprem: FakePlateRecognizer, camera: FakeCamera
) -> None:
    entry = await setup_entry(hass, local_entry(fake_onprem))
    assert entry.runtime_data.reader.limiter.unlimited
    result = await _open(hass, entry, "settings")
    assert CONF_LOOKUPS_PER_SECOND not in result["data_schema"].schema
