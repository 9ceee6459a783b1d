"""A Frigate event the bridge cannot understand: its error still says whose it is."""

from __future__ import annotations

import json
from pathlib import Path

from tests.bridge.conftest import Subscriber, make_config, publish, running
from tests.fake_api.server import FakePlateRecognizer
from tests.mosquitto import Mosquitto


async def test_malformed_event_error_keeps_camera_and_event_id(
    fake_onprem: FakePlateRecognizer, mosquitto: Mosquitto, subscriber: Subscriber, tmp_path: Path
) -> None:
    config = make_config(
        tmp_path,
        mosquitto,
        fake_onprem.url,
        # Nothing is fetched from Frigate for a malformed event: no server is needed.
        sources={"frigate": {"url": "http://127.0.0.1:9", "lpr": {"mode": "off"}}},
    )
    bad = {"type": "new", "after": {"id": "m13", "camera": "driveway", "label": "car"}}
    bad["after"]["top_score"] = "high"
    async with running(config):
        publish(mosquitto, "frigate/events", json.dumps(bad))
        publish(mosquitto, "frigate/events", "not json")
        first, second = (m.json() for m in await subscriber.wait_for("pb/errors", count=2))
    assert (first["kind"], first["source"]) == ("payload", "frigate")
    assert (first["camera"], first["source_event_id"]) == ("driveway", "m13")
    assert "after.top_score must be a number, got str" in first["message"]
    assert (second["camera"], second["source_event_id"]) == (None, None)
    assert fake_onprem.requests == []
