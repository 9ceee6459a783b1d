"""The service end to end: a real mosquitto, the fake API, MQTT in and out."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.bridge.conftest import (
    Subscriber,
    handled,
    make_config,
    publish,
    running,
    taken_in,
    until,
)
from tests.fake_api.constants import NO_CREDITS_BODY
from tests.fake_api.images import jpeg_bytes, png_bytes
from tests.fake_api.server import FakePlateRecognizer
from tests.fake_api.shapes import default_results
from tests.mosquitto import Mosquitto

# Every key of a plate event (docs/bridge.md, "Plate event").
EVENT_KEYS = {
    "v",
    "id",
    "event_type",
    "camera",
    "source",
    "source_event_id",
    "read_by",
    "label",
    "time",
    "read_time",
    "plate",
    "score",
    "dscore",
    "candidates",
    "region",
    "box",
    "vehicle",
    "make",
    "model",
    "make_model_score",
    "color",
    "color_score",
    "orientation",
    "orientation_score",
    "watchlist",
    "snapshot",
    "extra",
}
ERROR_KEYS = {"v", "time", "kind", "message", "camera", "source", "source_event_id", "retryable"}


def plate_result(
    plate: str,
    box: tuple[int, int, int, int] = (143, 481, 282, 575),
    score: float = 0.9,
    candidates: tuple[str, ...] = (),
) -> dict[str, Any]:
    xmin, ymin, xmax, ymax = box
    return {
        "box": {"xmin": xmin, "ymin": ymin, "xmax": xmax, "ymax": ymax},
        "plate": plate,
        "region": {"code": "gb", "score": 0.8},
        "vehicle": {
            "score": 0.8,
            "type": "Sedan",
            "box": {"xmin": xmin - 50, "ymin": ymin - 300, "xmax": xmax + 50, "ymax": ymax + 50},
        },
        "score": score,
        "candidates": [{"score": score, "plate": plate}]
        + [{"score": 0.5, "plate": c} for c in candidates],
        "dscore": 0.95,
    }


def json_snapshot(**fields: Any) -> bytes:
    return json.dumps({"image": base64.b64encode(jpeg_bytes()).decode(), **fields}).encode()


async def test_snapshot_topic_publishes_documented_event(
    fake_onprem: FakePlateRecognizer,
    mosquitto: Mosquitto,
    subscriber: Subscriber,
    config_factory: Any,
) -> None:
    config = config_factory(
        fake_onprem.url,
        api={"regions": ["gb"], "mmc": True},
        cameras={"gate": {"regions": ["fr"]}},
        watchlist=[{"name": "Our car", "plate": "NHK 55Z", "owner": "Alice", "tags": ["gate"]}],
    )
    async with running(config) as service:
        publish(mosquitto, "pb/driveway/snapshot", jpeg_bytes())
        per_camera = await subscriber.wait_for("pb/driveway/plate")
        everything = await subscriber.wait_for("pb/plates")
        state = await subscriber.wait_for("pb/driveway/state")
        watch = await subscriber.wait_for("pb/watchlist")
        publish(mosquitto, "pb/gate/snapshot", png_bytes())
        await subscriber.wait_for("pb/gate/plate")
        assert service.metrics["plates_published"] == 2
    event = per_camera[0].json()
    assert set(event) == EVENT_KEYS
    assert everything[0].payload == per_camera[0].payload == watch[0].payload
    assert state[0].payload == per_camera[0].payload
    assert event["camera"] == "driveway"
    assert event["source"] == "mqtt"
    assert event["read_by"] == "engine"  # a local server: no API token
    assert event["plate"] == "nhk552"
    assert event["score"] == pytest.approx(0.904)
    assert event["region"] == {"code": "gb", "score": 0.747}
    assert event["box"] == {"xmin": 143, "ymin": 481, "xmax": 282, "ymax": 575}
    assert event["vehicle"]["type"] == "Sedan"
    assert (event["make"], event["model"], event["color"], event["orientation"]) == (
        "Riley",
        "RMF",
        "black",
        "Front",
    )
    assert event["watchlist"]["name"] == "Our car"
    assert event["watchlist"]["owner"] == "Alice"
    assert event["watchlist"]["tags"] == ["gate"]
    assert event["watchlist"]["distance"] > 0  # 5 read as 2: a cheap confusion
    assert event["snapshot"]["topic"] == "pb/driveway/snapshot"
    assert event["time"].endswith("Z")
    # Per-camera regions override the API's; the camera id and mmc are sent.
    first, second = fake_onprem.requests[0], fake_onprem.requests[1]
    assert (first.regions, first.camera_id, first.mmc) == (["gb"], "driveway", True)
    assert second.regions == ["fr"]
    # The retained state is what a new subscriber gets.
    late = Subscriber(mosquitto, ("pb/+/state", "pb/status")).start()
    try:
        states = await late.wait_for("pb/+/state", 2)
        assert all(m.retain for m in states)
        assert (await late.wait_for("pb/status"))[0].payload == b"offline"
    finally:
        late.stop()


async def test_json_payloads_and_errors(
    fake_onprem: FakePlateRecognizer,
    mosquitto: Mosquitto,
    subscriber: Subscriber,
    config_factory: Any,
) -> None:
    async def picture(request: web.Request) -> web.Response:
        return web.Response(body=jpeg_bytes(), content_type="image/jpeg")

    app = web.Application()
    app.router.add_get("/pic.jpg", picture)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    config = config_factory(
        fake_onprem.url,
        sources={
            "snapshot_topics": [
                {"topic": "pb/{camera}/snapshot", "allowed_hosts": ["127.0.0.1"]},
                {"topic": "cams/gate/jpeg", "camera": "gate"},
            ]
        },
        pipeline={"cooldown": 0, "metrics_interval": 0},
    )
    try:
        async with running(config) as service:
            publish(
                mosquitto, "pb/a/snapshot", json_snapshot(id="evt-1", time="2024-05-01T10:00:00Z")
            )
            publish(
                mosquitto,
                "pb/a/snapshot",
                json.dumps({"url": f"http://127.0.0.1:{port}/pic.jpg", "camera": "b"}),
            )
            publish(mosquitto, "cams/gate/jpeg", jpeg_bytes())
            publish(mosquitto, "pb/a/snapshot", b"not an image")
            publish(mosquitto, "pb/a/snapshot", b"{broken json")
            publish(mosquitto, "pb/a/snapshot", json.dumps({"url": "http://evil.example/x.jpg"}))
            publish(mosquitto, "pb/a/snapshot", b"\xff\xd8\xff\xe0corrupt jpeg")
            publish(mosquitto, "pb/a/snapshot", json_snapshot(id="evt-2"))  # still alive
            errors = await subscriber.wait_for("pb/errors", 4)
            await subscriber.wait_for("pb/plates", 4)
            assert service.metrics["payload_errors"] == 3
            assert service.metrics["image_errors"] == 1
    finally:
        await runner.cleanup()
    events = [m.json() for m in subscriber.on("pb/plates")]
    assert [
        (e["camera"], e["source_event_id"])
        for e in events
        if e["source_event_id"].startswith("evt")
    ] == [
        ("a", "evt-1"),
        ("a", "evt-2"),
    ]
    assert events[0]["time"] == "2024-05-01T10:00:00.000Z"
    assert {e["camera"] for e in events} == {"a", "b", "gate"}
    payloads = [m.json() for m in errors]
    assert all(set(p) == ERROR_KEYS for p in payloads)
    kinds = sorted(p["kind"] for p in payloads)
    assert kinds == ["image", "payload", "payload", "payload"]
    messages = " ".join(p["message"] for p in payloads)
    assert "neither a JPEG/PNG image nor a JSON object" in messages
    assert "invalid JSON" in messages
    assert "'evil.example' is not in allowed_hosts" in messages


async def test_zones_min_score_and_duplicates(
    fake_onprem: FakePlateRecognizer,
    mosquitto: Mosquitto,
    subscriber: Subscriber,
    config_factory: Any,
) -> None:
    fake_onprem.responder = lambda request: [
        plate_result("INSIDE1", box=(200, 200, 300, 240)),
        plate_result("OUTSIDE1", box=(700, 200, 800, 240)),
        plate_result("CLOCK1", box=(10, 10, 60, 30)),
        plate_result("WEAK1", box=(200, 300, 300, 340), score=0.3),
    ]
    config = config_factory(
        fake_onprem.url,
        cameras={
            "gate": {
                "zones": [[[0, 0], [500, 0], [500, 500], [0, 500]]],
                "ignore_zones": [
                    {"name": "clock", "points": [[0, 0], [100, 0], [100, 50], [0, 50]]}
                ],
                "min_score": 0.5,
                "cooldown": 300,
            }
        },
    )
    async with running(config) as service:
        for _ in range(3):
            publish(mosquitto, "pb/gate/snapshot", jpeg_bytes())
        await subscriber.wait_for("pb/gate/plate")
        await handled(service, 3)
        assert len(fake_onprem.requests) == 3
        assert service.metrics["outside_zones"] == 6
        assert service.metrics["below_min_score"] == 3
        assert service.metrics["duplicates_suppressed"] == 2
    assert [m.json()["plate"] for m in subscriber.on("pb/+/plate")] == ["INSIDE1"]


async def test_overload_keeps_the_newest_per_camera(
    fake_onprem: FakePlateRecognizer,
    mosquitto: Mosquitto,
    subscriber: Subscriber,
    config_factory: Any,
) -> None:
    # The API answers only once all six snapshots are in: the queue (2) must overflow,
    # however slowly this machine delivers them.
    release = asyncio.Event()

    async def held(request: Any) -> list[dict[str, Any]]:
        await release.wait()
        return default_results(request)

    fake_onprem.responder = held
    config = config_factory(
        fake_onprem.url,
        api={"concurrency": 1},
        pipeline={"queue_per_camera": 2, "cooldown": 0, "metrics_interval": 0},
    )
    async with running(config) as service:
        for n in range(6):
            publish(mosquitto, "pb/gate/snapshot", json_snapshot(id=f"n{n}"))
        await taken_in(service, 6)
        release.set()
        await handled(service, 6)
        dropped = service.metrics["dropped_camera_full"]
    ids = [m.json()["source_event_id"] for m in subscriber.on("pb/plates")]
    assert dropped == 6 - len(ids)
    assert dropped >= 2
    assert ids[-2:] == ["n4", "n5"]  # the newest survive


async def test_api_outage_then_recovery(
    fake_onprem: FakePlateRecognizer,
    mosquitto: Mosquitto,
    subscriber: Subscriber,
    config_factory: Any,
) -> None:
    fake_onprem.fail_next(503, times=2)  # retries=1: both attempts fail
    config = config_factory(fake_onprem.url, pipeline={"cooldown": 0, "metrics_interval": 0})
    async with running(config):
        publish(mosquitto, "pb/gate/snapshot", json_snapshot(id="first"))
        error = (await subscriber.wait_for("pb/errors"))[0].json()
        publish(mosquitto, "pb/gate/snapshot", json_snapshot(id="second"))
        event = (await subscriber.wait_for("pb/plates"))[0].json()
    assert error["kind"] == "api_unavailable"
    assert error["retryable"] is True
    assert error["source_event_id"] == "first"
    assert "503" in error["message"]
    assert event["source_event_id"] == "second"


async def test_throttled_lookup_is_retried(
    fake_onprem: FakePlateRecognizer,
    mosquitto: Mosquitto,
    subscriber: Subscriber,
    config_factory: Any,
) -> None:
    fake_onprem.fail_next(429, times=1)
    config = config_factory(fake_onprem.url)
    async with running(config) as service:
        publish(mosquitto, "pb/gate/snapshot", jpeg_bytes())
        await subscriber.wait_for("pb/plates", within=10)
        assert service.metrics["api_errors"] == 0
    assert [r.status for r in fake_onprem.requests] == [429, 200]


async def test_forbidden_pauses_reads_and_token_never_leaks(
    mosquitto: Mosquitto, subscriber: Subscriber, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "tok-SECRET-0123456789"
    caplog.set_level(logging.DEBUG)
    async with FakePlateRecognizer(mode="cloud", tokens=("another-token",)) as fake:
        config = make_config(
            tmp_path, mosquitto, fake.url, token=secret, api={"forbidden_pause": 60}
        )
        async with running(config) as service:
            publish(mosquitto, "pb/gate/snapshot", jpeg_bytes())
            await subscriber.wait_for("pb/errors", 2)  # the 403, then the pause
            publish(mosquitto, "pb/gate/snapshot", jpeg_bytes())
            await handled(service, 2)
            assert service.metrics["skipped_forbidden"] == 1
            assert service.pipeline.gate.paused == "forbidden"
        assert len(fake.requests) == 1  # the second read was not even tried
        assert fake.requests[0].token == secret  # it was sent, to the API only
    kinds = [m.json()["kind"] for m in subscriber.on("pb/errors")]
    assert kinds == ["forbidden", "forbidden"]
    for message in subscriber.messages:
        assert secret.encode() not in message.payload
    for record in caplog.records:
        assert secret not in record.getMessage()
        assert secret not in str(record.exc_info or "")


async def test_budget_guard_pauses_cloud_reads(
    mosquitto: Mosquitto, subscriber: Subscriber, tmp_path: Path
) -> None:
    async with FakePlateRecognizer(mode="cloud", total_calls=10, calls=7) as fake:
        config = make_config(
            tmp_path,
            mosquitto,
            fake.url,
            token="test-token",
            api={"budget_reserve": 1, "lookups_per_second": 100},
            pipeline={"cooldown": 0, "metrics_interval": 0},
        )
        async with running(config) as service:
            assert fake.statistics_requests == 1
            for n in range(4):
                publish(mosquitto, "pb/gate/snapshot", json_snapshot(id=f"n{n}"))
            budget = await subscriber.wait_for("pb/errors")
            await handled(service, 4)
            assert service.metrics["skipped_budget"] == 2
        assert fake.calls == 9  # one lookup kept in reserve
    assert len(subscriber.on("pb/plates")) == 2
    error = budget[0].json()
    assert error["kind"] == "budget"
    assert "9 of 10 lookups used" in error["message"]


async def test_no_credits_403_pauses(
    mosquitto: Mosquitto, subscriber: Subscriber, tmp_path: Path
) -> None:
    async with FakePlateRecognizer(mode="cloud") as fake:
        fake.fail_next(403, body=NO_CREDITS_BODY)
        config = make_config(
            tmp_path, mosquitto, fake.url, token="test-token", api={"lookups_per_second": 100}
        )
        async with running(config) as service:
            publish(mosquitto, "pb/gate/snapshot", jpeg_bytes())
            errors = await subscriber.wait_for("pb/errors", 2)
            assert service.pipeline.gate.paused == "forbidden"
    assert errors[0].json()["kind"] == "no_credits"


async def test_graceful_shutdown_finishes_reads_in_flight(
    fake_onprem: FakePlateRecognizer,
    mosquitto: Mosquitto,
    subscriber: Subscriber,
    config_factory: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bridge.service")
    release = asyncio.Event()  # the API answers only once the shutdown has begun

    async def held(request: Any) -> list[dict[str, Any]]:
        await release.wait()
        return default_results(request)

    fake_onprem.responder = held
    config = config_factory(
        fake_onprem.url, api={"concurrency": 1}, pipeline={"cooldown": 0, "metrics_interval": 0}
    )
    async with running(config) as service:
        publish(mosquitto, "pb/gate/snapshot", json_snapshot(id="a"))
        publish(mosquitto, "pb/gate/snapshot", json_snapshot(id="b"))
        await taken_in(service, 2)
        await until(lambda: bool(fake_onprem.requests))
        assert not subscriber.on("pb/plates")
        service.stop()
        await until(lambda: "shutting down" in caplog.text)
        release.set()
    # Leaving `running` stopped the service: both reads were finished and published.
    assert sorted(m.json()["source_event_id"] for m in subscriber.on("pb/plates")) == ["a", "b"]
    assert subscriber.on("pb/status")[-1].payload == b"offline"
    assert len(service.outbox) == 0


async def test_shared_subscription_splits_the_work(
    fake_onprem: FakePlateRecognizer, mosquitto: Mosquitto, subscriber: Subscriber, tmp_path: Path
) -> None:
    def config(name: str) -> Any:
        return make_config(
            tmp_path / name,
            mosquitto,
            fake_onprem.url,
            mqtt={"shared_group": "readers", "client_id": name},
            pipeline={"cooldown": 0, "metrics_interval": 0, "queue_per_camera": 20},
        )

    async with running(config("one")) as one, running(config("two")) as two:
        for n in range(10):
            publish(mosquitto, "pb/gate/snapshot", json_snapshot(id=f"n{n}"))
        await subscriber.wait_for("pb/plates", 10)
        await until(lambda: one.metrics["received"] + two.metrics["received"] >= 10)
        assert await one.pipeline.drain(60) and await two.pipeline.drain(60)
        counts = (one.metrics["lookups"], two.metrics["lookups"])
    ids = sorted(m.json()["source_event_id"] for m in subscriber.on("pb/plates"))
    assert ids == sorted(f"n{n}" for n in range(10))  # each exactly once
    assert sum(counts) == 10
    assert min(counts) > 0  # both did some


async def test_camera_disabled_and_retained_inputs_ignored(
    fake_onprem: FakePlateRecognizer,
    mosquitto: Mosquitto,
    subscriber: Subscriber,
    config_factory: Any,
) -> None:
    publish(mosquitto, "pb/gate/snapshot", jpeg_bytes(), retain=True)  # an old picture
    config = config_factory(fake_onprem.url, cameras={"off": {"enabled": False}})
    async with running(config) as service:
        publish(mosquitto, "pb/off/snapshot", jpeg_bytes())
        publish(mosquitto, "pb/gate/snapshot", json_snapshot(id="live"))
        events = await subscriber.wait_for("pb/plates")
        assert service.metrics["skipped_camera_disabled"] == 1
    assert [e.json()["source_event_id"] for e in events] == ["live"]
    assert len(fake_onprem.requests) == 1


async def test_metrics_and_no_plate_events(
    fake_onprem: FakePlateRecognizer,
    mosquitto: Mosquitto,
    subscriber: Subscriber,
    config_factory: Any,
) -> None:
    fake_onprem.responder = lambda request: []  # nothing in the picture
    config = config_factory(
        fake_onprem.url, pipeline={"metrics_interval": 0.2, "publish_no_plate": True}
    )
    async with running(config):
        publish(mosquitto, "pb/gate/snapshot", json_snapshot(id="empty"))
        event = (await subscriber.wait_for("pb/gate/plate"))[0].json()
        await until(
            lambda: any(
                m.json()["counters"].get("reads_without_plate") for m in subscriber.on("pb/metrics")
            )
        )
    assert event["plate"] is None
    assert event["source_event_id"] == "empty"
    assert not subscriber.on("pb/gate/state")  # the last *plate* stays the state
    metrics = subscriber.on("pb/metrics")[-1].json()
    assert metrics["counters"]["lookups"] == 1
    assert metrics["gauges"]["queue_depth"] == 0
    assert metrics["overhead"]["count"] == 1
    assert metrics["budget"]["paused"] is None


def _certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A throw-away CA and a server certificate for 127.0.0.1."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)

    def build(subject: str, issuer: x509.Name | None, key: Any, signer: Any, ca: bool) -> Any:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
        builder = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(issuer or name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False,
            )
        return builder.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = build("test CA", None, ca_key, ca_key, True)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = build("127.0.0.1", ca.subject, key, ca_key, False)
    paths = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


@pytest.mark.slow
async def test_tls_broker(fake_onprem: FakePlateRecognizer, tmp_path: Path) -> None:
    cafile, certfile, keyfile = _certificates(tmp_path)
    with Mosquitto(tls=(cafile, certfile, keyfile)) as broker:
        config = make_config(
            tmp_path, broker, fake_onprem.url, mqtt={"tls": {"ca_file": str(cafile)}}
        )
        async with running(config) as service:
            assert service.link.connected
        # Without our CA the server certificate is refused: never connected.
        config = make_config(tmp_path, broker, fake_onprem.url, mqtt={"tls": {"enabled": True}})
        from bridge.service import BridgeService

        service = BridgeService(config)
        task = asyncio.create_task(service.run(install_signals=False))
        await asyncio.wait_for(service.started.wait(), 5)
        assert not await service.link.wait_connected(1.5)
        service.stop()
        await asyncio.wait_for(task, 10)


async def test_one_rate_limit_for_all_cameras(
    fake_onprem: FakePlateRecognizer,
    mosquitto: Mosquitto,
    subscriber: Subscriber,
    config_factory: Any,
) -> None:
    config = config_factory(
        fake_onprem.url,
        api={"lookups_per_second": 2, "concurrency": 4},
        pipeline={"cooldown": 0, "metrics_interval": 0},
    )
    async with running(config):
        for n in range(6):
            publish(mosquitto, f"pb/cam{n % 3}/snapshot", json_snapshot(id=f"n{n}"))
        await subscriber.wait_for("pb/plates", 6)
    arrivals = sorted(r.received_at for r in fake_onprem.requests)
    assert len(arrivals) == 6
    # 2/s over the three cameras together: six lookups span at least 2.5 s (a limit per
    # camera would allow two each at once: ~0.5 s). Compared over the whole run, not gap
    # by gap, so a request delayed on a busy machine cannot fail the test.
    assert arrivals[-1] - arrivals[0] >= 1.5


# -- the pipeline and its sinks ---------------------------------------------------------------


class _Recorder:
    """A sink that keeps every notice (the protocol's smallest implementation)."""

    def __init__(self) -> None:
        self.notices: list[Any] = []

    async def start(self) -> None:
        return None

    def handle(self, notice: Any) -> None:
        self.notices.append(notice)

    async def stop(self) -> None:
        return None


class _Broken(_Recorder):
    def handle(self, notice: Any) -> None:
        raise RuntimeError("a broken output")


async def test_sinks_get_typed_reads_repeats_and_errors(
    fake_onprem: FakePlateRecognizer, tmp_path: Path
) -> None:
    """Every sink gets the camera, then one `Read` per picture (a repeat within the
    cool-down as such, not published) and typed error events, and a `JobDone` when each
    job is over; a sink that fails does not cost the others anything. A picture that
    cannot be fetched (HTTP 404 from the URL a job names) is a non-retryable error."""
    import httpx

    from bridge.events import ErrorEvent, PlateEvent, ReadContext, SnapshotRef
    from bridge.jobs import JobDone, Picture, PictureBytes, UrlRequest
    from bridge.metrics import Metrics
    from bridge.pipeline import Job, Pipeline
    from bridge.sinks.base import CameraSeen, Read
    from bridge.sources.pictures import UrlFetcher
    from platereader import PlateReader

    fake_onprem.responder = lambda request: [plate_result("ab12cde", score=0.95)]
    no_broker: Any = type("NoBroker", (), {"host": "127.0.0.1", "port": 1})()
    config = make_config(tmp_path, no_broker, fake_onprem.url)
    recorder = _Recorder()
    async with httpx.AsyncClient() as session:
        reader = PlateReader(fake_onprem.url, None, session=session, retries=0)
        missing = f"{fake_onprem.url}/no-such-picture.jpg"
        pipeline = Pipeline(
            config,
            reader,
            Metrics(),
            sinks=[_Broken(), recorder],
            fetchers={"url": UrlFetcher(session)},
        )
        await pipeline.start()
        try:

            def job(fails: bool = False) -> Job:
                picture: Picture = (
                    UrlRequest(missing, 10**6) if fails else PictureBytes(jpeg_bytes())
                )

                context = ReadContext(
                    camera="gate",
                    source="mqtt",
                    source_event_id=None,
                    time=datetime.now(UTC),
                    snapshot=SnapshotRef(kind="mqtt", topic="pb/gate/snapshot"),
                )
                return Job(camera="gate", key=None, context=context, picture=picture)

            for fails in (False, False, True):
                pipeline.submit(job(fails))
                assert await pipeline.drain(30)
        finally:
            await pipeline.stop(10)
    done = [notice for notice in recorder.notices if isinstance(notice, JobDone)]
    assert [d.outcome.status for d in done] == ["read", "read", "error"]
    assert done[2].outcome.retryable is False
    seen, first, second, error = [n for n in recorder.notices if not isinstance(n, JobDone)]
    assert seen == CameraSeen("gate")
    assert isinstance(first, Read) and isinstance(second, Read)
    [event] = first.events
    assert isinstance(event, PlateEvent)
    assert (event.plate, event.event_type, first.repeats) == ("ab12cde", "plate_detected", ())
    assert second.events == ()
    assert [repeat.plate for repeat in second.repeats] == ["ab12cde"]
    assert first.picture is not None
    assert first.picture.annotated() is first.picture.annotated()  # drawn once per read
    assert first.picture.annotated()[:3] == b"\xff\xd8\xff"
    assert isinstance(error, ErrorEvent)
    assert (error.kind, error.camera, error.source, error.retryable) == (
        "snapshot",
        "gate",
        "mqtt",
        False,
    )
