"""Frigate events and watched folders, end to end."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

from tests.bridge.conftest import Subscriber, handled, make_config, publish, running, until
from tests.bridge.fake_frigate import FakeFrigate, frigate_event
from tests.bridge.test_service import plate_result
from tests.fake_api.images import jpeg_bytes
from tests.fake_api.server import FakePlateRecognizer
from tests.mosquitto import Mosquitto


def frigate_config(
    tmp_path: Path, broker: Mosquitto, api_url: str, frigate_url: str, **kw: Any
) -> Any:
    return make_config(
        tmp_path,
        broker,
        api_url,
        sources={"frigate": {"url": frigate_url, "snapshot": {"height": 480}, **kw}},
        pipeline={"cooldown": 0, "metrics_interval": 0},
    )


async def test_frigate_events_read_once_per_better_snapshot(
    fake_onprem: FakePlateRecognizer, mosquitto: Mosquitto, subscriber: Subscriber, tmp_path: Path
) -> None:
    scores = {"good": 0.95, "weak": 0.6}
    fake_onprem.responder = lambda request: [plate_result("AB12CDE", score=scores[current[0]])]
    current = ["good"]
    async with FakeFrigate() as frigate:
        config = frigate_config(tmp_path, mosquitto, fake_onprem.url, frigate.url)
        async with running(config) as service:
            sent = [0]

            async def send(payload: bytes, reads: int) -> None:
                publish(mosquitto, "frigate/events", payload)
                sent[0] += 1
                await handled(service, sent[0])  # however long this machine takes
                assert len(fake_onprem.requests) == reads

            # The very first event after start-up is read.
            await send(frigate_event("new", "good-1", snapshot_time=100), 1)
            # A good plate (0.95 >= stop_score 0.9): later, better snapshots are not read.
            await send(
                frigate_event("update", "good-1", snapshot_time=101, box=(300, 100, 600, 300)), 1
            )
            await send(frigate_event("end", "good-1", snapshot_time=101), 1)

            current[0] = "weak"
            await send(frigate_event("new", "weak-1", snapshot_time=200), 2)
            await send(frigate_event("update", "weak-1", snapshot_time=200), 2)  # same snapshot
            await send(
                frigate_event("update", "weak-1", snapshot_time=201, box=(300, 100, 600, 300)), 3
            )
            await send(
                frigate_event("update", "weak-1", snapshot_time=202, box=(600, 100, 900, 300)), 4
            )
            # max_attempts (3) reached: a still better snapshot is not read.
            await send(
                frigate_event("update", "weak-1", snapshot_time=203, box=(900, 100, 1200, 300)), 4
            )

            # A parked car keeps sending updates: no lookups.
            for t in range(5):
                await send(
                    frigate_event("update", "parked-1", snapshot_time=300 + t, stationary=True), 4
                )
            # Not a vehicle, or not a configured label.
            await send(frigate_event("new", "person-1", label="person"), 4)
            # Garbage on frigate/events: an error event, and the service goes on.
            publish(mosquitto, "frigate/events", b"{nope")
            await subscriber.wait_for("pb/errors")
            assert service.metrics["frigate_stationary"] == 5
            assert service.metrics["frigate_max_attempts"] == 1
            assert service.metrics["frigate_plate_found"] == 2  # the update and the end
        snapshots = [(p, q) for p, q in frigate.requests if "snapshot" in p]
    assert len(snapshots) == 4
    path, query = snapshots[0]
    assert path == "/api/events/good-1/snapshot.jpg"
    assert query == {"crop": "1", "quality": "95", "height": "480"}  # 0.15: `height`
    events = [m.json() for m in subscriber.on("pb/driveway/plate")]
    assert [e["source_event_id"] for e in events] == ["good-1", "weak-1", "weak-1", "weak-1"]
    first = events[0]
    assert first["source"] == "frigate"
    assert first["label"] == "car"
    assert first["snapshot"]["url"] == f"{frigate.url}/api/events/good-1/snapshot.jpg"
    assert first["extra"]["frigate"]["attempt"] == 1
    assert first["time"].startswith("1970-01-01T00:01:40")  # the snapshot's frame time
    error = subscriber.on("pb/errors")[0].json()
    assert (error["kind"], error["source"]) == ("payload", "frigate")


async def test_frigate_fallback_and_unreachable(
    fake_onprem: FakePlateRecognizer, mosquitto: Mosquitto, subscriber: Subscriber, tmp_path: Path
) -> None:
    async with FakeFrigate(version="0.14.1") as frigate:
        frigate.missing_events.add("gone-1")
        config = frigate_config(tmp_path, mosquitto, fake_onprem.url, frigate.url, version="0.14.1")
        async with running(config):
            publish(mosquitto, "frigate/events", frigate_event("new", "gone-1"))
            await subscriber.wait_for("pb/driveway/plate")
        paths = [(p, q) for p, q in frigate.requests]
    assert paths[0][0] == "/api/events/gone-1/snapshot.jpg"
    assert paths[0][1]["h"] == "480"  # 0.14: `h`
    assert paths[1][0] == "/api/driveway/latest.jpg"

    config = frigate_config(tmp_path, mosquitto, fake_onprem.url, "http://127.0.0.1:9")
    async with running(config):
        publish(mosquitto, "frigate/events", frigate_event("new", "x-1"))
        error = (await subscriber.wait_for("pb/errors"))[0].json()
    assert error["kind"] == "snapshot"
    assert error["source_event_id"] == "x-1"
    assert error["retryable"] is True


async def test_folder_read_once_then_moved_or_deleted(
    fake_onprem: FakePlateRecognizer, mosquitto: Mosquitto, subscriber: Subscriber, tmp_path: Path
) -> None:
    inbox, done = tmp_path / "ftp", tmp_path / "done"
    (inbox / "gate").mkdir(parents=True)
    (inbox / "street").mkdir()
    config = make_config(
        tmp_path,
        mosquitto,
        fake_onprem.url,
        sources={
            "folders": [
                {
                    "path": str(inbox),
                    "after": "move",
                    "move_to": str(done),
                    "settle": 0.2,
                    "poll_interval": 0.05,
                },
            ]
        },
        pipeline={"cooldown": 0, "metrics_interval": 0},
    )
    async with running(config) as service:
        (inbox / "gate" / "a.jpg").write_bytes(jpeg_bytes())
        (inbox / "street" / "b.jpg").write_bytes(jpeg_bytes())
        (inbox / "street" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
        (inbox / "notes.txt").write_text("ignored")
        (inbox / "top.jpg").write_bytes(jpeg_bytes())  # no camera folder: skipped
        await subscriber.wait_for("pb/plates", 2)
        await subscriber.wait_for("pb/errors")
        await until(
            lambda: (done / "gate" / "a.jpg").exists() and (done / "street" / "b.jpg").exists()
        )
        await until(lambda: (inbox / ".failed" / "street" / "broken.jpg").exists())
        # A file dropped later is read: the polls went on, and read nothing twice.
        (inbox / "gate" / "c.jpg").write_bytes(jpeg_bytes())
        await until(lambda: (done / "gate" / "c.jpg").exists())
        assert service.metrics["folder_files"] == 4
    assert len(fake_onprem.requests) == 3
    events = {
        m.json()["camera"]: m.json()
        for m in subscriber.on("pb/+/plate")
        if m.json()["source_event_id"] != "c.jpg"
    }
    assert set(events) == {"gate", "street"}
    assert events["gate"]["snapshot"] == {
        "kind": "file",
        "url": None,
        "topic": None,
        "path": str(done / "gate" / "a.jpg"),
        "saved": None,
    }
    assert (inbox / "top.jpg").exists()


async def test_folder_keeps_files_when_the_api_is_down_and_deletes_after_read(
    fake_onprem: FakePlateRecognizer, mosquitto: Mosquitto, subscriber: Subscriber, tmp_path: Path
) -> None:
    inbox = tmp_path / "ftp"
    inbox.mkdir()
    config = make_config(
        tmp_path,
        mosquitto,
        fake_onprem.url,
        sources={
            "folders": [{"path": str(inbox), "camera": "gate", "settle": 0, "poll_interval": 0.05}]
        },
        storage={"path": str(tmp_path / "state"), "save_snapshots": True},
    )
    fake_onprem.fail_next(503, times=2)
    async with running(config):
        (inbox / "first.jpg").write_bytes(jpeg_bytes())
        error = (await subscriber.wait_for("pb/errors"))[0].json()
        (inbox / "second.png").write_bytes(jpeg_bytes())
        event = (await subscriber.wait_for("pb/plates"))[0].json()
        await until(lambda: not (inbox / "second.png").exists())
        # Handled before the second file was even written: kept for a later try.
        assert (inbox / "first.jpg").exists()
        await until(
            lambda: event["snapshot"]["saved"] and Path(event["snapshot"]["saved"]).exists()
        )
    assert error["kind"] == "api_unavailable"
    assert event["source_event_id"] == "second.png"
    saved = await asyncio.to_thread(Path(event["snapshot"]["saved"]).read_bytes)
    assert saved[:3] == b"\xff\xd8\xff"


async def test_folder_file_read_during_shutdown_is_moved_before_the_service_stops(
    fake_onprem: FakePlateRecognizer,
    mosquitto: Mosquitto,
    subscriber: Subscriber,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The folder learns its read ended from a `JobDone` (its own sink, which the
    service stops after the last read): a read that finishes during the shutdown still
    moves its file, else the next start would read it again."""
    inbox, done = tmp_path / "ftp", tmp_path / "done"
    inbox.mkdir()
    caplog.set_level(logging.INFO, logger="bridge.service")
    release = asyncio.Event()  # the API answers only once the shutdown has begun

    async def held(request: Any) -> list[dict[str, Any]]:
        await release.wait()
        return [plate_result("ab12cde", score=0.95)]

    fake_onprem.responder = held
    config = make_config(
        tmp_path,
        mosquitto,
        fake_onprem.url,
        sources={
            "folders": [
                {
                    "path": str(inbox),
                    "camera": "gate",
                    "after": "move",
                    "move_to": str(done),
                    "settle": 0,
                    "poll_interval": 0.05,
                }
            ]
        },
        pipeline={"cooldown": 0, "metrics_interval": 0, "shutdown_timeout": 30},
    )
    async with running(config) as service:
        (inbox / "a.jpg").write_bytes(jpeg_bytes())
        await until(lambda: bool(fake_onprem.requests))
        service.stop()
        await until(lambda: "shutting down" in caplog.text)
        release.set()
    # Leaving `running` waited for the service to stop: no polling of the file since.
    assert (done / "a.jpg").exists()
    assert not (inbox / "a.jpg").exists()
    assert [m.json()["source_event_id"] for m in subscriber.on("pb/plates")] == ["a.jpg"]
