"""The Frigate-policy table (tests/test_frigate_policy_matrix.py) through the bridge.

Real mosquitto, the bridge as in production, a fake Frigate HTTP API and the
fake Plate Recognizer API: each row's messages are published on
`frigate/events` one at a time, each handled (and its lookup finished) before
the next, and the row's outcome is counted where it shows: lookups at the
API, Frigate's own reads in the bridge's metrics.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.bridge.conftest import handled, make_config, publish, running
from tests.bridge.fake_frigate import FakeFrigate
from tests.fake_api.server import FakePlateRecognizer
from tests.mosquitto import Mosquitto
from tests.test_frigate_policy_matrix import MATRIX, Row


@pytest.mark.parametrize("row", MATRIX, ids=lambda row: row.id)
async def test_bridge(
    row: Row, fake_onprem: FakePlateRecognizer, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    fake_onprem.responder = lambda request: row.api_results()
    async with FakeFrigate("0.16.0") as frigate:
        config = make_config(
            tmp_path,
            mosquitto,
            fake_onprem.url,
            sources={"frigate": {"url": frigate.url}},
            pipeline={"cooldown": 0, "metrics_interval": 0},
        )
        async with running(config) as service:
            assert service.frigate is not None
            await asyncio.wait_for(service.frigate.lpr_checked.wait(), 30)
            for sent, message in enumerate(row.messages, start=1):
                publish(mosquitto, "frigate/events", message.payload("ev-1", "driveway"))
                await handled(service, sent)
            assert (len(fake_onprem.requests), service.metrics["frigate_lpr_frigate_read"]) == (
                row.lookups,
                row.frigate_reads,
            )
