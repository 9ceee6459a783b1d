"""`upload_url` under hostile use: only public addresses by default, no oracle (issue 10).

Every request here targets loopback (127.0.0.0/8) only: the refusals of other private
ranges are checked on the policy itself, without any network traffic. Where a fetch must
succeed, the allow-list option lets 127.0.0.1 in, as a user would for a LAN camera.
"""

from __future__ import annotations

import asyncio
import gzip
import ipaddress
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
import pytest_asyncio
from aiohttp import web

from plate_engine.fetch import UrlPolicy
from plate_engine.server import EngineServer
from tests.engine import test_server as base
from tests.engine.hostile_images import png_bomb
from tests.engine.test_hostile_requests import wait_for
from tests.engine.test_server import PLATE_TEXT, READ, running_engine

recognizer = base.recognizer
plate_jpg = base.plate_jpg
http = base.http

NOT_ALLOWED = {"error": "upload_url is not allowed"}
COULD_NOT_FETCH = {"error": "could not fetch upload_url"}


@dataclass
class Site:
    """A local web server that counts what reaches it."""

    url: str = ""
    hits: list[str] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)


async def _serve(app: web.Application, host: str) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
    await runner.setup()
    await web.TCPSite(runner, host, 0).start()
    return runner, f"http://{host}:{runner.addresses[0][1]}"


def _site_app(site: Site, image: bytes, redirect_to: str | None = None) -> web.Application:
    async def record(request: web.Request) -> web.StreamResponse:
        site.hits.append(request.path)
        path = request.path
        if path == "/car.jpg":
            return web.Response(body=image, content_type="image/jpeg")
        if path == "/redirect" and redirect_to:
            raise web.HTTPFound(redirect_to)
        if path == "/json":  # what an internal API answers (the engine's own /info/)
            return web.json_response({"version": "0.1.0", "license_key": "offline"})
        if path == "/html":
            return web.Response(text="<html>internal secret</html>", content_type="text/html")
        if path == "/gzip":  # an image, gzip-encoded: inflating it is a bomb's way in
            return web.Response(
                body=gzip.compress(image),
                headers={"Content-Encoding": "gzip", "Content-Type": "image/jpeg"},
            )
        if path == "/bomb.png":
            return web.Response(body=png_bomb(), content_type="image/png")
        if path == "/endless":
            response = web.StreamResponse(headers={"Content-Type": "image/jpeg"})
            response.enable_chunked_encoding()
            await response.prepare(request)
            await response.write(image)
            while not site.release.is_set():
                await response.write(b"\x00" * 65536)
            return response
        if path == "/500":
            raise web.HTTPInternalServerError(text="stack trace with secrets")
        raise web.HTTPNotFound(text="nothing here, internal path")

    app = web.Application()
    app.router.add_route("GET", "/{path:.*}", record)
    return app


@pytest_asyncio.fixture
async def site(plate_jpg: bytes, socket_enabled: None) -> AsyncIterator[Site]:
    site = Site()
    runner, site.url = await _serve(_site_app(site, plate_jpg), "127.0.0.1")
    try:
        yield site
    finally:
        site.release.set()
        await runner.cleanup()


async def lookup(http: httpx.AsyncClient, engine: EngineServer, url: str) -> httpx.Response:
    return await http.post(engine.url + READ, files={"upload_url": (None, url)})


async def test_loopback_is_refused_however_it_is_spelt(
    recognizer: base.Recognizer, site: Site, http: httpx.AsyncClient
) -> None:
    port = site.url.rsplit(":", 1)[1]
    async with running_engine(recognizer) as engine:  # the default policy
        for host in (
            "127.0.0.1",
            "127.1",
            "2130706433",
            "0x7f000001",
            "127.0.0.2",
            "localhost",
            "LocalHost",
            "[::1]",
            "[::ffff:127.0.0.1]",
        ):
            response = await lookup(http, engine, f"http://{host}:{port}/car.jpg")
            assert response.status_code == 400, host
            assert response.json() == NOT_ALLOWED, host
        for url in ("file:///etc/passwd", "ftp://127.0.0.1/car.jpg", "gopher://127.0.0.1:70/"):
            assert (await lookup(http, engine, url)).json() == NOT_ALLOWED, url
        assert engine.calls == 0
    assert site.hits == []  # nothing reached the loopback site


async def test_every_redirect_hop_is_checked(
    recognizer: base.Recognizer, site: Site, plate_jpg: bytes, http: httpx.AsyncClient
) -> None:
    # The engine may reach the host name "localhost" (allowed by name), which redirects
    # to addresses it may not reach. (Tests may connect to 127.0.0.1 only.)
    port = site.url.rsplit(":", 1)[1]
    hops: list[tuple[Site, web.AppRunner]] = []
    for target in (f"http://127.0.0.1:{port}/car.jpg", f"http://127.1:{port}/car.jpg"):
        hop = Site()
        runner, hop.url = await _serve(_site_app(hop, plate_jpg, redirect_to=target), "127.0.0.1")
        hop.url = hop.url.replace("127.0.0.1", "localhost")
        hops.append((hop, runner))
    try:
        async with running_engine(recognizer, upload_url_allow=("localhost",)) as engine:
            first = hops[0][0]
            assert (await lookup(http, engine, first.url + "/car.jpg")).status_code == 200
            for hop, _ in hops:
                assert (await lookup(http, engine, hop.url + "/redirect")).json() == NOT_ALLOWED
        assert first.hits == ["/car.jpg", "/redirect"]
        assert site.hits == []
    finally:
        for _, runner in hops:
            await runner.cleanup()


async def test_the_allow_list_opens_networks_and_host_names(
    recognizer: base.Recognizer, site: Site, http: httpx.AsyncClient
) -> None:
    port = site.url.rsplit(":", 1)[1]
    for allow, url in (
        (("127.0.0.0/8",), f"http://127.1:{port}/car.jpg"),
        (("localhost",), f"http://localhost:{port}/car.jpg"),
    ):
        async with running_engine(recognizer, upload_url_allow=allow) as engine:
            response = await lookup(http, engine, url)
            assert response.status_code == 200, (allow, response.text)
            assert [r["plate"] for r in response.json()["results"]] == [PLATE_TEXT]
    assert site.hits == ["/car.jpg", "/car.jpg"]


async def test_errors_do_not_tell_what_the_remote_answered(
    recognizer: base.Recognizer, site: Site, http: httpx.AsyncClient
) -> None:
    # Before: "answered HTTP 404", "cannot fetch ... (ConnectError ...)" and the first
    # 8 bytes of the answer in hex (an internal /info/ read as 7b2276657273696f).
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"SSH-2.0-OpenSSH_9.6\r\n")  # an open port that is not HTTP
        await writer.drain()
        writer.close()

    other = await asyncio.start_server(garbage, "127.0.0.1", 0)
    other_port = other.sockets[0].getsockname()[1]
    try:
        async with running_engine(
            recognizer, upload_url_allow=("127.0.0.1",), fetch_timeout=5.0
        ) as engine:
            for path in ("/json", "/html", "/missing", "/500", "/gzip", "/bomb.png"):
                response = await lookup(http, engine, site.url + path)
                assert response.status_code == 400, path
                assert response.json() == COULD_NOT_FETCH, (path, response.text)
            for url in ("http://127.0.0.1:9/car.jpg", f"http://127.0.0.1:{other_port}/"):
                assert (await lookup(http, engine, url)).json() == COULD_NOT_FETCH, url
            assert engine.calls == 0
    finally:
        other.close()
        await other.wait_closed()


async def test_concurrent_endless_downloads_are_bounded(
    recognizer: base.Recognizer, site: Site, http: httpx.AsyncClient
) -> None:
    # Before: 100 concurrent upload_url requests to an endless body held 1.8 GB; the
    # workers + queue limit did not count downloads.
    async with running_engine(
        recognizer,
        workers=2,
        queue=2,
        max_upload_bytes=256 * 1024,
        max_inflight_bytes=512 * 1024,
        upload_url_allow=("127.0.0.1",),
    ) as engine:
        responses = await asyncio.gather(
            *(lookup(http, engine, site.url + "/endless") for _ in range(20))
        )
        statuses = [r.status_code for r in responses]
        assert set(statuses) <= {400, 429}
        assert statuses.count(429) >= 1  # more than workers + queue at once
        assert all(r.json() == COULD_NOT_FETCH for r in responses if r.status_code == 400)
        await wait_for(lambda: engine.pool.admitted == 0, "every place given back")
        assert engine.inflight.used == 0
        assert (await lookup(http, engine, site.url + "/car.jpg")).status_code == 200


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("64:ff9b::808:808", True),  # NAT64 of a public IPv4 address
        ("127.0.0.1", False),
        ("127.255.0.9", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.10", False),
        ("100.64.0.1", False),  # carrier-grade NAT
        ("169.254.169.254", False),  # cloud metadata
        ("0.0.0.0", False),
        ("224.0.1.1", False),  # multicast, though "global"
        ("239.255.255.250", False),
        ("240.0.0.1", False),
        ("255.255.255.255", False),
        ("198.18.0.1", False),
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("fec0::1", False),  # site-local, though "global"
        ("ff0e::1", False),  # multicast, though "global"
        ("::ffff:127.0.0.1", False),
        ("::ffff:8.8.8.8", False),  # IPv4-mapped: refused whatever it maps to
        ("::127.0.0.1", False),  # IPv4-compatible, though "global"
        ("64:ff9b::7f00:1", False),  # NAT64 of loopback, though "global"
        ("2002:7f00:1::", False),  # 6to4
        ("2001::1", False),  # Teredo
    ],
)
def test_only_public_addresses_by_default(address: str, allowed: bool) -> None:
    assert UrlPolicy().allows_address(ipaddress.ip_address(address)) is allowed


def test_allow_list_entries() -> None:
    policy = UrlPolicy.parse(["192.168.1.0/24", "10.0.0.7", "Camera.LAN.", "fd00::/8"])
    assert policy.allows_address(ipaddress.ip_address("192.168.1.77"))
    assert policy.allows_address(ipaddress.ip_address("10.0.0.7"))
    assert not policy.allows_address(ipaddress.ip_address("10.0.0.8"))
    assert policy.allows_address(ipaddress.ip_address("fd12::1"))
    assert policy.allows_host("camera.lan")
    assert not policy.allows_host("camera.lan.evil.example")
    for bad in ("not a host", "http://x/", "10.0.0.0/33"):
        with pytest.raises(ValueError, match="allow entry"):
            UrlPolicy.parse([bad])
