"""Access token, cookie, CSRF, security headers and bounds of the web page (real HTTP)."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp import web

from bridge.events import error_event
from bridge.web import Guard, WebSink, build_app
from bridge.web.live import ERRORS_KEPT, MAX_SUBSCRIBERS, SUBSCRIBER_QUEUE
from bridge.web.security import CSP, cookie_name
from tests.bridge.web.conftest import TOKEN, csrf_of, serving, session, web_config
from tests.fake_api.server import FakePlateRecognizer
from tests.mosquitto import Mosquitto, free_port

PAGES = ("", "history", "watchlist", "health", "health.json", "static/app.js", "static/app.css")


async def test_token_is_required_and_never_leaks(
    fake_onprem: FakePlateRecognizer,
    mosquitto: Mosquitto,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    config = web_config(tmp_path, mosquitto, fake_onprem.url, web={"token": TOKEN})
    async with serving(config) as (_, url), session() as http:
        for path in PAGES:
            async with http.get(url + path) as response:
                assert response.status == 401, path
                text = await response.text()
                assert "?token=" in text and TOKEN not in text
        async with http.get(url, headers={"Authorization": "Bearer wrong-token-0123456789"}) as r:
            assert r.status == 401
        async with http.get(url + "history?token=wrong", allow_redirects=False) as r:
            assert r.status == 401
            assert not r.cookies  # no cookie of any name
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        for path in PAGES:
            async with http.get(url + path, headers=bearer) as response:
                assert response.status == 200, path
                assert TOKEN not in await response.text()
    assert TOKEN not in caplog.text
    assert "web page: http://127.0.0.1:" in caplog.text


async def test_token_in_the_address_becomes_a_cookie(
    fake_onprem: FakePlateRecognizer,
    mosquitto: Mosquitto,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    config = web_config(tmp_path, mosquitto, fake_onprem.url, web={"token": TOKEN})
    async with serving(config) as (_, url), session() as http:
        target = url + f"history?plate=AB1&token={TOKEN}&camera=gate"
        async with http.get(target, allow_redirects=False) as response:
            assert response.status == 303
            location = response.headers["Location"]
            assert TOKEN not in location
            assert location == "./history?plate=AB1&camera=gate"  # relative: any prefix
            cookie = response.headers["Set-Cookie"]
            assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
            # A value derived from the token, not the token itself (review finding).
            # Named by the port: two bridges on one host keep their own cookies.
            assert config.web is not None
            name = cookie_name(config.web.port)
            assert name != cookie_name(config.web.port + 1)
            value = response.cookies[name].value
            assert len(value) == 64 and TOKEN not in cookie
        async with http.get(url + "history?plate=AB1&camera=gate") as response:
            assert response.status == 200  # the cookie alone
            assert TOKEN not in await response.text()
        async with http.get(url + f"plate/AB1?token={TOKEN}", allow_redirects=False) as response:
            assert response.headers["Location"] == "./AB1"
        # The raw token as the cookie is not the cookie.
        async with session() as other, other.get(url, headers={"Cookie": f"{name}={TOKEN}"}) as r:
            assert r.status == 401
    assert TOKEN not in caplog.text


async def test_security_headers_on_every_answer(
    fake_onprem: FakePlateRecognizer, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    config = web_config(tmp_path, mosquitto, fake_onprem.url)
    async with serving(config) as (_, url), session() as http:
        for path in (*PAGES, "no-such-page", "picture/nothing", "plate/AB1"):
            async with http.get(url + path) as response:
                assert response.headers["Content-Security-Policy"] == CSP, path
                assert response.headers["X-Content-Type-Options"] == "nosniff"
                assert response.headers["Referrer-Policy"] == "no-referrer"
        async with http.get(url) as response:
            page = await response.text()
        assert "<script>" not in page and "style=" not in page and "<style" not in page
        assert 'src="static/app.js"' in page  # relative URLs only
        assert 'href="/' not in page and 'src="/' not in page and 'action="/' not in page


async def test_writes_need_the_csrf_token_and_the_same_origin(
    fake_onprem: FakePlateRecognizer, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    config = web_config(tmp_path, mosquitto, fake_onprem.url)
    watchlist_file = tmp_path / "state" / "watchlist.yaml"
    async with serving(config) as (service, url), session() as http:
        async with http.get(url + "watchlist") as response:
            csrf = csrf_of(await response.text())
        entry = {"action": "add", "name": "Ours", "plate": "AB12CDE", "tolerance": "0"}
        own = url.rstrip("/")
        refused = [
            ({**entry}, {"Origin": own}),  # no CSRF token
            ({**entry, "csrf": "forged"}, {"Origin": own}),
            ({**entry, "csrf": csrf}, {"Origin": "http://evil.example"}),
            ({**entry, "csrf": csrf}, {"Origin": "null", "Sec-Fetch-Site": "cross-site"}),
            ({**entry, "csrf": csrf}, {"Sec-Fetch-Site": "same-site"}),
            ({**entry, "csrf": csrf}, {"Referer": "http://evil.example/page"}),
        ]
        for form, headers in refused:
            async with http.post(
                url + "watchlist", data=form, headers=headers, allow_redirects=False
            ) as response:
                assert response.status == 403, (form, headers)
                assert "refused" in await response.text()
        assert not watchlist_file.exists()
        assert not service.pipeline.watchlist
        # What Chromium sends for the page's own form (Referrer-Policy: no-referrer).
        chromium = {"Origin": "null", "Sec-Fetch-Site": "same-origin"}
        async with http.post(
            url + "watchlist", data={**entry, "csrf": csrf}, headers=chromium, allow_redirects=False
        ) as response:
            assert response.status == 303
            assert response.headers["Location"] == "watchlist?done=added&plate=AB12CDE"
        assert watchlist_file.exists()


async def test_bounds(
    fake_onprem: FakePlateRecognizer, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    config = web_config(tmp_path, mosquitto, fake_onprem.url)
    async with serving(config) as (_, url), session() as http:
        # DNS rebinding: another name pointing to 127.0.0.1 is not this page (no token).
        async with http.get(url, headers={"Host": "evil.example:8380"}) as response:
            assert response.status == 403
            assert "only to loopback addresses" in await response.text()
        async with http.get(url, headers={"Host": "localhost"}) as response:
            assert response.status == 200
        async with http.get(url + "history?plate=" + "A" * 5000) as response:
            assert response.status == 414
        async with http.post(url + "watchlist", data=b"x" * 200_000) as response:
            assert response.status == 413
        async with http.get(url + "history?plate=" + "A" * 40) as response:
            assert response.status == 200
            text = await response.text()
            assert '<p id="message" class="error"' in text
            assert "plate: at most 32 characters" in text


async def test_ingress_without_token_refuses_everyone_but_the_supervisor(
    fake_onprem: FakePlateRecognizer, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """`ingress: true` on every address, no token: only 172.30.32.2 (Home Assistant) is
    let in. Served here on loopback with the policy of an add-on bound to 0.0.0.0."""
    config = web_config(tmp_path, mosquitto, fake_onprem.url)
    async with serving(config) as (service, _), session() as http:
        assert service.web is not None and config.web is not None
        exposed = config.web.model_copy(update={"host": "0.0.0.0", "ingress": True})
        ctx = replace(service.web.ctx, guard=Guard(exposed))
        runner = web.AppRunner(build_app(ctx))
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            async with http.get(f"http://127.0.0.1:{port}/history") as response:
                assert response.status == 403
                assert "only through Home Assistant" in await response.text()
                assert response.headers["Content-Security-Policy"] == CSP
        finally:
            await runner.cleanup()


async def test_live_clients_are_bounded() -> None:
    sink = WebSink()
    clients = [sink.subscribe() for _ in range(MAX_SUBSCRIBERS)]
    assert all(clients) and sink.subscribe() is None  # one too many
    slow = clients[0]
    assert slow is not None
    for _ in range(SUBSCRIBER_QUEUE + 1):
        slow.send("{}")
    assert slow.dropped and slow.queue.qsize() == SUBSCRIBER_QUEUE  # never more
    for _ in range(ERRORS_KEPT + 5):
        sink.handle(error_event("internal", "x"))
    assert len(sink.errors) == ERRORS_KEPT
    sink.close_streams()
    assert sink.subscribe() is None
    last = clients[1]
    assert last is not None and last.queue.get_nowait() is None  # the end of its stream
