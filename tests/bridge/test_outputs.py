"""The bridge's outputs: discovery messages, Frigate write-back, snapshots, history."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bridge.cli import main
from bridge.events import PlateEvent, ReadContext, SnapshotRef, Topics, plate_event
from bridge.history import Query, parse_since, query
from bridge.homeassistant import Entities
from bridge.sinks.base import AnnotatedPicture
from bridge.snapshots import SnapshotStore
from platereader import Box, PlateResult
from platereader.watchlist import WatchList
from tests.bridge.conftest import Subscriber, make_config, publish, running, until
from tests.bridge.fake_frigate import FakeFrigate, frigate_event
from tests.bridge.test_service import plate_result
from tests.fake_api.images import jpeg_bytes, png_bytes
from tests.fake_api.server import FakePlateRecognizer
from tests.mosquitto import Mosquitto

NO_BROKER: Any = type("NoBroker", (), {"host": "127.0.0.1", "port": 1})()
WATCHED = [{"name": "Our car", "plate": "AB12 CDE", "owner": "Alice", "tags": ["gate"]}]


def retained_configs(sub: Subscriber, prefix: str = "homeassistant") -> dict[str, Any]:
    """The latest payload of each discovery topic (None when emptied)."""
    latest: dict[str, Any] = {}
    for message in sub.on(f"{prefix}/#"):
        if message.topic.endswith("/config"):
            latest[message.topic] = json.loads(message.payload) if message.payload else None
    return latest


# -- Home Assistant discovery (on the broker) ---------------------------------------------


async def test_discovery_published_at_start_and_stale_cameras_removed(
    fake_onprem: FakePlateRecognizer, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    first = make_config(
        tmp_path,
        mosquitto,
        fake_onprem.url,
        api={"mmc": True},
        cameras={"driveway": {}, "gate": {}},
        sources={"snapshot_topics": [{"topic": "pb/driveway/snapshot", "camera": "driveway"}]},
    )
    async with running(first) as service:
        await asyncio.wait_for(service.discovery.synced.wait(), 60)
    sub = Subscriber(mosquitto, ("homeassistant/#",)).start()
    try:
        await until(lambda: len(retained_configs(sub)) >= 30)
        configs = retained_configs(sub)
    finally:
        sub.stop()
    # Before any read: a device per camera and one for the bridge.
    last_plate = configs["homeassistant/sensor/pb/driveway_last_plate/config"]
    assert last_plate["state_topic"] == "pb/driveway/state"
    assert last_plate["unique_id"] == "pb_driveway_last_plate"
    assert last_plate["availability_topic"] == "pb/status"
    assert last_plate["device"]["identifiers"] == ["pb_driveway"]
    assert last_plate["device"]["via_device"] == "pb_bridge"
    assert last_plate["origin"]["name"] == "plate-bridge"
    assert "homeassistant/sensor/pb/gate_make_model/config" in configs  # mmc: on
    assert "homeassistant/image/pb/gate_snapshot/config" in configs
    event = configs["homeassistant/event/pb/driveway_plate_event/config"]
    assert event["event_types"] == ["plate_detected"]  # no watch list
    present = configs["homeassistant/binary_sensor/pb/driveway_watched_present/config"]
    assert present["off_delay"] == 30
    assert present["state_topic"] == "pb/driveway/watchlist"
    queue = configs["homeassistant/sensor/pb/_bridge_queue_depth/config"]
    assert queue["entity_category"] == "diagnostic"
    assert queue["state_topic"] == "pb/metrics"
    trigger = configs["homeassistant/device_automation/pb/gate_trigger_watched_plate/config"]
    assert (trigger["automation_type"], trigger["type"], trigger["topic"]) == (
        "trigger",
        "watched_plate",
        "pb/gate/plate",
    )

    # The gate is taken out, MMC turned off: their entities are removed.
    second = make_config(
        tmp_path,
        mosquitto,
        fake_onprem.url,
        cameras={"driveway": {}},
        watchlist=WATCHED,
        homeassistant={"hold_time": 5},
        sources={"snapshot_topics": [{"topic": "pb/driveway/snapshot", "camera": "driveway"}]},
    )
    async with running(second) as service:
        await asyncio.wait_for(service.discovery.synced.wait(), 60)
        removed = service.discovery.removed
    assert "homeassistant/sensor/pb/gate_last_plate/config" in removed
    assert "homeassistant/sensor/pb/driveway_make_model/config" in removed
    assert "homeassistant/sensor/pb/driveway_last_plate/config" not in removed
    sub = Subscriber(mosquitto, ("homeassistant/#",)).start()
    try:
        # The broker sends a new subscriber the retained messages before anything
        # published later: once this marker arrives, every retained config has.
        publish(mosquitto, "homeassistant/test/marker", b"end")
        await sub.wait_for("homeassistant/test/marker")
        configs = retained_configs(sub)
    finally:
        sub.stop()
    assert not any("/gate_" in topic for topic in configs)  # the broker forgot them
    assert "homeassistant/sensor/pb/driveway_colour/config" not in configs
    event = configs["homeassistant/event/pb/driveway_plate_event/config"]
    assert event["event_types"] == ["watched_plate", "unknown_plate"]
    present = configs["homeassistant/binary_sensor/pb/driveway_watched_present/config"]
    assert present["off_delay"] == 5


async def test_new_camera_announced_on_first_picture_and_republished_for_ha(
    fake_onprem: FakePlateRecognizer, mosquitto: Mosquitto, subscriber: Subscriber, tmp_path: Path
) -> None:
    fake_onprem.responder = lambda request: [plate_result("AB12CDE")]
    config = make_config(tmp_path, mosquitto, fake_onprem.url, watchlist=WATCHED)
    async with running(config) as service:
        await asyncio.wait_for(service.discovery.synced.wait(), 60)
        assert not any("/porch_" in m.topic for m in subscriber.on("homeassistant/#"))
        publish(mosquitto, "pb/porch/snapshot", jpeg_bytes())
        await subscriber.wait_for("homeassistant/sensor/pb/porch_last_plate/config")
        event = (await subscriber.wait_for("pb/porch/plate"))[0].json()
        assert event["event_type"] == "watched_plate"
        watched = await subscriber.wait_for("pb/porch/watchlist")
        assert watched[0].json()["id"] == event["id"]
        image = await subscriber.wait_for("pb/porch/image")
        assert image[0].payload[:3] == b"\xff\xd8\xff"
        late = Subscriber(mosquitto, ("pb/porch/image",)).start()
        try:  # retained: what Home Assistant gets when it (re)subscribes
            assert (await late.wait_for("pb/porch/image"))[0].retain
        finally:
            late.stop()
        # Home Assistant restarts: everything is announced again.
        before = len(subscriber.on("homeassistant/sensor/pb/porch_last_plate/config"))
        publish(mosquitto, "homeassistant/status", "online")
        await subscriber.wait_for(
            "homeassistant/sensor/pb/porch_last_plate/config", count=before + 1
        )
    # The camera came through a {camera} topic: it is kept at the next start.
    async with running(config) as service:
        await asyncio.wait_for(service.discovery.synced.wait(), 60)
        assert "porch" in service.discovery.cameras
        assert not service.discovery.removed


async def test_discovery_disabled_removes_what_was_announced(
    fake_onprem: FakePlateRecognizer, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    config = make_config(tmp_path, mosquitto, fake_onprem.url, cameras={"driveway": {}})
    async with running(config) as service:
        await asyncio.wait_for(service.discovery.synced.wait(), 60)
        announced = set(service.discovery.published)
    off = make_config(
        tmp_path,
        mosquitto,
        fake_onprem.url,
        cameras={"driveway": {}},
        homeassistant={"enabled": False},
    )
    async with running(off) as service:
        await asyncio.wait_for(service.discovery.synced.wait(), 60)
        assert set(service.discovery.removed) == announced


def test_discovery_topic_parsing_and_plate_text(tmp_path: Path) -> None:
    config = make_config(
        tmp_path,
        NO_BROKER,
        "http://127.0.0.1:1",
        homeassistant={"plate_text": "name", "node_id": "gate_node"},
    )
    discovery = Entities(config, Topics(config.mqtt.base_topic))
    assert discovery.camera_of("homeassistant/sensor/gate_node/front_door_last_plate/config") == (
        "front_door"
    )
    assert discovery.camera_of("homeassistant/sensor/gate_node/_bridge_queue_depth/config") is None
    assert discovery.camera_of("homeassistant/sensor/gate_node/whatever/config") is None
    assert config.camera_may_appear("anything")  # a {camera} snapshot topic


# -- Frigate write-back ------------------------------------------------------------------


@pytest.mark.parametrize("version", ["0.16.0-abc", "0.15.1"])
async def test_frigate_write_back(
    fake_onprem: FakePlateRecognizer,
    mosquitto: Mosquitto,
    subscriber: Subscriber,
    tmp_path: Path,
    version: str,
) -> None:
    plates = {"watched-1": "ab12cde", "stranger-1": "xy99zzz"}
    fake_onprem.responder = lambda request: [plate_result(plates[current[0]], score=0.95)]
    current = ["watched-1"]
    async with FakeFrigate(version) as frigate:
        config = make_config(
            tmp_path,
            mosquitto,
            fake_onprem.url,
            watchlist=WATCHED,
            sources={"frigate": {"url": frigate.url}},
        )
        async with running(config) as service:
            publish(mosquitto, "frigate/events", frigate_event("new", "watched-1"))
            await until(lambda: len(frigate.bodies("sub_label")) == 1)
            current[0] = "stranger-1"
            publish(mosquitto, "frigate/events", frigate_event("new", "stranger-1", camera="gate"))
            await until(lambda: len(frigate.bodies("sub_label")) == 2)
            await service.pipeline.drain(5)
            if version.startswith("0.16"):
                await until(lambda: len(frigate.bodies("recognized_license_plate")) == 2)
        await asyncio.sleep(0.1)
    assert frigate.bodies("sub_label") == [
        {"subLabel": "Our car", "subLabelScore": 0.95},
        {"subLabel": "XY99ZZZ", "subLabelScore": 0.95},
    ]
    ids = [event_id for event_id, what, _ in frigate.write_backs if what == "sub_label"]
    assert ids == ["watched-1", "stranger-1"]
    if version.startswith("0.16"):
        assert frigate.bodies("recognized_license_plate") == [
            {"recognizedLicensePlate": "AB12CDE", "recognizedLicensePlateScore": 0.95},
            {"recognizedLicensePlate": "XY99ZZZ", "recognizedLicensePlateScore": 0.95},
        ]
    else:  # 0.15 has no such endpoint: never called
        assert frigate.bodies("recognized_license_plate") == []


async def test_frigate_write_back_failure_never_blocks(
    fake_onprem: FakePlateRecognizer, mosquitto: Mosquitto, subscriber: Subscriber, tmp_path: Path
) -> None:
    fake_onprem.responder = lambda request: [plate_result("ab12cde")]
    async with FakeFrigate("0.16.0") as frigate:
        frigate.write_back_status = 500
        config = make_config(
            tmp_path,
            mosquitto,
            fake_onprem.url,
            pipeline={"cooldown": 0, "metrics_interval": 0},
            sources={"frigate": {"url": frigate.url, "write_back": {"sub_label": "plate"}}},
        )
        async with running(config) as service:
            for n in range(3):
                publish(mosquitto, "frigate/events", frigate_event("new", f"ev-{n}"))
            await subscriber.wait_for("pb/driveway/plate", count=3)
            await until(lambda: service.metrics["frigate_write_back_errors"] == 3)
    assert [body["subLabel"] for body in frigate.bodies("sub_label")] == ["AB12CDE"] * 3


def test_sub_label_modes(tmp_path: Path) -> None:
    from bridge.sinks.frigate import sub_label_for

    def label(mode: str, watch: str | None, plate: str = "ab12cde") -> str | None:
        config = make_config(
            tmp_path,
            NO_BROKER,
            "http://127.0.0.1:1",
            watchlist=[{"name": watch, "plate": plate}] if watch else [],
            sources={"frigate": {"url": "http://f:5000", "write_back": {"sub_label": mode}}},
        )
        assert config.sources.frigate is not None
        context = ReadContext(
            camera="driveway",
            source="frigate",
            source_event_id="ev-1",
            time=datetime.now(UTC),
            snapshot=SnapshotRef(kind="frigate"),
        )
        result = PlateResult(plate=plate, score=0.9)
        match = WatchList(entry.to_entry() for entry in config.watchlist).match(result)
        event = plate_event(context, result, match, read_time=datetime.now(UTC))
        return sub_label_for(config.sources.frigate.write_back, event)

    assert label("auto", "Our car") == "Our car"
    assert label("auto", None) == "AB12CDE"
    assert label("plate", "Our car") == "AB12CDE"
    assert label("name", None) is None
    assert label("name", "x" * 150) == "x" * 100  # Frigate's limit
    assert label("off", "Our car") is None


def test_history_forgets_by_read_time_not_by_the_camera_clock(tmp_path: Path) -> None:
    """A camera whose clock says 1970 keeps its reads; a read older than the limit goes."""
    from bridge.history import HistoryWriter

    now = datetime.now(UTC)

    def event(source_event_id: str, picture_time: datetime, read_time: datetime) -> PlateEvent:
        context = ReadContext(
            camera="driveway",
            source="frigate",
            source_event_id=source_event_id,
            time=picture_time,
            snapshot=SnapshotRef(kind="frigate"),
        )
        return plate_event(
            context, PlateResult(plate="AB12CDE", score=0.9), None, read_time=read_time
        )

    path = tmp_path / "history.sqlite3"
    writer = HistoryWriter(path)  # keeps everything
    writer.start()
    writer.record(event("wrong-clock", datetime.fromtimestamp(100, UTC), now))
    writer.record(event("old", now - timedelta(days=3), now - timedelta(days=3)))
    writer.record(event("today", now, now))
    writer.close()
    pruning = HistoryWriter(path, max_age_days=1)
    pruning.start()  # prunes at once, not an hour after the machine booted
    pruning.close()
    rows = query(path, Query())
    assert sorted(row["source_event_id"] for row in rows) == ["today", "wrong-clock"]


def test_history_keeps_who_read_and_why_it_matched_and_upgrades_old_files(
    tmp_path: Path,
) -> None:
    """`read_by` and `watchlist_kind` are stored; a file written before they existed is
    read (null for them) and gets them when a bridge opens it."""
    import sqlite3

    from bridge.history import COLUMNS, HistoryWriter
    from platereader.watchlist import WatchEntry

    path = tmp_path / "history.sqlite3"
    old_columns = [(n, t) for n, t in COLUMNS if n not in ("read_by", "watchlist_kind")]
    with sqlite3.connect(path) as old:
        old.execute(f"CREATE TABLE reads ({', '.join(f'{n} {t}' for n, t in old_columns)})")
        old.execute(
            "INSERT INTO reads (id, time, read_time, camera, plate, plate_normalized) "
            "VALUES ('old', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', "
            "'gate', 'ab12cde', 'AB12CDE')"
        )
    old.close()
    [row] = query(path, Query())  # an old file, not yet opened by this version
    assert row["id"] == "old" and row["read_by"] is None and row["watchlist_kind"] is None

    now = datetime.now(UTC)
    context = ReadContext(
        camera="gate",
        source="frigate",
        source_event_id="new",
        time=now,
        snapshot=SnapshotRef(kind="frigate"),
    )
    result = PlateResult(plate="A812C0E", score=0.9)
    match = WatchList([WatchEntry(name="Our car", plate="AB12CDE")]).match(result)
    writer = HistoryWriter(path)
    writer.start()  # adds the columns
    writer.record(plate_event(context, result, match, read_time=now, read_by="frigate"))
    writer.close()
    rows = {row["id"]: row for row in query(path, Query())}
    new = next(row for key, row in rows.items() if key != "old")
    assert (new["read_by"], new["watchlist_kind"], new["watchlist_name"]) == (
        "frigate",
        "lookalike",
        "Our car",
    )
    assert rows["old"]["read_by"] is None


# -- snapshots ------------------------------------------------------------------------


def test_snapshot_retention_by_count_age_and_size(tmp_path: Path) -> None:
    root = tmp_path / "snapshots"
    result = PlateResult(plate="ab12cde", box=Box(xmin=10, ymin=10, xmax=60, ymax=30), score=0.9)
    store = SnapshotStore(root, keep=3, max_age_days=1, save_raw=True)
    for n in range(5):
        store.save(
            root / "driveway" / f"2024010{n}T000000000-ev{n}.jpg",
            AnnotatedPicture(png_bytes(), [result]),
        )
    names = sorted(p.name for p in (root / "driveway").iterdir())
    assert names == [
        "20240102T000000000-ev2.jpg",
        "20240102T000000000-ev2.raw.png",
        "20240103T000000000-ev3.jpg",
        "20240103T000000000-ev3.raw.png",
        "20240104T000000000-ev4.jpg",
        "20240104T000000000-ev4.raw.png",
    ]
    annotated = (root / "driveway" / "20240104T000000000-ev4.jpg").read_bytes()
    assert annotated[:3] == b"\xff\xd8\xff"
    # Age: files older than a day go (with their raw copy).
    old = root / "driveway" / "20240102T000000000-ev2.jpg"
    stale = time.time() - 2 * 86400
    os.utime(old, (stale, stale))
    os.utime(old.with_name("20240102T000000000-ev2.raw.png"), (stale, stale))
    assert store.prune(root / "driveway") == 2
    # Size: the oldest go first, over all cameras.
    store.save(
        root / "gate" / "20240105T000000000-ev5.jpg", AnnotatedPicture(jpeg_bytes(), [result])
    )
    sizes = sorted(p.stat().st_size for p in root.rglob("*.*"))
    store.max_bytes = sum(sizes) - 1
    assert store.check_size_now() >= 1
    assert (root / "gate" / "20240105T000000000-ev5.jpg").exists()
    assert not (root / "driveway" / "20240103T000000000-ev3.jpg").exists()


# -- history ----------------------------------------------------------------------------


def run_cli(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["history", *args])
    return code, out.getvalue()


async def test_history_records_every_read_and_the_command_queries_it(
    fake_onprem: FakePlateRecognizer, mosquitto: Mosquitto, subscriber: Subscriber, tmp_path: Path
) -> None:
    plates = iter(["ab12cde", "xy99zzz", "ab12cde"])
    fake_onprem.responder = lambda request: [plate_result(next(plates))]
    config = make_config(
        tmp_path,
        mosquitto,
        fake_onprem.url,
        watchlist=WATCHED,
        storage={"path": str(tmp_path / "state"), "save_snapshots": True},
        pipeline={"cooldown": 0, "metrics_interval": 0},
    )
    async with running(config):
        for camera in ("driveway", "gate", "driveway"):
            publish(mosquitto, f"pb/{camera}/snapshot", jpeg_bytes())
            await subscriber.wait_for(f"pb/{camera}/plate")
        await subscriber.wait_for("pb/+/plate", count=3)
    db = tmp_path / "state" / "history.sqlite3"
    rows = await asyncio.to_thread(query, db, Query())
    assert [row["plate"] for row in rows] == ["ab12cde", "xy99zzz", "ab12cde"][::-1]
    newest = rows[0]
    assert newest["camera"] == "driveway"
    assert newest["watchlist_name"] == "Our car"
    assert newest["event_type"] == "watched_plate"
    assert newest["vehicle_type"] == "Sedan"
    assert newest["region"] == "gb"
    assert newest["candidates"] == [{"plate": "ab12cde", "score": 0.9}]
    assert newest["box"] == {"xmin": 143, "ymin": 481, "xmax": 282, "ymax": 575}
    assert newest["snapshot"].endswith(".jpg")
    assert newest["source"] == "mqtt"

    code, out = run_cli("--db", str(db), "--plate", "AB12 CDE", "--format", "json")
    assert code == 0
    assert [row["camera"] for row in json.loads(out)] == ["driveway", "driveway"]
    code, out = run_cli("--db", str(db), "--plate", "xy*", "--format", "csv")
    lines = out.strip().splitlines()
    assert lines[0].startswith("id,time,read_time,camera")
    assert len(lines) == 2 and "xy99zzz" in lines[1]
    code, out = run_cli("--db", str(db), "--camera", "gate")
    assert "XY99ZZZ" in out and "AB12CDE" not in out and out.strip().endswith("1 read")
    code, out = run_cli("--db", str(db), "--since", "1h", "--limit", "1", "--format", "json")
    assert len(json.loads(out)) == 1
    code, out = run_cli("--db", str(db), "--since", "2999-01-01", "--format", "json")
    assert json.loads(out) == []
    assert run_cli("--db", str(tmp_path / "none.sqlite3"))[0] == 2
    assert run_cli("--db", str(db), "--since", "yesterday-ish")[0] == 2


def test_parse_since() -> None:
    now = datetime(2024, 12, 6, 12, 0, tzinfo=UTC)
    assert parse_since("2h", now) == now - timedelta(hours=2)
    assert parse_since("7d", now) == now - timedelta(days=7)
    assert parse_since("2024-12-01T10:00", now) == datetime(2024, 12, 1, 10, 0, tzinfo=UTC)
    assert parse_since("2024-12-01T10:00+01:00", now).utcoffset() == timedelta(hours=1)
    with pytest.raises(ValueError, match="not a time"):
        parse_since("soon", now)


# -- the Node-RED example --------------------------------------------------------------


def test_node_red_flow_is_a_wired_env_configurable_flow() -> None:
    flow = json.loads((Path(__file__).parents[2] / "examples/node-red/flow.json").read_text())
    nodes = {node["id"]: node for node in flow}
    assert len(nodes) == len(flow)  # unique ids
    for node in flow:
        for output in node.get("wires", []):
            assert all(target in nodes for target in output), node["id"]
    by_type = {node["type"]: node for node in flow}
    broker = by_type["mqtt-broker"]
    assert (broker["broker"], broker["port"]) == ("${MQTT_HOST}", "${MQTT_PORT}")
    tab_env = {entry["name"] for entry in by_type["tab"]["env"]}
    assert {"MQTT_HOST", "MQTT_PORT", "PLATES_TOPIC", "GATE_URL", "NOTIFY_URL"} <= tab_env
    assert by_type["mqtt in"]["topic"] == "${PLATES_TOPIC}"
    assert by_type["mqtt in"]["datatype"] == "json"
    urls = sorted(node["url"] for node in flow if node["type"] == "http request")
    assert urls == ["${GATE_URL}", "${NOTIFY_URL}"]
    watched = nodes["pb_watched"]
    assert watched["property"] == "payload.watchlist"
