"""Fixtures of the end-to-end tests: real processes, each started once.

Package-scoped (shared by the tests of `tests/e2e/`), started on first use and stopped
after the last of them, so nothing keeps running while the other trees' tests do: a
mosquitto broker, the fake Plate Recognizer API (`python -m tests.fake_api`, cloud mode),
the local engine (`plate-bridge engine`), Home Assistant (`hass`, onboarded, its MQTT
integration connected to the broker) and the Node-RED install. Per test: the bridge
(`plate-bridge run`), Node-RED running a flow, and the HTTP stand-ins (Frigate, the gate).

When a test fails, the logs of the processes it used are attached to its report
(`home-assistant.log`, the bridge's and Node-RED's output).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import subprocess
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import pytest
import pytest_socket

from tests.conftest import REPO
from tests.e2e.helpers import BridgeRunner, NodeRedRunner
from tests.e2e.homeassistant import HomeAssistantProcess
from tests.e2e.processes import BIN, PYTHON, ManagedProcess
from tests.mosquitto import Mosquitto, find_mosquitto

# Logs shown in a failing test's report: fixtures append (title, callable) here.
_DIAGNOSTICS_KEY = pytest.StashKey[list[tuple[str, Callable[[], str]]]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        for title, source in item.stash.get(_DIAGNOSTICS_KEY, []):
            try:
                report.sections.append((title, source()))
            except Exception as exc:
                report.sections.append((title, f"(could not read: {exc!r})"))
    return report


@pytest.fixture
def diagnostics(request: pytest.FixtureRequest) -> Callable[[str, Callable[[], str]], None]:
    """`diagnostics(title, source)`: attach `source()` to the report if the test fails."""
    sources = request.node.stash.setdefault(_DIAGNOSTICS_KEY, [])

    def add(title: str, source: Callable[[], str]) -> None:
        sources.append((title, source))

    return add


@pytest.fixture(autouse=True)
def _sockets(socket_enabled: None) -> None:
    """The Home Assistant plugin blocks sockets in the test process; these tests need them."""
    pytest_socket.enable_socket()


@contextlib.contextmanager
def quiet_http_logs() -> Iterator[None]:
    """One INFO line (and a dozen DEBUG ones) per REST call would bury a failure's report."""
    loggers = [logging.getLogger(name) for name in ("httpx", "httpcore")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


@pytest.fixture(autouse=True)
def _quiet_httpx() -> Iterator[None]:
    with quiet_http_logs():
        yield


def _enable_sockets_for_shared_setup() -> None:
    # Shared fixtures are set up inside the first test's setup, after the plugin has
    # disabled sockets for it: enable them before touching the network.
    pytest_socket.enable_socket()


@pytest.fixture(scope="package")
def e2e_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="package")
def broker() -> Iterator[Mosquitto]:
    """One mosquitto for the e2e tests; tests keep apart by their own topics."""
    if find_mosquitto() is None:
        pytest.skip("mosquitto is not installed")
    _enable_sockets_for_shared_setup()
    with Mosquitto() as mosquitto:
        yield mosquitto


@pytest.fixture(scope="package")
def _fake_api(e2e_dir: Path) -> Iterator[tuple[ManagedProcess, str]]:
    process = ManagedProcess(
        "fake-api",
        [PYTHON, "-m", "tests.fake_api", "--mode", "cloud"],
        e2e_dir / "fake-api.log",
    ).start()
    try:
        found = process.wait_for_output(r"^(http://\S+)$", within=30)
        yield process, found.group(1)
    finally:
        process.stop()


@pytest.fixture
def fake_api_url(
    _fake_api: tuple[ManagedProcess, str], diagnostics: Callable[[str, Callable[[], str]], None]
) -> str:
    """The fake API (cloud mode, token `test-token`) in its own process: its base URL."""
    process, url = _fake_api
    process.check_alive()
    diagnostics("fake API log", process.tail)
    return url


@pytest.fixture(scope="package")
def _home_assistant(e2e_dir: Path, broker: Mosquitto) -> Iterator[HomeAssistantProcess]:
    _enable_sockets_for_shared_setup()
    ha = HomeAssistantProcess(e2e_dir / "homeassistant")
    try:
        with quiet_http_logs():
            ha.start()
            entry = ha.setup_mqtt(broker.host, broker.port)
        assert entry["type"] == "create_entry", entry
        assert entry["result"]["state"] == "loaded", entry
    except BaseException:
        ha.stop()
        print(ha.log_tail())
        raise
    yield ha
    code = ha.stop()
    assert code == 0, f"Home Assistant exited with {code}\n{ha.log_tail()}"


@pytest.fixture
def home_assistant(
    _home_assistant: HomeAssistantProcess, diagnostics: Callable[[str, Callable[[], str]], None]
) -> HomeAssistantProcess:
    """The shared Home Assistant, its log attached to a failing test's report."""
    _home_assistant.process.check_alive()
    diagnostics("home-assistant.log", _home_assistant.log_tail)
    return _home_assistant


@pytest.fixture
def bridges(
    tmp_path: Path, broker: Mosquitto, diagnostics: Callable[[str, Callable[[], str]], None]
) -> Iterator[BridgeRunner]:
    runner = BridgeRunner(tmp_path, broker, diagnostics)
    try:
        yield runner
    finally:
        codes = runner.stop_all()
    assert all(code == 0 for code in codes), f"a bridge did not stop cleanly: {codes}"


# -- the local engine ----------------------------------------------------------------------


@pytest.fixture(scope="package")
def _engine(e2e_dir: Path) -> Iterator[tuple[ManagedProcess, str]]:
    process = ManagedProcess(
        "engine",
        [str(BIN / "plate-bridge"), "engine", "--port", "0", "--workers", "1", "--threads", "1"],
        e2e_dir / "engine.log",
    ).start()
    try:
        found = process.wait_for_output(r"listening on (http://127\.0\.0\.1:\d+)", within=120)
        yield process, found.group(1)
    finally:
        process.stop()


@pytest.fixture
def engine_url(
    _engine: tuple[ManagedProcess, str], diagnostics: Callable[[str, Callable[[], str]], None]
) -> str:
    """`plate-bridge engine` (the local engine) on a free port: its base URL."""
    process, url = _engine
    process.check_alive()
    diagnostics("engine log", process.tail)
    return url


# -- Node-RED ------------------------------------------------------------------------------

NODE_RED_VERSION = "4"
NODE_RED_CACHE = REPO / ".cache" / "node-red"


@pytest.fixture(scope="package")
def node_red_bin() -> Path:
    """`node-red` 4 installed with npm under `.cache/node-red/` (reused once installed).

    Skips when node or npm is missing; fails with npm's output when the install fails.
    """
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed for the Node-RED test")
    binary = NODE_RED_CACHE / "node_modules" / ".bin" / "node-red"
    package = NODE_RED_CACHE / "node_modules" / "node-red" / "package.json"
    if binary.exists() and package.exists():
        version = json.loads(package.read_text()).get("version", "")
        if version.split(".")[0] == NODE_RED_VERSION:
            return binary
    NODE_RED_CACHE.mkdir(parents=True, exist_ok=True)
    command = [npm, "install", "--prefix", str(NODE_RED_CACHE), "--no-audit", "--no-fund"]
    command += ["--omit=dev", "--loglevel=error", f"node-red@{NODE_RED_VERSION}"]
    try:
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            env={**os.environ, "npm_config_update_notifier": "false"},
        )
    except subprocess.TimeoutExpired as err:
        pytest.fail(f"npm install node-red@{NODE_RED_VERSION} took over 600 s:\n{err.output}")
    if result.returncode != 0 or not binary.exists():
        pytest.fail(
            f"npm install node-red@{NODE_RED_VERSION} failed ({result.returncode}):\n"
            f"{result.stdout}\n{result.stderr}"
        )
    return binary


@pytest.fixture
def node_red(
    node_red_bin: Path, tmp_path: Path, diagnostics: Callable[[str, Callable[[], str]], None]
) -> Iterator[NodeRedRunner]:
    runner = NodeRedRunner(node_red_bin, tmp_path, diagnostics)
    try:
        yield runner
    finally:
        runner.stop()
