"""What an outside review of the web page broke, kept broken no more (real HTTP).

A client that stops reading its live stream, a HEAD on the stream, a burst of history
searches stuck on a locked file, a lone surrogate in a read, the Remove button, the
quota of an engine that has none.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from yarl import URL

from bridge.watchlist_store import MAX_ENTRIES
from bridge.web.context import HISTORY_THREADS, MAX_HISTORY_JOBS, HistoryBusy, HistoryThreads
from bridge.web.html import MAX_SHOWN
from bridge.web.pages_live import quota_text
from bridge.web.pages_watchlist import ENTRIES_SHOWN
from tests.bridge.test_service import plate_result
from tests.bridge.web.conftest import (
    DEADLINE,
    csrf_of,
    eventually,
    message_of,
    serving,
    session,
    web_config,
)
from tests.bridge.web.test_live import next_read
from tests.bridge.web.test_watchlist_page import read_once
from tests.fake_api.server import FakePlateRecognizer
from tests.mosquitto import Mosquitto


async def test_a_live_client_that_stops_reading_gives_its_place_back(
    fake_onprem: FakePlateRecognizer, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """Before: the stream's handler waited in a write for ever (the client's TCP window
    was full), so a dropped client kept one of the 32 live places until it hung up."""
    config = web_config(tmp_path, mosquitto, fake_onprem.url)
    async with serving(config) as (service, url):
        sink = service.web_sink
        assert sink is not None
        stuck = socket.socket()
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stuck.setblocking(False)
        try:
            await asyncio.get_running_loop().sock_connect(stuck, ("127.0.0.1", URL(url).port))
            await asyncio.get_running_loop().sock_sendall(
                stuck, b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
            )
            subscriber = (await eventually(lambda: list(sink.subscribers)))[0]
            big = json.dumps({"id": "x", "plate": "A" * 100_000})

            async def flooded() -> bool:
                subscriber.send(big)  # never read: the socket buffers fill, then the queue
                await asyncio.sleep(0.01)
                return bool(subscriber.dropped)

            await eventually(flooded)
            await eventually(lambda: subscriber not in sink.subscribers)
        finally:
            stuck.close()


async def test_head_on_the_live_stream_is_refused(
    fake_onprem: FakePlateRecognizer, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """Before: HEAD /events answered 200 and held a live place while it sent nothing."""
    config = web_config(tmp_path, mosquitto, fake_onprem.url)
    async with serving(config) as (service, url), session() as http:
        async with http.head(url + "events") as response:
            assert response.status == 405
        assert service.web_sink is not None and not service.web_sink.subscribers
        async with http.head(url + "history") as response:
            assert response.status == 200  # the pages themselves still answer HEAD


async def test_history_work_keeps_to_its_own_bounded_threads() -> None:
    """History look-ups that hang (a locked file waits up to SQLite's 10 s busy timeout,
    a search up to its 5 s deadline) run at most HISTORY_THREADS at a time, more than
    MAX_HISTORY_JOBS are refused at once, and asyncio's default executor (the bridge's
    own thread work: saving snapshots, reading pictures) stays free meanwhile. Before:
    each search took a default-executor thread (6 on 2 cores)."""
    release = threading.Event()
    lock = threading.Lock()
    running, most = 0, 0

    def hanging() -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        release.wait(DEADLINE)
        with lock:
            running -= 1
        return 1

    threads = HistoryThreads()
    jobs = [asyncio.create_task(threads.run(hanging)) for _ in range(MAX_HISTORY_JOBS)]
    try:
        await eventually(lambda: running == HISTORY_THREADS)
        with pytest.raises(HistoryBusy):
            await threads.run(hanging)
        assert await asyncio.to_thread(lambda: "free") == "free"
        assert not any(job.done() for job in jobs)
    finally:
        release.set()
    assert await asyncio.gather(*jobs) == [1] * MAX_HISTORY_JOBS
    assert most == HISTORY_THREADS
    assert await threads.run(lambda: 2) == 2  # the places are given back
    await threads.close()


async def test_a_lone_surrogate_in_a_read_breaks_no_page(
    fake_onprem: FakePlateRecognizer, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """A JSON answer may carry "\\ud800" (valid JSON, not encodable UTF-8). Before: the
    live page answered 500 while such a read was listed, and its event ended every
    live stream."""
    fake_onprem.responder = lambda request: [plate_result("AB12CDE")]
    config = web_config(tmp_path, mosquitto, fake_onprem.url)
    async with serving(config) as (service, url), session() as http:
        sink = service.web_sink
        assert sink is not None
        await read_once(service, mosquitto)
        odd = replace(sink.reads[0], id="odd1", plate="AB\ud800", vehicle="Sedan \udcff")
        stream = await http.get(url + "events")
        await eventually(lambda: sink.subscribers)
        sink.reads.appendleft(odd)
        for subscriber in list(sink.subscribers):
            subscriber.send(odd.json())
        read = await next_read(stream)
        assert read["id"] == "odd1" and read["plate"] == "AB\ud800"
        stream.release()
        async with http.get(url) as response:
            assert response.status == 200
            assert 'data-id="odd1" data-plate="AB?"' in await response.text()


async def test_remove_asks_before_it_removes(
    fake_onprem: FakePlateRecognizer, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """Before: one click on Remove (a POST form in each row) removed the entry."""
    config = web_config(
        tmp_path, mosquitto, fake_onprem.url, watchlist=[{"name": "Van", "plate": "AB1 2CD"}]
    )
    async with serving(config) as (service, url), session() as http:
        async with http.get(url + "watchlist") as response:
            page = await response.text()
        row = re.search(r'<tr class="entry".*?</tr>', page, re.S)
        assert row is not None
        assert "<form" not in row.group(0) and 'method="post"' not in row.group(0)
        assert 'href="watchlist?remove=AB1%202CD"' in row.group(0)
        async with http.get(url + "watchlist?remove=AB1%202CD") as response:
            page = await response.text()
        assert [e.plate for e in service.watchlist.entries] == ["AB1 2CD"]  # nothing yet
        question = re.search(r'<form id="remove-entry".*?</form>', page, re.S)
        assert question is not None and "Remove <strong>Van</strong> (AB1 2CD)" in question.group(0)
        assert 'name="original" value="AB1 2CD"' in question.group(0)
        async with http.post(
            url + "watchlist",
            data={"csrf": csrf_of(page), "action": "remove", "original": "AB1 2CD"},
            headers={"Origin": url.rstrip("/")},
        ) as response:
            assert message_of(await response.text()) == "Removed AB12CD."
        assert [e.plate for e in service.watchlist.entries] == []
        async with http.get(url + "watchlist?remove=ZZ9") as response:
            assert response.status == 404


def test_the_quota_of_an_engine_without_one() -> None:
    """The local engine's /info/ has `total_calls: null`. Before: "usage not known yet",
    for ever."""
    unknown = {"paused": None, "used": 3, "limit": None, "remaining": None, "reserve": 0}
    assert quota_text(unknown, cloud=False) == (
        "reads allowed; no lookup quota (on-premise or local engine)"
    )
    assert quota_text(unknown, cloud=True) == "reads allowed; usage not known yet"
    known = {**unknown, "limit": 100, "remaining": 97}
    assert "3 of 100 lookups used, 97 left" in quota_text(known, cloud=False)


async def test_hostile_watch_list_texts_and_concurrent_edits(
    fake_onprem: FakePlateRecognizer, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """Name, owner and tags typed in the page are text on every page that shows them
    (the list, the edit form, the question before Remove, a watched read); 40 edits sent
    at once (20 distinct plates, 20 copies of one) leave a whole file with each plate
    once."""
    fake_onprem.responder = lambda request: [plate_result("AB12CDE")]
    config = web_config(tmp_path, mosquitto, fake_onprem.url)
    hostile = '"><img src=x onerror=alert(1)>'
    async with serving(config) as (service, url), session() as http:
        async with http.get(url + "watchlist") as response:
            csrf = csrf_of(await response.text())

        async def add(plate: str, name: str = "n", owner: str = "", tags: str = "") -> int:
            form = {"csrf": csrf, "action": "add", "name": name, "plate": plate}
            form |= {"owner": owner, "tags": tags, "tolerance": "0"}
            async with http.post(
                url + "watchlist", data=form, headers={"Origin": url.rstrip("/")}
            ) as response:
                return response.status

        assert await add("AB12CDE", hostile, hostile, f"{hostile}, b") == 200
        await read_once(service, mosquitto)
        pages = []
        for path in ("watchlist", "watchlist?edit=AB12CDE", "watchlist?remove=AB12CDE", ""):
            async with http.get(url + path) as response:
                pages.append(await response.text())
        for text in pages:
            assert "<img src=x" not in text
            assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in text

        statuses = await asyncio.gather(
            *(add(f"CC{n:03d}") for n in range(20)), *(add("DD999") for _ in range(20))
        )
        assert set(statuses) == {200}  # refusals show the page again with the message
        plates = [entry.plate for entry in service.watchlist.entries]
        assert sorted(plates) == sorted(["AB12CDE", "DD999", *(f"CC{n:03d}" for n in range(20))])
        saved = (tmp_path / "state" / "watchlist.yaml").read_text()
        assert saved.count("plate: DD999") == 1 and saved.count("plate: CC") == 20


async def test_a_full_watch_list_is_paged_and_searchable(
    fake_onprem: FakePlateRecognizer, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """MAX_ENTRIES entries: the page stays under 200 KB (the issue's page weight), 200
    rows a page with Next/Previous, and Find narrows it down. Before: every entry on one
    page, 3.6 MB."""
    listed = [
        {"name": f"Neighbour {n}", "plate": f"AB{n:05d}", "owner": "Someone", "tags": ["street"]}
        for n in range(MAX_ENTRIES)
    ]
    config = web_config(tmp_path, mosquitto, fake_onprem.url, watchlist=listed)
    async with serving(config) as (_, url), session() as http:
        async with http.get(url + "watchlist") as response:
            first = await response.read()
        assert len(first) < 200 * 1024
        text = first.decode()
        assert text.count('<tr class="entry"') == ENTRIES_SHOWN
        assert f"{ENTRIES_SHOWN} of {MAX_ENTRIES} entries, page 1 of 25." in text
        assert '<a href="watchlist?page=2">Next</a>' in text and "Previous" not in text
        async with http.get(url + "watchlist?page=25") as response:
            text = await response.text()
        assert 'data-plate="AB04999"' in text and 'data-plate="AB04799"' not in text
        assert '<a href="watchlist?page=24">Previous</a>' in text and ">Next<" not in text
        for find, plates in (("ab 04999", ["AB04999"]), ("neighbour 4998", ["AB04998"])):
            async with http.get(url + "watchlist", params={"find": find}) as response:
                text = await response.text()
            assert re.findall(r'<tr class="entry" data-plate="([^"]+)"', text) == plates, find
            assert f'name="find" value="{find}"' in text
        async with http.get(url + "watchlist?page=99999999") as response:
            assert "page 1 of 25" in await response.text()  # not a number we use: page 1


async def test_huge_texts_from_the_api_are_cut_on_the_pages(
    fake_onprem: FakePlateRecognizer, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """Nothing bounds the API's texts upstream. Before: a 100 KB vehicle type made a
    100 KB live event and 116 KB of live page per read (50 reads: 5.8 MB)."""

    def answer(request: object) -> list[dict[str, object]]:
        result = plate_result("A" * 5000)
        result["vehicle"]["type"] = "T" * 100_000
        return [result]

    fake_onprem.responder = answer
    config = web_config(tmp_path, mosquitto, fake_onprem.url)
    async with serving(config) as (service, url), session() as http:
        sink = service.web_sink
        assert sink is not None
        stream = await http.get(url + "events")
        await eventually(lambda: sink.subscribers)
        await read_once(service, mosquitto)
        read = await next_read(stream)
        stream.release()
        assert len(read["plate"]) == MAX_SHOWN and read["plate"].endswith("…")
        assert len(read["vehicle"]) == MAX_SHOWN
        for path in ("", "history"):

            async def page_of(path: str = path) -> bytes | None:
                async with http.get(url + path) as response:
                    body = await response.read()
                return body if b'class="read' in body else None

            body = await eventually(page_of)
            assert len(body) < 10_000, path
            assert b"A" * MAX_SHOWN not in body and ("A" * (MAX_SHOWN - 1) + "…").encode() in body
