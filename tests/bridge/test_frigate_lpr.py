"""Frigate's own plate reads (0.16+ LPR): a lookup only where it adds something.

Real mosquitto, the bridge as in production, the fake API and a fake Frigate
HTTP API. Waits that must not expire during a test are 20 s (the maximum);
waits that must expire are 0.2 s, and the test polls for the outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from bridge.history import Query, query
from bridge.service import BridgeService
from tests.bridge.conftest import Subscriber, make_config, publish, running, until
from tests.bridge.fake_frigate import FakeFrigate, frigate_event, lpr_update
from tests.bridge.test_service import plate_result
from tests.fake_api.server import FakePlateRecognizer
from tests.mosquitto import Mosquitto

WATCHED = [{"name": "Our car", "plate": "AB12 CDE", "owner": "Alice"}]
LONG_WAIT = 20.0  # never over during a test
SHORT_WAIT = 0.2
LPR_TOPIC = "frigate/tracked_object_update"
DRIVEWAY = frozenset({"driveway"})  # a camera Frigate reads plates on


@contextlib.asynccontextmanager
async def lpr_bridge(
    tmp_path: Path,
    broker: Mosquitto,
    api_url: str,
    *,
    frigate_version: str = "0.16.0",
    lpr_cameras: frozenset[str] = frozenset(),
    lpr: dict[str, Any] | None = None,
    **sections: Any,
) -> AsyncIterator[tuple[FakeFrigate, BridgeService]]:
    """A fake Frigate reading plates on `lpr_cameras`, and the bridge on it, running
    (with `lpr_cameras`, once the bridge has learned them from Frigate's config)."""
    async with FakeFrigate(frigate_version) as frigate:
        frigate.lpr_cameras = set(lpr_cameras)
        config = make_config(
            tmp_path,
            broker,
            api_url,
            sources={"frigate": {"url": frigate.url, "lpr": {"wait": LONG_WAIT, **(lpr or {})}}},
            pipeline={"cooldown": 0, "metrics_interval": 0},
            **sections,
        )
        async with running(config) as service:
            if lpr_cameras:
                assert service.frigate is not None
                await asyncio.wait_for(service.frigate.lpr_checked.wait(), 10)
            yield frigate, service


def send_event(broker: Mosquitto, kind: str, event_id: str, **fields: Any) -> None:
    """One `frigate/events` message (see `frigate_event`)."""
    publish(broker, "frigate/events", frigate_event(kind, event_id, **fields))


async def test_confident_frigate_read_is_published_without_a_lookup(
    fake_onprem: FakePlateRecognizer, mosquitto: Mosquitto, subscriber: Subscriber, tmp_path: Path
) -> None:
    async with lpr_bridge(
        tmp_path,
        mosquitto,
        fake_onprem.url,
        lpr_cameras=DRIVEWAY,
        watchlist=WATCHED,
        storage={"path": str(tmp_path / "state"), "save_snapshots": True},
    ) as (frigate, service):
        send_event(mosquitto, "new", "ours-1", plate="AB12CDE", plate_score=0.95)
        [watched] = [m.json() for m in await subscriber.wait_for("pb/watchlist")]
        # Frigate's read of a stranger arrives on tracked_object_update while the
        # lookup for the car is held back (Frigate reads plates on this camera).
        send_event(mosquitto, "new", "other-1", plate=None)
        await until(lambda: service.metrics["frigate_lpr_waiting_for_frigate"] == 1)
        publish(mosquitto, LPR_TOPIC, lpr_update("other-1", "XY99ZZZ", 0.93))
        await subscriber.wait_for("pb/driveway/plate", count=2)
        await subscriber.wait_for("pb/driveway/image")
        # Later messages of a car Frigate read cost nothing either.
        send_event(mosquitto, "update", "ours-1", snapshot_time=101, box=(400, 100, 700, 300))
        send_event(mosquitto, "end", "ours-1", snapshot_time=101)
        await until(lambda: "ours-1" not in service.frigate.tracker)
        await service.pipeline.drain(5)
        assert service.metrics["frigate_lpr_frigate_read"] == 2
        assert service.metrics["lookups"] == 0
    assert fake_onprem.requests == []
    events = [m.json() for m in subscriber.on("pb/driveway/plate")]
    stranger = events[1]
    assert (watched["plate"], watched["read_by"], watched["source"]) == (
        "AB12CDE",
        "frigate",
        "frigate",
    )
    assert watched["event_type"] == "watched_plate"
    assert watched["watchlist"]["name"] == "Our car"
    assert watched["score"] == 0.95
    assert watched["extra"]["frigate"]["recognized_license_plate"] == "AB12CDE"
    assert (stranger["plate"], stranger["read_by"]) == ("XY99ZZZ", "frigate")
    assert stranger["event_type"] == "unknown_plate"
    # The snapshot is still Frigate's picture, saved and recorded.
    assert "/api/events/ours-1/snapshot.jpg" in frigate.snapshot_requests()
    assert watched["snapshot"]["saved"].endswith(".jpg")
    rows = await asyncio.to_thread(query, tmp_path / "state" / "history.sqlite3", Query())
    assert sorted(row["plate"] for row in rows) == ["AB12CDE", "XY99ZZZ"]
    # No write-back of what Frigate holds: only our watch-list name, as its sub label.
    assert frigate.bodies("sub_label") == [{"subLabel": "Our car", "subLabelScore": 0.95}]
    assert frigate.bodies("recognized_license_plate") == []


async def test_weak_frigate_read_is_looked_up_after_the_wait(
    fake_onprem: FakePlateRecognizer, mosquitto: Mosquitto, subscriber: Subscriber, tmp_path: Path
) -> None:
    fake_onprem.responder = lambda request: [plate_result("AB12CDE", score=0.95)]
    async with lpr_bridge(
        tmp_path, mosquitto, fake_onprem.url, lpr_cameras=DRIVEWAY, lpr={"wait": SHORT_WAIT}
    ) as (frigate, service):
        # Below lpr.min_score (0.9): held, then looked up.
        send_event(mosquitto, "new", "weak-1", plate="AB12CDF", plate_score=0.8)
        [event] = [m.json() for m in await subscriber.wait_for("pb/driveway/plate")]
        # No read by Frigate at all on a camera it reads plates on: the same.
        send_event(mosquitto, "new", "none-1", plate=None)
        await subscriber.wait_for("pb/driveway/plate", count=2)
        await service.pipeline.drain(5)
        assert service.metrics["frigate_lpr_waiting_for_frigate"] == 2
        assert service.metrics["frigate_lpr_frigate_score_low"] == 1
        assert service.metrics["frigate_lpr_no_frigate_read"] == 1
    assert len(fake_onprem.requests) == 2
    assert (event["plate"], event["read_by"], event["source"]) == ("AB12CDE", "engine", "frigate")
    # Frigate held another plate (AB12CDF): ours is written back. For "none-1" too.
    assert [
        body["recognizedLicensePlate"] for body in frigate.bodies("recognized_license_plate")
    ] == [
        "AB12CDE",
        "AB12CDE",
    ]


async def test_no_write_back_of_the_plate_frigate_holds(
    fake_onprem: FakePlateRecognizer, mosquitto: Mosquitto, subscriber: Subscriber, tmp_path: Path
) -> None:
    fake_onprem.responder = lambda request: [plate_result("ab12cde", score=0.95)]
    # With mmc, Frigate's confident read is looked up too.
    async with lpr_bridge(
        tmp_path, mosquitto, fake_onprem.url, lpr={"wait": SHORT_WAIT}, api={"mmc": True}
    ) as (frigate, service):
        send_event(mosquitto, "new", "held-1", plate="AB12-CDE", plate_score=0.95)
        await subscriber.wait_for("pb/driveway/plate")
        await service.pipeline.drain(5)
    assert len(fake_onprem.requests) == 1
    assert frigate.bodies("recognized_license_plate") == []
    assert frigate.bodies("sub_label") == []  # it would only repeat Frigate's plate


async def test_mmc_looks_up_even_a_confident_frigate_read(
    fake_onprem: FakePlateRecognizer, mosquitto: Mosquitto, subscriber: Subscriber, tmp_path: Path
) -> None:
    fake_onprem.responder = lambda request: [plate_result("AB12CDE", score=0.95)]
    async with lpr_bridge(
        tmp_path, mosquitto, fake_onprem.url, lpr_cameras=DRIVEWAY, api={"mmc": True}
    ) as (_frigate, service):
        send_event(mosquitto, "new", "mmc-1", plate="AB12CDE", plate_score=0.97)
        # Looked up at once: no wait (20 s) for a read that would not be enough.
        [event] = [m.json() for m in await subscriber.wait_for("pb/driveway/plate")]
        assert service.metrics["frigate_lpr_mmc"] == 1
        assert service.metrics["frigate_lpr_frigate_read"] == 0
    assert [request.mmc for request in fake_onprem.requests] == [True]
    assert event["read_by"] == "engine"


async def test_confirm_watched_looks_up_before_a_watched_plate_counts(
    fake_onprem: FakePlateRecognizer, mosquitto: Mosquitto, subscriber: Subscriber, tmp_path: Path
) -> None:
    fake_onprem.responder = lambda request: [plate_result("AB12CDE", score=0.93)]
    async with lpr_bridge(
        tmp_path,
        mosquitto,
        fake_onprem.url,
        lpr_cameras=DRIVEWAY,
        lpr={"confirm_watched": True},
        watchlist=WATCHED,
    ) as (_frigate, service):
        send_event(mosquitto, "new", "ours-1", plate="AB12CDE", plate_score=0.96)
        [watched] = [m.json() for m in await subscriber.wait_for("pb/watchlist")]
        # A plate not on the watch list needs no second opinion.
        send_event(mosquitto, "new", "other-1", plate="XY99ZZZ", plate_score=0.96)
        await subscriber.wait_for("pb/driveway/plate", count=2)
        await service.pipeline.drain(5)
        assert service.metrics["frigate_lpr_confirm_watched"] == 1
    assert len(fake_onprem.requests) == 1
    assert (watched["read_by"], watched["event_type"]) == ("engine", "watched_plate")
    stranger = subscriber.on("pb/driveway/plate")[1].json()
    assert (stranger["plate"], stranger["read_by"]) == ("XY99ZZZ", "frigate")
    assert subscriber.on("pb/watchlist") and len(subscriber.on("pb/watchlist")) == 1


async def test_frigate_015_is_read_at_once_as_before(
    fake_onprem: FakePlateRecognizer, mosquitto: Mosquitto, subscriber: Subscriber, tmp_path: Path
) -> None:
    fake_onprem.responder = lambda request: [plate_result("AB12CDE")]
    # Frigate reads plates on the driveway, but 0.15's config has no `lpr`: not learned.
    async with lpr_bridge(
        tmp_path, mosquitto, fake_onprem.url, frigate_version="0.15.1", lpr_cameras=DRIVEWAY
    ) as (frigate, service):
        send_event(mosquitto, "new", "old-1")
        # Within the default 10 s, well before lpr.wait (20 s): nothing was held.
        [event] = [m.json() for m in await subscriber.wait_for("pb/driveway/plate")]
        assert service.metrics["frigate_lpr_waiting_for_frigate"] == 0
        assert service.metrics["frigate_lpr_camera_without_lpr"] == 1
    assert frigate.config_requests == 1
    assert len(fake_onprem.requests) == 1
    assert (event["read_by"], event["source"]) == ("engine", "frigate")


async def test_lpr_off_ignores_frigate_reads(
    fake_onprem: FakePlateRecognizer, mosquitto: Mosquitto, subscriber: Subscriber, tmp_path: Path
) -> None:
    fake_onprem.responder = lambda request: [plate_result("AB12CDE")]
    async with lpr_bridge(tmp_path, mosquitto, fake_onprem.url, lpr={"mode": "off"}) as (
        frigate,
        service,
    ):
        send_event(mosquitto, "new", "off-1", plate="AB12CDE", plate_score=0.99)
        await subscriber.wait_for("pb/driveway/plate")
        assert service.metrics["frigate_lpr_frigate_read"] == 0
    assert frigate.config_requests == 0
    assert len(fake_onprem.requests) == 1


async def test_a_car_gone_or_a_shutdown_releases_the_held_lookup(
    fake_onprem: FakePlateRecognizer, mosquitto: Mosquitto, subscriber: Subscriber, tmp_path: Path
) -> None:
    fake_onprem.responder = lambda request: [plate_result("AB12CDE")]
    async with lpr_bridge(tmp_path, mosquitto, fake_onprem.url, lpr={"mode": "on"}) as (
        _frigate,
        service,
    ):
        send_event(mosquitto, "new", "gone-1", plate=None)
        await until(lambda: service.metrics["frigate_lpr_waiting_for_frigate"] == 1)
        # The car left: Frigate will read nothing more, so the lookup goes ahead now.
        send_event(mosquitto, "end", "gone-1", plate=None)
        await subscriber.wait_for("pb/driveway/plate")
        await until(lambda: "gone-1" not in service.frigate.tracker)
        # Another car still held when the bridge stops is read, not lost.
        send_event(mosquitto, "new", "late-1", plate=None)
        await until(lambda: service.metrics["frigate_lpr_waiting_for_frigate"] == 2)
        # Garbage on tracked_object_update: an error event, and the service goes on.
        publish(mosquitto, LPR_TOPIC, b'{"type": "lpr", "id": "x", "camera": 5}')
        await subscriber.wait_for("pb/errors")
    assert len(fake_onprem.requests) == 2
    assert len(subscriber.on("pb/driveway/plate")) == 2
    error = subscriber.on("pb/errors")[0].json()
    assert (error["kind"], error["source"]) == ("payload", "frigate")
    assert "camera must be a non-empty string" in error["message"]
