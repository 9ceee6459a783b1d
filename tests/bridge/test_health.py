"""`plate-bridge health`, the image's HEALTHCHECK: the engine's /info/, the bridge's status.

Against real servers on loopback: the fake API in on-premise mode for the engine's
`GET /info/`, a real mosquitto holding the bridge's retained status. The image smoke test
(tests/e2e/test_image.py) runs the same command inside the built image.
"""

from __future__ import annotations

from pathlib import Path

import paho.mqtt.client as paho
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from bridge.cli import main
from tests.fake_api.threaded import run_in_thread
from tests.mosquitto import Mosquitto, free_port


def _config(tmp_path: Path, broker_port: int, base: str = "hc") -> Path:
    path = tmp_path / "config.yaml"
    config = {
        "mqtt": {"host": "127.0.0.1", "port": broker_port, "base_topic": base},
        "api": {"url": "http://127.0.0.1:9"},
        "sources": {"snapshot_topics": [{"topic": f"{base}/{{camera}}/snapshot"}]},
    }
    path.write_text(yaml.safe_dump(config))
    return path


def _retain(broker: Mosquitto, topic: str, payload: bytes) -> None:
    client = paho.Client(CallbackAPIVersion.VERSION2)
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        client.publish(topic, payload, qos=1, retain=True).wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


def _nothing_listens() -> str:
    return f"http://127.0.0.1:{free_port()}"


def test_nothing_to_check_is_unhealthy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], socket_enabled: None
) -> None:
    missing = tmp_path / "none.yaml"
    code = main(["health", "--engine", _nothing_listens(), "-c", str(missing)])
    assert code == 1
    assert "unhealthy: bridge:" in capsys.readouterr().err  # -c names a file: it must exist
    # Without -c and with none of the default files, nothing runs here that could answer.
    if any(Path(p).is_file() for p in ("/config/config.yaml", "/data/config.yaml")):
        pytest.skip("this machine has a /config or /data bridge configuration")
    assert main(["health", "--engine", _nothing_listens()]) == 1
    assert "unhealthy: nothing to check" in capsys.readouterr().err


def test_the_engine_is_healthy_when_info_answers(
    capsys: pytest.CaptureFixture[str], socket_enabled: None
) -> None:
    with run_in_thread(mode="onprem") as fake:
        assert main(["health", "--engine", fake.url]) == 0
        assert f"healthy: engine at {fake.url}" in capsys.readouterr().out
        fake.fail_next(503, endpoint="info")
        assert main(["health", "--engine", fake.url]) == 1
        assert "answered HTTP 503" in capsys.readouterr().err
        fake.fail_next("garbage", endpoint="info")
        assert main(["health", "--engine", fake.url]) == 1
        assert "unhealthy: engine: GET" in capsys.readouterr().err


def test_the_bridge_is_healthy_only_while_its_status_is_online(
    tmp_path: Path, mosquitto: Mosquitto, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(_config(tmp_path, mosquitto.port))
    engine = _nothing_listens()
    # No status yet: the bridge never connected.
    assert main(["health", "--engine", engine, "-c", config]) == 1
    assert "unhealthy: bridge: no status on hc/status" in capsys.readouterr().err
    _retain(mosquitto, "hc/status", b"online")
    assert main(["health", "--engine", engine, "-c", config]) == 0
    assert f"healthy: bridge of {config}" in capsys.readouterr().out
    _retain(mosquitto, "hc/status", b"offline")  # the bridge's last will, or its clean stop
    assert main(["health", "--engine", engine, "-c", config]) == 1
    assert "unhealthy: bridge: hc/status is 'offline', not 'online'" in capsys.readouterr().err


def test_an_unreachable_broker_is_unhealthy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], socket_enabled: None
) -> None:
    port = free_port()
    config = str(_config(tmp_path, port))
    assert main(["health", "--engine", _nothing_listens(), "-c", config]) == 1
    assert f"cannot connect to the broker at 127.0.0.1:{port}" in capsys.readouterr().err
