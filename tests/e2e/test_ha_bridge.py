"""Frigate -> MQTT -> the bridge -> MQTT discovery -> Home Assistant, all real processes.

A Frigate-style `car` event is published to mosquitto; the bridge (`plate-bridge run`, a
subprocess) fetches the event's snapshot from a Frigate stand-in, reads it with the fake
API (or, once, with the local engine, `plate-bridge engine`), and publishes the read.
Home Assistant, whose MQTT integration is connected to the same broker, has created the
bridge's entities from its discovery messages; the test reads them back from Home
Assistant's REST API: the last-plate sensor, the plate event entity and the
watched-vehicle binary sensor, all within a bounded time of the Frigate event.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import pytest

from tests.bridge.fake_frigate import frigate_event
from tests.e2e.helpers import (
    ENGINE_PLATE,
    FAKE_PLATE,
    FAKE_TOKEN,
    BridgeRunner,
    plate_jpeg,
    publish,
    small_jpeg,
)
from tests.e2e.homeassistant import HomeAssistantProcess
from tests.e2e.processes import wait_until
from tests.e2e.servers import FrigateStub
from tests.mosquitto import Mosquitto

pytestmark = pytest.mark.slow

CAMERA = "driveway"
WITHIN = 30.0  # seconds from the Frigate event to the three entities' states


@dataclass(frozen=True)
class Reader:
    name: str
    fixture: str
    token: str | None
    plate: str

    def image(self) -> bytes:
        # The fake reads its plate on any picture; the engine needs a plate to read.
        return small_jpeg() if self.token else plate_jpeg(self.plate.upper())


READERS = [
    Reader("cloud", "fake_api_url", FAKE_TOKEN, FAKE_PLATE),
    Reader("engine", "engine_url", None, ENGINE_PLATE),
]


def camera_entities(
    home_assistant: HomeAssistantProcess, node: str, camera: str
) -> tuple[str, str, str, str]:
    """Wait for a camera's discovered last-plate sensor, event, watched-vehicle binary
    sensor and image, under the entity ids docs/bridge.md gives (`<node>_<camera>_<key>`)."""
    prefix = f"{node}_{camera}_"
    wanted = (
        f"sensor.{prefix}last_plate",
        f"event.{prefix}plate_event",
        f"binary_sensor.{prefix}watched_present",
        f"image.{prefix}snapshot",
    )

    def found() -> bool:
        ids = {s["entity_id"] for s in home_assistant.client.states()}
        return ids.issuperset(wanted)

    def details() -> str:
        ids = sorted(s["entity_id"] for s in home_assistant.client.states())
        return f"entities of {node}: {[i for i in ids if node in i]}"

    wait_until(found, within=WITHIN, interval=0.25, what=f"entities {wanted}", details=details)
    return wanted


@pytest.mark.parametrize("reader", READERS, ids=[r.name for r in READERS])
def test_frigate_event_reaches_home_assistant_entities(
    reader: Reader,
    request: pytest.FixtureRequest,
    home_assistant: HomeAssistantProcess,
    broker: Mosquitto,
    bridges: BridgeRunner,
) -> None:
    api_url: str = request.getfixturevalue(reader.fixture)
    node = f"e2e_{reader.name}"  # the bridge's base topic, and its discovery node id
    frigate_prefix = f"frigate_{reader.name}"  # the cases share the broker: keep them apart
    with FrigateStub(reader.image()) as frigate:
        config = bridges.config(
            node,
            api_url,
            sources={
                "frigate": {"url": frigate.url, "topic_prefix": frigate_prefix, "cameras": [CAMERA]}
            },
            watchlist=[
                {
                    "name": "Visitor",
                    "plate": reader.plate.upper(),
                    "owner": "Ann",
                    "tags": ["gate"],
                    "tolerance": 0,
                }
            ],
            homeassistant={"hold_time": 120},
        )
        bridge = bridges.start(config, token=reader.token)

        # Discovery: the camera's entities appear, available (the bridge is online).
        sensor, event, watched, image = camera_entities(home_assistant, node, CAMERA)
        for entity in (sensor, event, watched):
            home_assistant.wait_for_state(
                entity, lambda s: s["state"] != "unavailable", within=WITHIN
            )
        bridge.check_alive()
        assert home_assistant.client.state(watched)["state"] in ("off", "unknown")  # type: ignore[index]

        event_id = f"{time.time():.6f}-e2e{reader.name}"
        sent = time.monotonic()
        publish(
            broker,
            f"{frigate_prefix}/events",
            frigate_event("new", event_id, camera=CAMERA, snapshot_time=time.time()),
        )

        state = home_assistant.wait_for_state(
            sensor, lambda s: s["state"] == reader.plate.upper(), within=WITHIN
        )
        fired = home_assistant.wait_for_state(
            event, lambda s: s["attributes"].get("plate") == reader.plate, within=WITHIN
        )
        present = home_assistant.wait_for_state(
            watched, lambda s: s["state"] == "on", within=WITHIN
        )
        # Each wait above is bounded; the total is a figure to read, not a timed assert
        # (on a busy machine three bounded waits may add up past one of them).
        took = time.monotonic() - sent

        attributes = state["attributes"]
        assert attributes["watched"] is True
        assert attributes["plate"] == reader.plate
        assert attributes["source"] == "frigate"
        assert attributes["source_event_id"] == event_id
        assert attributes["watchlist"]["name"] == "Visitor"
        assert fired["attributes"]["event_type"] == "watched_plate"
        assert fired["attributes"]["watchlist"] == "Visitor"
        assert fired["attributes"]["owner"] == "Ann"
        assert present["attributes"]["name"] == "Visitor"
        assert present["attributes"]["plate"] == reader.plate

        # The bridge read Frigate's snapshot of that event, and the annotated copy
        # reached the image entity.
        assert frigate.received("GET", f"/api/events/{event_id}/snapshot.jpg")
        home_assistant.wait_for_state(image, lambda s: s["state"] != "unknown", within=WITHIN)

        # Frigate write-back: the event's sub label is the watch-list entry's name.
        written = wait_until(
            lambda: frigate.received("POST", f"/api/events/{event_id}/sub_label"),
            within=10,
            what="the sub label written back to Frigate",
            details=lambda: json.dumps([f"{r.method} {r.path}" for r in frigate.requests]),
        )
        assert [post.json()["subLabel"] for post in written] == ["Visitor"]

        bridges.stop_all()
    # With the bridge gone its entities are unavailable (its last will / `offline`).
    home_assistant.wait_for_state(sensor, lambda s: s["state"] == "unavailable", within=10)
    print(f"{reader.name}: Frigate event -> Home Assistant states in {took:.2f} s")
