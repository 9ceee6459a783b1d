"""The container image, built by `scripts/image` and started with buildah: a smoke test.

`scripts/image` builds `localhost/plate-bridge:<version>` from the repository's Dockerfile
(on a Debian base it makes with debootstrap when no image registry answers); the tests
run the image's own commands inside it with `buildah run --isolation chroot`, which shares
the host's network: the engine serves on loopback, the bridge reaches the test's
mosquitto on 127.0.0.1. They check the engine reads the demo photo, the bridge reads a
snapshot from MQTT through it, both answer the image's HEALTHCHECK command, and the image
runs as a non-root user with no compiler, pip or cache in it.

Skipped, saying why, only where buildah cannot run (not installed, or no permission for
its storage); `scripts/test` installs it with apt-get. Image size, build and start times
are printed (figures, not asserts).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as paho
import pytest
import pytest_socket
import yaml
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from bridge import __version__
from bridge.demo.photos import PHOTOS
from tests.conftest import REPO
from tests.mosquitto import Mosquitto, free_port

pytestmark = pytest.mark.slow

DEMO_PHOTO = PHOTOS[0]  # demo.jpg: BY649AG and ZA834CO
BUILD_TIMEOUT = 1800  # a fresh machine: apt-get, debootstrap and ~200 MB of wheels
# The commands docs/docker-and-addon.md shows for trying the image without Docker
# (tests/test_docker_docs.py checks the document shows exactly these).
RUN = ["buildah", "run", "--isolation", "chroot"]


def _say(config: pytest.Config, line: str) -> None:
    """A figure in the test log, shown even when output is captured."""
    capture = config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        print(f"\n[image] {line}", file=sys.stderr, flush=True)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    if "CONTAINERS_CONF" not in env:
        # The file scripts/image writes (no default ulimits: see there).
        conf = Path(env.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "plate-bridge"
        if (conf / "containers.conf").is_file():
            env["CONTAINERS_CONF"] = str(conf / "containers.conf")
    return env


def _buildah_problem() -> str | None:
    if shutil.which("buildah") is None:
        return "buildah is not installed (scripts/test installs it with apt-get)"
    if os.geteuid() != 0:
        return "buildah needs root here for its storage and chroot isolation"
    done = subprocess.run(
        ["buildah", "info"], capture_output=True, text=True, env=_env(), check=False, timeout=60
    )
    if done.returncode != 0:
        return f"buildah cannot run here: {done.stderr.strip()[-300:]}"
    return None


def _build(config: pytest.Config, *options: str) -> str:
    """`scripts/image [options] --print-name`: the image's name, once built."""
    problem = _buildah_problem()
    if problem:
        pytest.skip(problem)
    started = time.monotonic()
    try:
        done = subprocess.run(
            [str(REPO / "scripts" / "image"), *options, "--print-name"],
            capture_output=True,
            text=True,
            env=_env(),
            timeout=BUILD_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as err:
        pytest.fail(f"scripts/image took over {BUILD_TIMEOUT} s:\n{err.stderr}")
    assert done.returncode == 0, f"scripts/image failed:\n{done.stderr[-5000:]}"
    name = done.stdout.strip().splitlines()[-1]
    size = subprocess.run(
        ["buildah", "images", "--format", "{{.Size}}", name],
        capture_output=True,
        text=True,
        env=_env(),
        check=True,
    ).stdout.strip()
    took = time.monotonic() - started
    _say(config, f"{name}: {size}, {' '.join(['scripts/image', *options])} took {took:.0f} s")
    return name


@pytest.fixture(scope="module")
def image(request: pytest.FixtureRequest) -> str:
    return _build(request.config)


@pytest.fixture(scope="module")
def addon_image(request: pytest.FixtureRequest) -> str:
    return _build(request.config, "--addon")


@contextlib.contextmanager
def _working_container(image: str) -> Iterator[str]:
    name = f"plate-bridge-smoke-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        ["buildah", "from", "--name", name, image], env=_env(), check=True, capture_output=True
    )
    try:
        yield name
    finally:
        subprocess.run(["buildah", "rm", name], env=_env(), check=False, capture_output=True)


@pytest.fixture(scope="module")
def container(image: str) -> Iterator[str]:
    with _working_container(image) as name:
        yield name


def _image_config(image: str) -> dict[str, object]:
    out = subprocess.run(
        ["buildah", "inspect", "--type", "image", image],
        capture_output=True,
        text=True,
        env=_env(),
        check=True,
    ).stdout
    config: dict[str, object] = json.loads(out)["Docker"]["config"]
    return config


def _children(pid: int) -> list[int]:
    """Child processes of `pid`, of all its threads (Go forks from any of them)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(child) for child in (task / "children").read_text().split()]
    return sorted(found)


class InContainer:
    """One `buildah run` of a command in the container, its output in a file."""

    def __init__(self, container: str, log: Path, *command: str, options: tuple[str, ...] = ()):
        self.log = log
        self.command = [*RUN, *options, container, "--", *command]
        self._out = log.open("wb")
        self.process = subprocess.Popen(
            self.command, stdout=self._out, stderr=subprocess.STDOUT, env=_env()
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def main_pid(self) -> int | None:
        """The command's own process: the first under buildah's helpers (its PID 1)."""
        pid = self.process.pid
        while "buildah" in Path(f"/proc/{pid}/comm").read_text():  # memfd:buildah-chroot-…
            children = _children(pid)
            if not children:
                return None
            pid = children[0]
        return pid

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM to the command, as `docker stop` does (buildah does not forward it)."""
        if self.process.poll() is None:
            with contextlib.suppress(OSError):  # OSError: it ended meanwhile
                pid = self.main_pid()
                if pid is not None:
                    os.kill(pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._out.close()
        return self.process.returncode


def _wait(condition: object, what: str, within: float, proc: InContainer | None = None) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        if proc is not None and proc.process.poll() is not None:
            break
        time.sleep(0.2)
    detail = f"\n--- output ---\n{proc.output()}" if proc is not None else ""
    raise AssertionError(f"{what} within {within:g} s{detail}")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="module")
def engine(
    container: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[InContainer, str]]:
    pytest_socket.enable_socket()  # set up inside the first test's setup, sockets blocked
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("image") / "engine.log"
    started = time.monotonic()
    proc = InContainer(container, log, "plate-bridge", "engine", "--port", str(port))
    try:
        _wait(lambda: _answers(f"{url}/info/"), "the engine in the image did not answer", 120, proc)
        _say(
            request.config,
            f"engine in the image: /info/ answers {time.monotonic() - started:.1f} s "
            "after buildah run",
        )
        yield proc, url
    finally:
        proc.stop()


def _health(
    container: str, image: str, engine_url: str, *options: str
) -> subprocess.CompletedProcess[str]:
    """The image's own HEALTHCHECK command, run in the container."""
    health = _image_config(image)["Healthcheck"]
    assert isinstance(health, dict)
    test = health["Test"]
    assert test[0] == "CMD", test
    return subprocess.run(
        [
            *RUN,
            "--env",
            f"PLATE_BRIDGE_ENGINE_URL={engine_url}",
            *options,
            container,
            "--",
            *test[1:],
        ],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
        check=False,
    )


def _post_photo(url: str, data: bytes) -> dict[str, object]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="upload"; filename="demo.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        f"{url}/v1/plate-reader/",
        data=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        result: dict[str, object] = json.load(answer)
    return result


def test_the_image_runs_as_non_root_without_compilers_pip_or_caches(
    image: str, container: str
) -> None:
    config = _image_config(image)
    assert config["User"] == "plate"
    assert config["Entrypoint"] == ["plate-bridge"]
    assert config["Cmd"] == ["run", "-c", "/config/config.yaml"]
    done = subprocess.run(
        [
            *RUN,
            container,
            "--",
            "sh",
            "-c",
            "id -u; for tool in gcc cc c++ make pip pip3; do command -v $tool; done; "
            "python -m pip --version 2>/dev/null; plate-bridge --version",
        ],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
        check=False,
    )
    lines = done.stdout.split()
    assert lines[0] == "10001", done.stdout + done.stderr  # the user `plate`, not root
    assert lines[1:] == ["plate-bridge", __version__], f"a tool or pip is in the image: {lines[1:]}"
    leftovers = subprocess.run(
        [
            *RUN,
            "--user",
            "0:0",
            container,
            "--",
            "sh",
            "-c",
            "ls -d /root/.cache /opt/venv/lib/python3*/site-packages/pip /src 2>/dev/null; true",
        ],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
        check=False,
    ).stdout.split()
    assert leftovers == []


def test_the_engine_in_the_image_reads_the_demo_photo_over_loopback_and_is_healthy(
    image: str, container: str, engine: tuple[InContainer, str]
) -> None:
    _, url = engine
    result = _post_photo(url, DEMO_PHOTO.jpeg())
    plates = {str(read["plate"]).upper() for read in result["results"]}  # type: ignore[union-attr, index]
    assert {"BY649AG", "ZA834CO"} <= plates, result
    health = _health(container, image, url)
    assert health.returncode == 0, health.stdout + health.stderr
    assert f"healthy: engine at {url}" in health.stdout


def _bridge_config(directory: Path, broker: Mosquitto, engine_url: str, base: str) -> None:
    directory.mkdir()
    config = {
        "mqtt": {"host": broker.host, "port": broker.port, "client_id": base, "base_topic": base},
        "api": {"url": engine_url, "timeout": 60},
        "sources": {"snapshot_topics": [{"topic": f"{base}/{{camera}}/snapshot"}]},
        "storage": {"path": "/data", "save_snapshots": True},
        "homeassistant": {"enabled": False},
    }
    (directory / "config.yaml").write_text(yaml.safe_dump(config))
    # The bridge runs as `plate` (uid 10001): it must read what it is given.
    directory.chmod(0o755)
    (directory / "config.yaml").chmod(0o644)


def test_plate_bridge_run_in_the_image_reads_a_snapshot_and_answers_the_healthcheck(
    image: str,
    container: str,
    engine: tuple[InContainer, str],
    broker: Mosquitto,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    _, engine_url = engine
    base = f"smoke{uuid.uuid4().hex[:6]}"
    _bridge_config(tmp_path / "config", broker, engine_url, base)
    status: list[bytes] = []
    plates: list[dict[str, object]] = []
    client = paho.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    lock = threading.Lock()

    def on_message(_c: paho.Client, _u: object, message: paho.MQTTMessage) -> None:
        with lock:
            if message.topic == f"{base}/status":
                status.append(message.payload)
            else:
                plates.append(json.loads(message.payload))

    client.on_message = on_message
    client.connect(broker.host, broker.port)
    client.subscribe([(f"{base}/status", 1), (f"{base}/plates", 1)])
    client.loop_start()
    mount = ("--volume", f"{tmp_path / 'config'}:/config:ro")
    started = time.monotonic()
    bridge = InContainer(
        container,
        tmp_path / "bridge.log",
        "plate-bridge",
        "run",
        "-c",
        "/config/config.yaml",
        options=mount,
    )
    try:
        _wait(lambda: status[-1:] == [b"online"], "the bridge did not come online", 120, bridge)
        _say(
            request.config,
            f"bridge in the image: online {time.monotonic() - started:.1f} s after buildah run",
        )
        client.publish(f"{base}/gate/snapshot", DEMO_PHOTO.jpeg(), qos=1).wait_for_publish(10)
        _wait(
            lambda: {"BY649AG", "ZA834CO"} <= {str(p.get("plate")).upper() for p in plates},
            "no plate events for the snapshot",
            120,
            bridge,
        )
        assert all(event["camera"] == "gate" for event in plates)
        health = _health(container, image, engine_url, *mount)
        assert health.returncode == 0, health.stdout + health.stderr
        assert "healthy: engine at" in health.stdout
        assert "bridge of /config/config.yaml" in health.stdout
        code = bridge.stop()
        assert code == 0, bridge.output()
        _wait(lambda: status[-1:] == [b"offline"], "the bridge did not say offline", 30)
        health = _health(container, image, engine_url, *mount)
        assert health.returncode == 1
        assert f"unhealthy: bridge: {base}/status is 'offline'" in health.stderr
    finally:
        bridge.stop()
        client.loop_stop()
        client.disconnect()


# -- the add-on ---------------------------------------------------------------------------


def _options(**changes: object) -> dict[str, object]:
    manifest = yaml.safe_load((REPO / "addon" / "config.yaml").read_text())
    return {**manifest["options"], **changes}


def test_the_addon_image_maps_its_options_and_starts_the_bridge(
    addon_image: str, engine: tuple[InContainer, str], tmp_path: Path
) -> None:
    _, engine_url = engine
    data = tmp_path / "data"  # the Supervisor's /data: options.json in, config and state out
    data.mkdir()
    mount = ("--volume", f"{data}:/data")
    with _working_container(addon_image) as container:
        # Bad options: the add-on stops at once, naming the option.
        (data / "options.json").write_text(json.dumps(_options(api="cloud")))
        done = subprocess.run(
            [*RUN, *mount, container, "--", "/run.sh"],
            capture_output=True,
            text=True,
            env=_env(),
            timeout=120,
            check=False,
        )
        assert done.returncode != 0
        assert "plate-bridge add-on: api_token: needed when api is 'cloud'" in done.stderr
        assert not (data / "config.yaml").exists()
        # Good options (the engine of the fixture as an on-premise server): outside a
        # Supervisor the broker is the Mosquitto add-on's address, core-mosquitto.
        (data / "options.json").write_text(
            json.dumps(_options(api="server", api_url=engine_url, regions=["fr"]))
        )
        addon = InContainer(container, tmp_path / "addon.log", "/run.sh", options=mount)
        try:
            _wait(
                lambda: "broker core-mosquitto:1883" in addon.output(),
                "the add-on did not start the bridge",
                120,
                addon,
            )
            config = yaml.safe_load((data / "config.yaml").read_text())
            assert config["api"] == {"url": engine_url, "regions": ["fr"]}
            assert config["mqtt"]["host"] == "core-mosquitto"
            assert config["sources"]["snapshot_topics"] == [
                {"topic": "plate_bridge/{camera}/snapshot"}
            ]
            assert (data / "config.yaml").stat().st_mode & 0o777 == 0o600
        finally:
            code = addon.stop()
        assert code == 0, addon.output()
        assert "shutting down" in addon.output()
