"""Node-RED 4 running the example flow opens the gate for a watched plate, and only then.

`examples/node-red/flow.json` is loaded unchanged into a real Node-RED (installed with
npm, see `node_red_bin`), configured only through the environment variables the flow
reads. The bridge (`plate-bridge run`, a subprocess, reading with the fake API) gets a
camera picture on its snapshot topic and publishes the read on `<base>/plates`; the flow
POSTs to the gate, a local HTTP endpoint that records the call, when the plate is on the
watch list, and to the notification URL (the same endpoint, another path) when it is not.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest

from tests.conftest import REPO
from tests.e2e.helpers import (
    FAKE_PLATE,
    FAKE_TOKEN,
    BridgeRunner,
    NodeRedRunner,
    publish,
    small_jpeg,
    wait_online,
)
from tests.e2e.processes import ManagedProcess, wait_until
from tests.e2e.servers import Gate, Request
from tests.mosquitto import Mosquitto

pytestmark = pytest.mark.slow

FLOW = REPO / "examples" / "node-red" / "flow.json"
BASE = "e2e_nodered"
CAMERA = "front_gate"
WITHIN = 30.0


def flow_env_names() -> set[str]:
    """The process environment variables the flow reads: `$env('NAME')` in its tabs' and
    groups' variables, and `${NAME}` in node properties that no such variable defines."""
    nodes = json.loads(FLOW.read_text())
    defined = {item["name"] for node in nodes for item in node.get("env") or []}
    text = json.dumps(nodes)
    read = set(re.findall(r"\$env\(\s*[\"'](\w+)[\"']\s*\)", text.replace('\\"', '"')))
    return read | (set(re.findall(r"\$\{(\w+)\}", text)) - defined)


def run_bridge(
    bridges: BridgeRunner, fake_api_url: str, name: str, watched_plate: str
) -> ManagedProcess:
    config = bridges.config(
        BASE,
        fake_api_url,
        name=name,
        sources={"snapshot_topics": [{"topic": f"{BASE}/{{camera}}/snapshot"}]},
        watchlist=[{"name": "Visitor", "plate": watched_plate, "owner": "Ann", "tags": ["gate"]}],
        homeassistant={"enabled": False},
    )
    bridge = bridges.start(config, token=FAKE_TOKEN)
    bridge.wait_for_output(r"connected to", within=WITHIN)
    wait_online(bridges.broker, bridge, BASE)
    return bridge


def wait_for_call(gate: Gate, path: str, *logs: ManagedProcess) -> Request:
    calls = wait_until(
        lambda: gate.received("POST", path),
        within=WITHIN,
        what=f"the flow calling {path}",
        details=lambda: "\n".join(log.tail(30) for log in logs),
    )
    assert len(calls) == 1, calls
    return calls[0]


def test_watched_plate_opens_the_gate_through_the_example_flow(
    node_red: NodeRedRunner, broker: Mosquitto, bridges: BridgeRunner, fake_api_url: str
) -> None:
    with Gate() as gate:
        env = {
            "MQTT_HOST": broker.host,
            "MQTT_PORT": str(broker.port),
            "BASE_TOPIC": BASE,
            "GATE_URL": f"{gate.url}/open",
            "NOTIFY_URL": f"{gate.url}/notify",
        }
        assert flow_env_names() == set(env), (
            f"the flow reads {sorted(flow_env_names())}; update this test"
        )
        red = node_red.start(FLOW, env)
        red.wait_for_output(r"Connected to broker", within=WITHIN)

        # A plate that is not on the watch list: a notification, the gate stays shut.
        bridge = run_bridge(bridges, fake_api_url, "nodered-unknown", watched_plate="AB12CDE")
        publish(broker, f"{BASE}/{CAMERA}/snapshot", small_jpeg())
        notified: dict[str, Any] = wait_for_call(gate, "/notify", red, bridge).json()
        assert notified["plate"] == FAKE_PLATE.upper()
        assert notified["camera"] == CAMERA
        assert bridges.stop_all() == [0]

        # The same car, now on the watch list: the flow opens the gate.
        bridge = run_bridge(bridges, fake_api_url, "nodered-watched", watched_plate="NHK 552")
        sent = time.monotonic()
        publish(broker, f"{BASE}/{CAMERA}/snapshot", small_jpeg())
        opened = wait_for_call(gate, "/open", red, bridge)
        took = time.monotonic() - sent
        headers = {key.lower(): value for key, value in opened.headers.items()}
        assert headers["content-type"] == "application/json"
        body: dict[str, Any] = opened.json()
        assert body["action"] == "open"
        assert body["plate"] == FAKE_PLATE.upper()
        assert body["name"] == "Visitor"
        assert body["owner"] == "Ann"
        assert body["tags"] == ["gate"]
        assert body["camera"] == CAMERA
        assert len(gate.received("POST", "/notify")) == 1  # nothing more was notified
        print(f"snapshot -> bridge -> Node-RED -> gate in {took:.2f} s")
