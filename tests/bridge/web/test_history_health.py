"""History search and plate pages, the health page, and every page's weight."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

from bridge.events import error_event
from tests.bridge.conftest import publish
from tests.bridge.test_service import plate_result
from tests.bridge.web.conftest import TOKEN, eventually, message_of, serving, session, web_config
from tests.fake_api.images import jpeg_bytes
from tests.fake_api.server import FakePlateRecognizer
from tests.mosquitto import Mosquitto

MAX_PAGE_WEIGHT = 200 * 1024


async def test_search_finds_a_read_and_bad_input_is_explained(
    fake_onprem: FakePlateRecognizer, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    plates = iter(["AB12CDE", "ZZ99ZZZ"])
    fake_onprem.responder = lambda request: [plate_result(next(plates))]
    config = web_config(
        tmp_path,
        mosquitto,
        fake_onprem.url,
        watchlist=[{"name": "Ours", "plate": "AB12CDE"}],
    )
    async with serving(config) as (_, url), session() as http:
        async with http.get(url + "history") as response:
            assert response.status == 200
            assert "No reads recorded yet" in message_of(await response.text())
        publish(mosquitto, "pb/gate/snapshot", jpeg_bytes())
        publish(mosquitto, "pb/door/snapshot", jpeg_bytes())

        async def rows(query: str) -> str | None:
            async with http.get(url + "history" + query) as response:
                text = await response.text()
            return text if text.count('<tr class="read') == 2 else None

        await eventually(lambda: rows(""))
        searches = {
            "?plate=AB12CDE": ["AB12CDE"],
            "?plate=ab-12-cde": ["AB12CDE"],
            "?plate=A812CDE": ["AB12CDE"],  # B/8 look-alike: the watch list's matching
            "?plate=AB*": ["AB12CDE"],
            "?camera=door": ["ZZ99ZZZ"],
            "?watched=1": ["AB12CDE"],
            "?since=2h": ["AB12CDE", "ZZ99ZZZ"],
            "?until=2000-01-01": [],
            "?plate=XX11XXX": [],
        }
        for query, expected in searches.items():
            async with http.get(url + "history" + query) as response:
                assert response.status == 200, query
                page = await response.text()
            found = re.findall(r'<tr class="read[^"]*" data-plate="([^"]*)"', page)
            assert sorted(html.unescape(plate) for plate in found) == expected, query
            assert 'id="results"' in page and 'id="search"' in page
        for query, problem in {
            "?since=yesterday": "since: 'yesterday' is not a time",
            "?until=2024-13-45": "until:",
            "?since=1h&until=2h": "since must be before until",
            "?tolerance=9": "tolerance: choose 0, 1 or 2",
            "?plate=AB*&tolerance=1": "a tolerance applies to a whole plate",
        }.items():
            async with http.get(url + "history" + query) as response:
                page = await response.text()
                assert response.status == 200, query  # the form again, with the message
                assert '<p id="message" class="error"' in page
                assert problem in html.unescape(message_of(page)), query
                assert 'id="search"' in page  # the form stays, to correct the input
        async with http.get(url + "plate/AB12CDE") as response:
            page = await response.text()
        assert '<dd class="count">1</dd>' in page
        assert '<dd class="cameras">gate</dd>' in page
        assert 'class="first-seen"' in page and 'class="last-seen"' in page
        assert 'href="../history"' in page  # one level down: relative links go up
        async with http.get(url + "plate/QQ11QQQ") as response:
            assert response.status == 404
            assert "No reads of QQ11QQQ" in message_of(await response.text())


async def test_history_off_is_said(
    fake_onprem: FakePlateRecognizer, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    config = web_config(tmp_path, mosquitto, fake_onprem.url, storage={"history": False})
    async with serving(config) as (_, url), session() as http:
        for path in ("history", "plate/AB12CDE"):
            async with http.get(url + path) as response:
                assert response.status == 200, path
                assert "History is off" in message_of(await response.text())


async def test_health_shows_state_and_no_secret(
    fake_api: FakePlateRecognizer, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    api_token = "test-token"  # the fake cloud API's
    config = web_config(tmp_path, mosquitto, fake_api.url, token=api_token, web={"token": TOKEN})
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    async with serving(config) as (service, url), session(headers=bearer) as http:
        await eventually(lambda: service.pipeline.gate.used is not None)
        assert service.web_sink is not None
        # An error whose text carries secrets (as an echoing proxy's answer might).
        service.web_sink.handle(
            error_event("api_error", f"proxy said: key {api_token} page {TOKEN}", camera="gate")
        )
        async with http.get(url + "health.json") as response:
            data = json.loads(await response.text())
        async with http.get(url + "health") as response:
            page = await response.text()
    assert data["broker"]["connected"] is True
    assert data["api"] == {"host": "127.0.0.1", "kind": "cloud"}
    assert data["quota"]["limit"] == fake_api.total_calls
    assert data["queue"] == {"queued": 0, "max": config.pipeline.queue_max, "in_flight": 0}
    assert '<dd id="broker" class="good">connected' in page
    assert [(e["kind"], e["camera"]) for e in data["errors"]] == [("api_error", "gate")]
    assert data["errors"][0]["message"] == "proxy said: key *** page ***"
    assert "proxy said: key *** page ***" in page
    for item in ("broker", "api", "quota", "queue", "errors"):
        assert f'<dd id="{item}"' in page
    for text in (page, json.dumps(data)):
        assert api_token not in text and TOKEN not in text


async def test_page_weight(
    fake_onprem: FakePlateRecognizer, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    config = web_config(tmp_path, mosquitto, fake_onprem.url)
    async with serving(config) as (_, url), session() as http:
        assets = 0
        for asset in ("static/app.js", "static/app.css"):
            async with http.get(url + asset) as response:
                assert response.status == 200
                assets += len(await response.read())
        for path in ("", "history", "watchlist", "health", "plate/AB1"):
            async with http.get(url + path) as response:
                body = await response.read()
            assert len(body) + assets < MAX_PAGE_WEIGHT, path
            for label, href in (("Live", "./"), ("History", "history"), ("Health", "health")):
                assert f">{label}</a>".encode() in body
                assert href.encode() in body
