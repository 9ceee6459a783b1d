"""Our discovery messages in Home Assistant's own MQTT integration (the real test harness).

A real mosquitto, Home Assistant's `mqtt` integration connected to it (from a config
entry, as the UI makes it), and the bridge service in the same event loop reading from
the fake API. Assertions are on `hass.states`, the device registry and the image
entity's bytes: what a user sees.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from homeassistant.core import Event, HomeAssistant, State, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from tests.bridge.conftest import make_config, publish, running
from tests.bridge.test_service import plate_result
from tests.fake_api.images import jpeg_bytes
from tests.fake_api.server import FakePlateRecognizer
from tests.mosquitto import Mosquitto

WATCHED = [{"name": "Our car", "plate": "AB12 CDE", "owner": "Alice", "tags": ["gate"]}]


async def wait_state(
    hass: HomeAssistant,
    entity_id: str,
    check: Callable[[State], bool] = lambda s: True,
    within: float = 60.0,
) -> State:
    deadline = time.monotonic() + within
    while True:
        state = hass.states.get(entity_id)
        if state is not None and check(state):
            return state
        if time.monotonic() > deadline:
            raise AssertionError(f"{entity_id}: {state}")
        await asyncio.sleep(0.05)


def ha_config_dir(path: Path) -> Path:
    """The integration reads `mqtt:` YAML from configuration.yaml: give it an empty one."""
    path.mkdir(exist_ok=True)
    (path / "configuration.yaml").write_text("")
    return path


async def setup_mqtt(hass: HomeAssistant, broker: Mosquitto, config_dir: Path) -> MockConfigEntry:
    hass.config.config_dir = str(config_dir)
    entry = MockConfigEntry(domain="mqtt", data={"broker": broker.host, "port": broker.port})
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def test_entities_appear_and_follow_reads(
    hass: HomeAssistant,
    socket_enabled: None,
    fake_onprem: FakePlateRecognizer,
    mosquitto: Mosquitto,
    tmp_path: Path,
) -> None:
    plates = ["ab12cde", "ab12cde", "xy99zzz"]
    fake_onprem.responder = lambda request: [plate_result(plates.pop(0))]
    entry = await setup_mqtt(hass, mosquitto, ha_config_dir(tmp_path / "ha"))
    config = make_config(
        tmp_path,
        mosquitto,
        fake_onprem.url,
        api={"mmc": True},
        cameras={"driveway": {}},
        watchlist=WATCHED,
        homeassistant={"hold_time": 1, "image_interval": 0},
        pipeline={"cooldown": 0, "metrics_interval": 0},
    )
    fired: list[Event[Any]] = []

    @callback  # in the event loop, in order (a plain function runs in the executor)
    def _record(event: Event[Any]) -> None:
        fired.append(event)

    hass.bus.async_listen("state_changed", _record)
    async with running(config) as service:
        # Before any read: the devices and entities exist.
        # (available once the retained `online` on pb/status has come)
        await wait_state(hass, "sensor.pb_driveway_last_plate", lambda s: s.state == "unknown")
        await wait_state(
            hass, "sensor.pb_bridge_api_calls_used", lambda s: s.state != "unavailable"
        )
        devices = dr.async_get(hass)
        camera = devices.async_get_device(identifiers={("mqtt", "pb_driveway")})
        bridge = devices.async_get_device(identifiers={("mqtt", "pb_bridge")})
        assert camera is not None and bridge is not None
        assert camera.via_device_id == bridge.id
        assert camera.name == "Driveway"
        entities = er.async_get(hass)
        queue = entities.async_get("sensor.pb_bridge_queue_depth")
        assert queue is not None and queue.entity_category == er.EntityCategory.DIAGNOSTIC

        # A watched plate.
        publish(mosquitto, "pb/driveway/snapshot", jpeg_bytes())
        state = await wait_state(
            hass, "sensor.pb_driveway_last_plate", lambda s: s.state != "unknown"
        )
        assert state.state == "AB12CDE"
        assert state.attributes["score"] == 0.9
        assert state.attributes["region"] == "gb"
        assert state.attributes["watched"] is True
        assert state.attributes["watchlist"]["name"] == "Our car"
        assert state.attributes["box"] == {"xmin": 143, "ymin": 481, "xmax": 282, "ymax": 575}
        assert state.attributes["candidates"][0]["plate"] == "ab12cde"
        assert hass.states.get("sensor.pb_driveway_vehicle_type").state == "Sedan"  # type: ignore[union-attr]
        assert hass.states.get("sensor.pb_driveway_region").state == "gb"  # type: ignore[union-attr]
        present = await wait_state(
            hass, "binary_sensor.pb_driveway_watched_present", lambda s: s.state == "on"
        )
        assert present.attributes["device_class"] == "occupancy"
        assert present.attributes["name"] == "Our car"
        event = await wait_state(
            hass, "event.pb_driveway_plate_event", lambda s: s.state != "unknown"
        )
        assert event.attributes["event_type"] == "watched_plate"
        assert event.attributes["plate"] == "ab12cde"
        assert event.attributes["watchlist"] == "Our car"
        first_event_time = event.state

        # The same plate again: the event entity fires again.
        publish(mosquitto, "pb/driveway/snapshot", jpeg_bytes())
        again = await wait_state(
            hass, "event.pb_driveway_plate_event", lambda s: s.state != first_event_time
        )
        assert again.attributes["event_type"] == "watched_plate"

        # The hold time passes: the binary sensor turns off by itself.
        await wait_state(
            hass, "binary_sensor.pb_driveway_watched_present", lambda s: s.state == "off", 5
        )

        # An unknown plate.
        publish(mosquitto, "pb/driveway/snapshot", jpeg_bytes())
        unknown = await wait_state(
            hass,
            "event.pb_driveway_plate_event",
            lambda s: s.attributes.get("event_type") == "unknown_plate",
        )
        assert unknown.attributes["watchlist"] is None
        await wait_state(hass, "sensor.pb_driveway_last_plate", lambda s: s.state == "XY99ZZZ")
        assert hass.states.get("binary_sensor.pb_driveway_watched_present").state == "off"  # type: ignore[union-attr]

        # The image entity shows the last annotated snapshot.
        image_state = await wait_state(
            hass, "image.pb_driveway_snapshot", lambda s: s.state not in ("unknown",)
        )
        assert image_state.state != "unavailable"
        component = hass.data["image"]
        image_entity = component.get_entity("image.pb_driveway_snapshot")
        image = await image_entity.async_image()
        assert image is not None and image[:3] == b"\xff\xd8\xff"

        # The bridge's own device: usage from the on-premise /info/, queue, last error.
        service.publish_metrics()
        used = await wait_state(hass, "sensor.pb_bridge_api_calls_used", lambda s: s.state == "3")
        assert used.attributes["unit_of_measurement"] == "calls"
        assert hass.states.get("sensor.pb_bridge_queue_depth").state == "0"  # type: ignore[union-attr]
        assert hass.states.get("binary_sensor.pb_bridge_reads_paused").state == "off"  # type: ignore[union-attr]
        assert hass.states.get("sensor.pb_bridge_api_period_resets").attributes["device_class"] == (  # type: ignore[union-attr]
            "timestamp"
        )
        publish(mosquitto, "pb/driveway/snapshot", b"not an image")
        error = await wait_state(
            hass, "sensor.pb_bridge_last_error", lambda s: s.state != "unknown"
        )
        assert error.state.startswith("payload: pb/driveway/snapshot")
        assert error.attributes["kind"] == "payload"

    # The bridge stopped: every entity is unavailable.
    await wait_state(hass, "sensor.pb_driveway_last_plate", lambda s: s.state == "unavailable")
    event_changes = [e for e in fired if e.data["entity_id"] == "event.pb_driveway_plate_event"]
    assert len(event_changes) >= 4  # created, then three passages
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
