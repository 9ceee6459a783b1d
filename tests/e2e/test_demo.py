"""`plate-bridge demo` end to end, and the parts it is made of.

The slow tests run the command as the README's `scripts/demo` does (a subprocess, no
configuration, no API key) with mosquitto and with the embedded broker, stopping by
itself (`--once`), on SIGINT and on SIGTERM: the two real photos first (real plates read),
then the synthetic pictures. The others check the photos and the synthetic samples
against the real engine and the embedded broker against paho (MQTT 5 and 3.1.1).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.subscribeoptions import SubscribeOptions

from bridge.demo.mqtt_broker import EmbeddedBroker, topic_matches
from bridge.demo.photos import FOLDER, PHOTOS
from bridge.demo.runner import WATCHLIST, bridge_config, collect_pictures
from bridge.demo.samples import SCENES
from bridge.demo.viewer import format_event
from tests.conftest import REPO
from tests.e2e.processes import wait_until
from tests.mosquitto import find_mosquitto

PLATE_BRIDGE = [sys.executable, "-m", "bridge"]
SYNTHETIC = {scene.expected.upper() for scene in SCENES}  # AB12CDE, 7ABC123, BRA2E19
# Plates on the photos the local engine reads for certain: both of demo.jpg, and the two
# fully visible, straight-on plates of cars.jpg (the other two are read too, less surely).
REAL = {"BY649AG", "ZA834CO", "AB123CD", "EF668GH"}
EXPECTED = SYNTHETIC | REAL
MATCHES = {"AB12CDE": "MATCH Family car, Alice (exact)", "EF668GH": "MATCH Neighbour, Bob (exact)"}
PICTURES = len(PHOTOS) + len(SCENES)


class Demo:
    """`plate-bridge demo ...` in a subprocess; its output collected line by line."""

    def __init__(self, cwd: Path, *args: str) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(REPO)}
        env = {k: v for k, v in env.items() if not k.startswith("PLATE_BRIDGE_")}
        self.process = subprocess.Popen(
            [*PLATE_BRIDGE, "demo", "--no-broker-install", "--interval", "0.2", *args],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self.stderr = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def stdout(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, text: str, count: int = 1, within: float = 90.0) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if sum(text in line for line in self.lines) >= count:
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"no {count} x {text!r} in the demo's output:\n{self.report()}")

    def finish(self, within: float = 90.0) -> int:
        try:
            code = self.process.wait(within)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"the demo did not stop:\n{self.report()}") from None
        self._reader.join(5)
        assert self.process.stderr is not None
        self.stderr = self.process.stderr.read()
        return code

    def report(self) -> str:
        return f"--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}"

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def run_demo(tmp_path: Path) -> Iterator[type[Demo]]:
    started: list[Demo] = []

    class Started(Demo):
        def __init__(self, *args: str) -> None:
            super().__init__(tmp_path, *args)
            started.append(self)

    yield Started
    for demo in started:
        demo.kill()


def plate_lines(demo: Demo) -> dict[str, str]:
    """Live-view lines by plate."""
    found = {}
    for line in demo.lines:
        for plate in EXPECTED:
            if f"  {plate} " in line:
                found[plate] = line
    return found


def check_results(demo: Demo, output: Path) -> None:
    """The live view showed the real plates, then the synthetic ones, the watch-list
    matches (one on a photo, one synthetic), the annotated files and the summary."""
    lines = plate_lines(demo)
    assert set(lines) == EXPECTED, demo.report()
    order = [line for line in demo.lines if any(f"  {p} " in line for p in EXPECTED)]
    assert all(f"  {p} " not in order[0] for p in SYNTHETIC), "real photos come first"
    for plate, line in lines.items():
        if plate in MATCHES:
            assert MATCHES[plate] in line
        else:
            assert "MATCH" not in line, line  # AB-123-CD is not the family car's AB12 CDE
    events = [json.loads(line) for line in (output / "history.jsonl").read_text().splitlines()]
    plates = len(events)  # the engine may read a plate twice (demo.jpg has labels on it)
    assert plates >= len(EXPECTED)
    assert {event["camera"] for event in events} == {"parking", "driveway", "street"}
    for event in events:
        saved = Path(event["snapshot"]["saved"])
        assert saved.is_file(), saved
        assert saved.read_bytes()[:2] == b"\xff\xd8"  # a JPEG
        assert saved.suffixes[-1:] == [".jpg"]
        assert not saved.name.endswith(".jpg.jpg")  # the sample's own suffix is dropped
        assert os.path.relpath(saved, output.parent) in demo.stdout  # the view printed it
    matches = sum("MATCH" in line for line in demo.lines)
    assert f"stopped: {plates} plates read, {matches} watch-list matches, 0 errors." in demo.stdout
    assert f"({PICTURES} from this run" in demo.stdout  # annotated pictures, not plates
    assert "  annotated images: demo-output/snapshots/" in demo.stdout
    assert "  history:          demo-output/history.jsonl" in demo.stdout
    assert "Traceback" not in demo.stderr + demo.stdout


# -- the command, end to end -----------------------------------------------------------------


@pytest.mark.slow
def test_demo_with_mosquitto_reads_every_sample_and_stops_by_itself(
    run_demo: type[Demo], tmp_path: Path
) -> None:
    if find_mosquitto() is None:
        pytest.skip("mosquitto is not installed")
    demo = run_demo("--broker", "mosquitto", "--once")
    code = demo.finish()
    assert code == 0, demo.report()
    assert "broker:      mosquitto " in demo.stdout
    assert "engine:      http://127.0.0.1:" in demo.stdout
    check_results(demo, tmp_path / "demo-output")
    config = (tmp_path / "demo-output" / "config.yaml").read_text()
    assert "token" not in config  # no API key anywhere
    assert not list((tmp_path / "demo-output" / "inbox").rglob("*.jpg"))  # all read, moved
    assert len(list((tmp_path / "demo-output" / "read").rglob("*.jpg"))) == PICTURES
    assert f"Feeding {PICTURES} sample pictures (2 real photos, then 3 synthetic)" in demo.stdout


@pytest.mark.slow
def test_demo_with_the_embedded_broker_ends_cleanly_on_sigint(
    run_demo: type[Demo], tmp_path: Path
) -> None:
    demo = run_demo("--broker", "embedded")
    demo.wait_for("MATCH Family car")  # the last picture's match
    demo.wait_for("(all pictures fed")  # every plate is in by then
    # The page the demo announces shows what was read: the live list and the history.
    found = re.search(r"web page:\s+(http://127\.0\.0\.1:\d+/)", demo.stdout)
    assert found, demo.report()
    for page in ("", "history?plate=*"):  # the history is written in batches
        wait_until(
            lambda page=page: (
                "ab12cde" in httpx.get(found.group(1) + page, timeout=30).text.lower()
            ),
            within=30,
            what=f"AB12CDE on the page ./{page}",
        )
    demo.process.send_signal(signal.SIGINT)
    code = demo.finish()
    assert code == 0, demo.report()
    assert "broker:      embedded Python broker on 127.0.0.1:" in demo.stdout
    assert "stopping: finishing the reads in flight" in demo.stdout
    check_results(demo, tmp_path / "demo-output")


@pytest.mark.slow
def test_demo_reads_the_users_folder_and_ends_cleanly_on_sigterm(
    run_demo: type[Demo], tmp_path: Path
) -> None:
    photos = tmp_path / "my photos"
    (photos / "sub").mkdir(parents=True)
    (photos / "car.jpg").write_bytes(SCENES[0].jpeg())
    (photos / "sub" / "car.jpg").write_bytes(SCENES[1].jpeg())  # same name: renamed
    (photos / "notes.txt").write_text("not a picture")
    demo = run_demo(str(photos), "--output", "out", "--broker", "embedded")
    demo.wait_for("  photos  ", count=2)
    demo.process.send_signal(signal.SIGTERM)
    assert demo.finish() == 0, demo.report()
    assert f"Feeding 2 pictures from {photos}" in demo.stdout
    lines = plate_lines(demo)
    assert set(lines) == {"AB12CDE", "7ABC123"}
    assert "MATCH Family car" in lines["AB12CDE"]
    assert "  annotated images: out/snapshots/" in demo.stdout
    assert sorted(p.name for p in (tmp_path / "out" / "read").rglob("*.jpg")) == [
        "0002-car.jpg",
        "car.jpg",
    ]
    assert (photos / "car.jpg").is_file()  # the user's files are copied, never moved


@pytest.mark.slow
def test_demo_refuses_a_folder_without_pictures(run_demo: type[Demo], tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    demo = run_demo(str(tmp_path / "empty"), "--broker", "embedded")
    assert demo.finish() == 2
    assert "no pictures" in demo.stderr
    assert "Traceback" not in demo.stderr


# -- the parts ---------------------------------------------------------------------------------


def test_the_engine_reads_real_plates_on_the_shipped_photos() -> None:
    from plate_engine.recognizer import Recognizer

    recognizer = Recognizer(threads=1)
    read = {
        photo.name: {r.plate.upper() for r in recognizer.read(photo.jpeg())} for photo in PHOTOS
    }
    assert {"BY649AG", "ZA834CO"} <= read["demo.jpg"]
    assert {"AB123CD", "EF668GH"} <= read["cars.jpg"]


def test_the_photos_ship_with_their_licence_and_source() -> None:
    licence = (FOLDER / "LICENSE-parkpow.txt").read_text()
    assert "MIT License" in licence and "Marc Belmont" in licence
    readme = (FOLDER / "README.md").read_text()
    assert "parkpow/deep-license-plate-recognition" in readme
    for photo in PHOTOS:
        assert photo.path.is_file()
        assert f"`{photo.name}`" in readme
        assert photo.jpeg()[:2] == b"\xff\xd8"
    # Small enough for a repository: the 4K original ships downscaled.
    assert sum(photo.path.stat().st_size for photo in PHOTOS) < 1024 * 1024
    import tomllib

    package_data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "demo/photos/*" in package_data["package-data"]["bridge"]  # `pip install` has them


def test_the_engine_reads_every_synthetic_sample() -> None:
    from plate_engine.recognizer import Recognizer

    recognizer = Recognizer(threads=1)
    for scene in SCENES:
        reads = recognizer.read(scene.jpeg())
        assert [read.plate for read in reads] == [scene.expected], scene.name
        assert reads[0].score > 0.8


def test_samples_are_deterministic_and_one_matches_the_watch_list() -> None:
    assert SCENES[0].jpeg() == SCENES[0].jpeg()
    watched = {entry["plate"].replace(" ", "").lower() for entry in WATCHLIST}
    assert sum(scene.expected in watched for scene in SCENES) == 1
    assert {scene.region.split("-")[0] for scene in SCENES} == {"gb", "us", "br"}


def test_the_demo_config_is_valid_and_needs_no_key(tmp_path: Path) -> None:
    import yaml

    from bridge.config import parse_config

    data = bridge_config(tmp_path, "127.0.0.1", 1883, "http://127.0.0.1:8080")
    config = parse_config(yaml.safe_dump(data), "demo", env={})
    assert config.api.token is None
    assert config.storage.save_snapshots
    assert [entry.plate for entry in config.watchlist] == [e["plate"] for e in WATCHLIST]
    # The page is on, for this machine only: no token to set up.
    assert config.web is not None
    assert (config.web.host, config.web.port, config.web.token) == ("127.0.0.1", 8380, None)
    pictures = collect_pictures(None)
    assert [p.name for p in pictures] == [
        *(photo.name for photo in PHOTOS),
        *(scene.filename() for scene in SCENES),
    ]


def test_format_event_shows_plate_score_match_and_file() -> None:
    line = format_event(
        {
            "camera": "driveway",
            "read_time": "2024-12-06T19:11:01.312Z",
            "plate": "ab12cde",
            "score": 0.904,
            "watchlist": {"name": "Family car", "owner": "Alice", "exact": True},
            "snapshot": {"kind": "file", "path": "/in/x.jpg", "saved": "/out/x.jpg"},
        }
    )
    assert "driveway" in line and "AB12CDE" in line and "0.90" in line
    assert "MATCH Family car, Alice (exact)" in line and line.endswith("/out/x.jpg")
    line = format_event({"camera": "street", "plate": None, "snapshot": {"path": "/in/y.jpg"}})
    assert "no plate" in line and line.endswith("/in/y.jpg")
    line = format_event(
        {
            "camera": "gate",
            "plate": "a812c0e",
            "score": 0.8,
            "vehicle": {"type": "Sedan", "score": 0.6},
            "color": "red",
            "watchlist": {"name": "Family car", "kind": "lookalike", "lookalikes": 2},
            "snapshot": {},
        }
    )
    assert "red Sedan" in line and "MATCH Family car (look-alike x2)" in line


def test_topic_filters() -> None:
    assert topic_matches("a/+/c", "a/b/c")
    assert topic_matches("a/#", "a") and topic_matches("a/#", "a/b/c")
    assert not topic_matches("a/+", "a/b/c")
    assert not topic_matches("#", "$SYS/uptime") and topic_matches("$SYS/#", "$SYS/uptime")


def _until(condition: Callable[[], bool], what: str, within: float = 30.0) -> None:
    """Poll `condition` (set by paho's threads); no fixed waits, whatever the load."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {within:g} s"
        time.sleep(0.02)


def _exercise_broker(port: int) -> dict[str, list[tuple[str, bytes, int, bool]]]:
    got: dict[str, list[tuple[str, bytes, int, bool]]] = {"v5": [], "v311": []}
    subscribed: list[str] = []

    def client(name: str, protocol: MQTTProtocolVersion, **kwargs: object) -> paho.Client:
        c = paho.Client(CallbackAPIVersion.VERSION2, client_id=name, protocol=protocol)
        c.on_message = lambda _c, _u, m: got.setdefault(name, []).append(
            (m.topic, m.payload, m.qos, bool(m.retain))
        )
        c.on_subscribe = lambda *_args: subscribed.append(name)
        return c

    def topics(name: str) -> list[str]:
        return [m[0] for m in got[name]]

    subscriber = client("v5", MQTTProtocolVersion.MQTTv5)
    subscriber.connect("127.0.0.1", port)
    subscriber.loop_start()
    publisher = client("publisher", MQTTProtocolVersion.MQTTv5)
    publisher.will_set("demo/status", b"offline", qos=1, retain=True)
    publisher.connect("127.0.0.1", port)
    publisher.loop_start()
    try:
        publisher.publish("demo/status", b"online", qos=1, retain=True).wait_for_publish(30)
        options = SubscribeOptions(qos=1, retainHandling=SubscribeOptions.RETAIN_SEND_ON_SUBSCRIBE)
        subscriber.subscribe("demo/#", options=options)
        hidden = SubscribeOptions(qos=1, retainHandling=SubscribeOptions.RETAIN_DO_NOT_SEND)
        subscriber.subscribe("$share/group/other/+", options=hidden)
        _until(lambda: subscribed.count("v5") == 2, "both subscriptions acknowledged")
        for i in range(50):
            publisher.publish(f"demo/n/{i}", str(i).encode(), qos=1)
        publisher.publish("other/x", b"shared", qos=0)
        publisher.publish("demo/two", b"qos2", qos=2).wait_for_publish(30)
        _until(
            lambda: {"demo/n/49", "other/x", "demo/two"} <= set(topics("v5")),
            "every message delivered",
        )
        publisher.loop_stop()
        assert publisher._sock is not None
        publisher._sock.close()  # the connection drops without DISCONNECT: the will goes out
        _until(lambda: got["v5"][-1][:2] == ("demo/status", b"offline"), "the last will")
        old = client("v311", MQTTProtocolVersion.MQTTv311)
        old.connect("127.0.0.1", port)
        old.loop_start()
        old.subscribe("demo/status", qos=1)
        _until(lambda: bool(got["v311"]), "the retained will for a 3.1.1 client")
        old.disconnect()
        old.loop_stop()
    finally:
        subscriber.disconnect()
        subscriber.loop_stop()
        publisher.loop_stop()
    return got


def test_embedded_broker_speaks_mqtt5_and_311(socket_enabled: None) -> None:
    async def scenario() -> dict[str, list[tuple[str, bytes, int, bool]]]:
        broker = EmbeddedBroker()
        await broker.start()
        try:
            return await asyncio.to_thread(_exercise_broker, broker.port)
        finally:
            await broker.stop()

    got = asyncio.run(scenario())
    v5 = got["v5"]
    assert v5[0] == ("demo/status", b"online", 1, True)  # retained, sent on subscribe
    assert [m[1] for m in v5 if m[0].startswith("demo/n/")] == [str(i).encode() for i in range(50)]
    assert ("other/x", b"shared", 0, False) in v5  # $share/<group>/ filter
    assert ("demo/two", b"qos2", 1, False) in v5  # QoS 2 accepted, delivered at 1
    assert v5[-1] == ("demo/status", b"offline", 1, False)  # the last will
    assert got["v311"] == [("demo/status", b"offline", 1, True)]  # the will, retained
