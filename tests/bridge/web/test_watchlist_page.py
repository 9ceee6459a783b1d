"""The watch list page: edits persist to watchlist.yaml and change the next read's match."""

from __future__ import annotations

import asyncio
import html
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from bridge.service import BridgeService
from tests.bridge.conftest import publish
from tests.bridge.test_service import plate_result
from tests.bridge.web.conftest import csrf_of, eventually, message_of, serving, session, web_config
from tests.fake_api.images import jpeg_bytes
from tests.fake_api.server import FakePlateRecognizer
from tests.mosquitto import Mosquitto


async def post(http: aiohttp.ClientSession, url: str, form: dict[str, str]) -> tuple[int, str, str]:
    """POST a watch-list form as the page would: CSRF token and Origin of the page."""
    async with http.get(url + "watchlist") as response:
        csrf = csrf_of(await response.text())
    async with http.post(
        url + "watchlist",
        data={**form, "csrf": csrf},
        headers={"Origin": url.rstrip("/")},
        allow_redirects=False,
    ) as response:
        location = response.headers.get("Location", "")
        return response.status, await response.text(), location


def entries(path: Path) -> list[dict[str, Any]]:
    data = yaml.safe_load(path.read_text())
    return list(data["watchlist"])


async def read_once(service: BridgeService, mosquitto: Mosquitto) -> dict[str, Any]:
    """Publish one picture and return the live read it makes."""
    sink = service.web_sink
    assert sink is not None
    before = len(sink.reads)
    publish(mosquitto, "pb/gate/snapshot", jpeg_bytes())
    await eventually(lambda: len(sink.reads) > before)
    read = sink.reads[0]
    return {"plate": read.plate, "watched": read.watched, "name": read.watch_name}


async def test_add_edit_remove_persist_and_change_the_next_read(
    fake_onprem: FakePlateRecognizer, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    fake_onprem.responder = lambda request: [plate_result("XY34ZZZ")]
    config = web_config(tmp_path, mosquitto, fake_onprem.url)
    path = tmp_path / "state" / "watchlist.yaml"
    async with serving(config) as (service, url), session() as http:
        assert await read_once(service, mosquitto) == {
            "plate": "XY34ZZZ",
            "watched": False,
            "name": None,
        }
        form = {"action": "add", "name": "Visitor", "plate": "XY34 ZZ2", "owner": "Bob"}
        status, _, location = await post(http, url, {**form, "tolerance": "0"})
        assert (status, location) == (303, "watchlist?done=added&plate=XY34ZZ2")
        assert await asyncio.to_thread(entries, path) == [
            {"name": "Visitor", "plate": "XY34 ZZ2", "owner": "Bob"}
        ]
        async with http.get(url + location) as response:
            page = await response.text()
        assert message_of(page) == "Added XY34ZZ2."
        assert 'class="entry" data-plate="XY34 ZZ2"' in page
        # Z/2 is a look-alike: tolerance 0 matches the read.
        assert await read_once(service, mosquitto) == {
            "plate": "XY34ZZZ",
            "watched": True,
            "name": "Visitor",
        }

        edited = {"action": "update", "original": "XY34ZZ2", "name": "Neighbour"}
        status, _, _ = await post(
            http, url, {**edited, "plate": "XY34ZAA", "tolerance": "2", "tags": "street, night"}
        )
        assert status == 303
        assert await asyncio.to_thread(entries, path) == [
            {"name": "Neighbour", "plate": "XY34ZAA", "tags": ["street", "night"], "tolerance": 2}
        ]
        # Two real characters differ (A/Z twice): tolerance 2 lets it through.
        assert (await read_once(service, mosquitto))["name"] == "Neighbour"
        async with http.get(url + "watchlist?edit=XY34ZAA") as response:
            page = await response.text()
        assert 'id="edit-entry"' in page and 'value="Neighbour"' in page

        status, _, _ = await post(http, url, {"action": "remove", "original": "XY34 ZAA"})
        assert status == 303
        assert await asyncio.to_thread(entries, path) == []
        assert (await read_once(service, mosquitto))["watched"] is False
        await post(http, url, {**form, "tolerance": "0"})  # kept for the restart below

    # A restart takes the file, not the configuration's (empty) watch list.
    async with serving(config) as (service, _):
        assert [entry.name for entry in service.watchlist.entries] == ["Visitor"]
        assert (await read_once(service, mosquitto))["watched"] is True


async def test_bad_input_is_shown_and_changes_nothing(
    fake_onprem: FakePlateRecognizer, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    config = web_config(
        tmp_path, mosquitto, fake_onprem.url, watchlist=[{"name": "Ours", "plate": "AB12CDE"}]
    )
    path = tmp_path / "state" / "watchlist.yaml"
    async with serving(config) as (service, url), session() as http:
        status, _, _ = await post(http, url, {"action": "add", "name": "New", "plate": "CD34EFG"})
        assert status == 303
        before = await asyncio.to_thread(path.read_bytes)
        matcher = service.pipeline.watchlist
        bad = [
            ({"action": "add", "name": "Dup", "plate": "ab12-cde"}, "already on the watch list"),
            ({"action": "add", "name": "X", "plate": "!!!", "tolerance": "0"}, "plate"),
            ({"action": "add", "name": "X", "plate": "ZZ99", "tolerance": "7"}, "choose 0, 1 or 2"),
            ({"action": "add", "name": "X", "plate": "A" * 40}, "at most 32 characters"),
            ({"action": "add", "name": "<script>x</script>", "plate": ""}, "plate"),
            ({"action": "update", "original": "NOPE1", "name": "X", "plate": "ZZ99"}, "not on"),
            ({"action": "remove", "original": "NOPE1"}, "NOPE1 is not on the watch list"),
            ({"action": "explode"}, "unknown action"),
        ]
        for form, expected in bad:
            status, page, _ = await post(http, url, form)
            assert status == 200, form  # the form again, with the message
            message = html.unescape(message_of(page))
            assert expected in message, (form, message)
            assert "<script>x" not in page
            assert 'class="error"' in page
        assert await asyncio.to_thread(path.read_bytes) == before
        assert service.pipeline.watchlist is matcher
