"""The watch list in the bridge: the shared decision table through the pipeline, its
configuration, and a watched car announced once however the bridge reconnects."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback

from bridge.config import BridgeConfig, ConfigError, load_config
from bridge.events import EVENT_UNKNOWN, EVENT_WATCHED, ReadContext, SnapshotRef, Topics
from bridge.jobs import PictureBytes
from bridge.metrics import Metrics
from bridge.outbox import OutMessage
from bridge.pipeline import Job, Pipeline
from bridge.sinks.mqtt import MqttEventSink
from platereader import PlateReader
from tests.bridge.conftest import Subscriber, make_config, publish, running, until
from tests.bridge.test_homeassistant import ha_config_dir, setup_mqtt, wait_state
from tests.bridge.test_reliability import folder_source
from tests.bridge.test_service import plate_result
from tests.fake_api.images import jpeg_bytes
from tests.fake_api.server import FakePlateRecognizer
from tests.mosquitto import Mosquitto
from tests.test_watchlist_matrix import MATRIX, Row, decision

NO_BROKER: Any = type("NoBroker", (), {"host": "127.0.0.1", "port": 1})()


async def read_through_pipeline(config: BridgeConfig, api_url: str) -> list[OutMessage]:
    """One picture of camera `gate` through the bridge's pipeline; what it publishes."""
    published: list[OutMessage] = []

    def collect(messages: Sequence[OutMessage]) -> None:
        published.extend(messages)

    async with httpx.AsyncClient() as session:
        reader = PlateReader(api_url, None, session=session, retries=0)
        sink = MqttEventSink(Topics(config.mqtt.base_topic), collect)
        pipeline = Pipeline(config, reader, Metrics(), sinks=[sink])
        await pipeline.start()
        try:
            context = ReadContext(
                camera="gate",
                source="mqtt",
                source_event_id=None,
                time=datetime.now(UTC),
                snapshot=SnapshotRef(kind="mqtt", topic="pb/gate/snapshot"),
            )
            picture = PictureBytes(jpeg_bytes())
            pipeline.submit(Job(camera="gate", key=None, context=context, picture=picture))
            assert await pipeline.drain(30)
        finally:
            await pipeline.stop(10)
    return published


@pytest.mark.parametrize("row", MATRIX, ids=lambda row: row.id)
async def test_decision_table_through_the_pipeline(
    row: Row, fake_onprem: FakePlateRecognizer, tmp_path: Path
) -> None:
    fake_onprem.responder = lambda request: [row.api_result()]
    config = make_config(tmp_path, NO_BROKER, fake_onprem.url, watchlist=row.watchlist_config())
    published = await read_through_pipeline(config, fake_onprem.url)
    events = [json.loads(m.payload) for m in published if m.topic == "pb/gate/plate"]
    assert len(events) == 1
    event = events[0]
    assert decision(event["watchlist"]) == row.expected
    assert event["event_type"] == (EVENT_WATCHED if row.expected else EVENT_UNKNOWN)
    watch_topics = {m.topic for m in published} & {"pb/watchlist", "pb/gate/watchlist"}
    assert bool(watch_topics) == (row.expected is not None)


async def test_the_event_says_why(fake_onprem: FakePlateRecognizer, tmp_path: Path) -> None:
    row = Row(
        "why",
        (("Family car", "AB12 CDE", 0),),
        "A8I2C0E",
        0.9,
        (("AB12C0E", 0.88),),
    )
    fake_onprem.responder = lambda request: [row.api_result()]
    config = make_config(
        tmp_path,
        NO_BROKER,
        fake_onprem.url,
        watchlist=[{"name": "Family car", "plate": "AB12 CDE", "owner": "Alice", "tags": ["gate"]}],
    )
    published = await read_through_pipeline(config, fake_onprem.url)
    event = json.loads(next(m.payload for m in published if m.topic == "pb/gate/plate"))
    assert event["watchlist"] == {
        "name": "Family car",
        "plate": "AB12 CDE",
        "owner": "Alice",
        "tags": ["gate"],
        "tolerance": 0,
        "kind": "lookalike",
        "exact": False,  # the top plate is not the entry
        "differences": 0,
        "lookalikes": 1,  # D read as 0
        "distance": 0.25,
        "matched_text": "ab12c0e",
        "matched_score": 0.88,
        "source": "candidate",
        "candidate": 2,  # the reader's second candidate (the first is the top plate)
    }


# -- configuration ----------------------------------------------------------------------


def _watch(tmp_path: Path, entry: dict[str, Any]) -> BridgeConfig:
    return make_config(tmp_path, NO_BROKER, "http://127.0.0.1:8080", watchlist=[entry])


@pytest.mark.parametrize(
    ("tolerance", "expected"),
    [(None, 0), (0, 0), (1, 1), (2, 2), (0.5, 0), (1.0, 1), (1.5, 1), (3, 2), (4.0, 2)],
)
def test_tolerance_is_whole_characters(
    tmp_path: Path, tolerance: float | None, expected: int
) -> None:
    entry: dict[str, Any] = {"name": "Family car", "plate": "AB12 CDE"}
    if tolerance is not None:
        entry["tolerance"] = tolerance
    config = _watch(tmp_path, entry)
    assert config.watchlist[0].tolerance == expected
    assert config.watchlist[0].to_entry().tolerance == expected


def test_bad_watch_entries_name_the_key(tmp_path: Path) -> None:
    path = tmp_path / "bridge.yaml"
    for entry, message in (
        ({"name": "x", "plate": "AB12", "tolerance": 5}, "watchlist.0.tolerance: must be 0 to 2"),
        ({"name": "x", "plate": "AB12", "tolerance": -1}, "watchlist.0.tolerance: tolerance"),
        ({"name": "x", "plate": "AB12", "tolerance": "1"}, "a number of characters"),
        ({"name": "x", "plate": "A" * 17}, "watchlist.0: watch-list entry 'x'"),
        ({"name": "x", "plate": "--"}, "has no letters or digits"),
    ):
        path.write_text(json.dumps({"watchlist": [entry]}))  # JSON is YAML
        with pytest.raises(ConfigError) as err:
            load_config(path)
        assert message in str(err.value)


# -- announced once --------------------------------------------------------------------


# The binary sensor's own off-delay timer (an hour) is still running at the end.
@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_watched_present_is_announced_once_across_a_bridge_restart(
    hass: HomeAssistant,
    socket_enabled: None,
    fake_onprem: FakePlateRecognizer,
    mosquitto: Mosquitto,
    tmp_path: Path,
    expected_lingering_timers: bool,
) -> None:
    """The bridge going offline and back within the hold time is no second car.

    The binary sensor and the event entity used to follow `<base>/status`: the
    restart made them unavailable, then `on` (and the old event) again, and a
    `to: "on"` trigger opened the gate a second time.
    """
    fake_onprem.responder = lambda request: [plate_result("ab12cde")]
    mqtt_entry = await setup_mqtt(hass, mosquitto, ha_config_dir(tmp_path / "ha"))
    config = make_config(
        tmp_path,
        mosquitto,
        fake_onprem.url,
        cameras={"driveway": {}},
        watchlist=[{"name": "Our car", "plate": "AB12 CDE"}],
        homeassistant={"hold_time": 3600, "image": False},
    )
    present, plate_event = (
        "binary_sensor.pb_driveway_watched_present",
        "event.pb_driveway_plate_event",
    )
    changes: dict[str, list[tuple[str | None, str | None]]] = {present: [], plate_event: []}

    @callback  # in the event loop, in order (a plain function runs in the executor)
    def record(event: Event[EventStateChangedData]) -> None:
        entity_id = event.data["entity_id"]
        if entity_id in changes:
            old, new = event.data["old_state"], event.data["new_state"]
            changes[entity_id].append((old.state if old else None, new.state if new else None))

    hass.bus.async_listen("state_changed", record)
    async with running(config):
        await wait_state(hass, "sensor.pb_driveway_last_plate", lambda s: s.state == "unknown")
        publish(mosquitto, "pb/driveway/snapshot", jpeg_bytes())
        await wait_state(hass, present, lambda s: s.state == "on")
        fired = await wait_state(
            hass, plate_event, lambda s: s.state not in ("unknown", "unavailable")
        )
    # The bridge is gone (`offline`): entities showing the bridge's live state follow it.
    await wait_state(hass, "sensor.pb_driveway_last_plate", lambda s: s.state == "unavailable")
    async with running(config):
        await wait_state(hass, "sensor.pb_driveway_last_plate", lambda s: s.state == "AB12CDE")
        await hass.async_block_till_done()
    assert hass.states.get(present).state == "on"  # type: ignore[union-attr]
    for entity_id in (present, plate_event):
        assert "unavailable" not in [new for _, new in changes[entity_id]], changes[entity_id]
    assert [new for _, new in changes[present]].count("on") == 1
    assert hass.states.get(plate_event).state == fired.state  # type: ignore[union-attr]
    # Home Assistant's MQTT client stops before the broker does (no reconnect task left).
    assert await hass.config_entries.async_unload(mqtt_entry.entry_id)
    await hass.async_block_till_done()


async def test_watched_signal_is_not_replayed_after_a_broker_outage(
    fake_onprem: FakePlateRecognizer, mosquitto_persistent: Mosquitto, tmp_path: Path
) -> None:
    """Events wait on disk for the broker; "the watched car is here now" does not.

    `<base>/<camera>/watchlist` drives the "watched vehicle present" sensor: sent
    minutes late, after the broker came back, it opened the gate for a car long gone.
    """
    broker = mosquitto_persistent
    inbox = tmp_path / "ftp"
    fake_onprem.responder = lambda request: [plate_result("ab12cde")]
    config = make_config(
        tmp_path,
        broker,
        fake_onprem.url,
        sources=folder_source(inbox),
        watchlist=[{"name": "Our car", "plate": "AB12 CDE"}],
        pipeline={"cooldown": 0, "metrics_interval": 0},
    )
    sub = Subscriber(broker, ("pb/#",), client_id="watcher", persistent=True).start()
    try:
        async with running(config) as service:
            await asyncio.to_thread(broker.stop)
            await until(lambda: not service.link.connected)
            (inbox / "early.jpg").write_bytes(jpeg_bytes())
            await until(lambda: service.metrics["plates_published"] == 1)
            await asyncio.to_thread(broker.start)
            await until(lambda: service.link.connected and service.link.backlog == 0, 30)
            (inbox / "late.jpg").write_bytes(jpeg_bytes())
            present = await sub.wait_for("pb/ftp/watchlist", within=30)
            events = await sub.wait_for("pb/watchlist", 2, within=30)
            assert service.metrics["live_dropped"] == 1
    finally:
        sub.stop()
    # The event streams have both reads (the early one late); the live signal only the late.
    assert [e.json()["source_event_id"] for e in events] == ["early.jpg", "late.jpg"]
    assert [m.json()["source_event_id"] for m in present] == ["late.jpg"]
