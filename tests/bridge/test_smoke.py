from __future__ import annotations

from tests.bridge.conftest import Subscriber, publish, running
from tests.fake_api.images import jpeg_bytes


async def test_snapshot_topic_to_plate(fake_onprem, mosquitto, subscriber: Subscriber, config_factory) -> None:
    config = config_factory(fake_onprem.url)
    async with running(config):
        publish(mosquitto, "pb/cam1/snapshot", jpeg_bytes())
        got = await subscriber.wait_for("pb/cam1/plate")
        await subscriber.wait_for("pb/plates")
        state = await subscriber.wait_for("pb/cam1/state")
    event = got[0].json()
    assert event["plate"] == "nhk552"
    assert event["camera"] == "cam1"
    assert state[0].retain is False or True
