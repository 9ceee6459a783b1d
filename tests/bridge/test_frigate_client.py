"""FrigateClient against a small fake Frigate (aiohttp on 127.0.0.1).

The fake answers like the real API of the version it impersonates: 0.14
(Flask) reads the resize height from ``h``, 0.15+ (FastAPI) from ``height``.
Where the real server would silently ignore a wrong name (and return a
full-size image), the fake answers 400 so a wrong guess fails the test.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

import httpx
import pytest
from aiohttp import web

from bridge.frigate import FrigateClient, FrigateError, height_param_for, parse_version

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64 + b"\xff\xd9"
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 32
PASSWORD = "correct horse battery staple"
TOKEN = "static-api-token-s3cr3t"

AuthKind = Literal["none", "login", "bearer", "basic"]


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    authorization: str | None


@dataclass
class FakeFrigate:
    version: str = "0.15.1-4d4d54f"
    auth: AuthKind = "none"
    events: dict[str, bytes] = field(default_factory=lambda: {"1718987129.3-abc": JPEG})
    cameras: set[str] = field(default_factory=lambda: {"driveway"})
    requests: list[Seen] = field(default_factory=list)
    logins: int = 0
    issued: set[str] = field(default_factory=set)
    version_status: int = 200
    snapshot_status: int | None = None  # force a status for the event snapshot
    delay: float = 0.0

    @property
    def flask(self) -> bool:
        parsed = parse_version(self.version)
        return parsed is not None and parsed < (0, 15, 0)

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    # -- auth ------------------------------------------------------------------------

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        if self.auth == "none":
            return True
        if self.auth == "bearer":
            return header == f"Bearer {TOKEN}"
        if self.auth == "basic":
            expected = base64.b64encode(f"admin:{PASSWORD}".encode()).decode()
            return header == f"Basic {expected}"
        # login: JWT from /api/login, as Bearer header or as cookie
        if header.startswith("Bearer ") and header[len("Bearer ") :] in self.issued:
            return True
        return request.cookies.get("frigate_token") in self.issued

    @web.middleware
    async def middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        self.requests.append(
            Seen(
                request.method,
                request.path,
                dict(request.query),
                request.headers.get("Authorization"),
            )
        )
        if self.delay:
            await asyncio.sleep(self.delay)
        public = request.path in ("/api/login", "/api/version")
        if not public and not self._authorized(request):
            return web.Response(status=401, text="")
        return await handler(request)

    async def login(self, request: web.Request) -> web.Response:
        if self.auth != "login":
            return web.Response(status=404, text="Not Found")
        body = await request.json()
        if body != {"user": "admin", "password": PASSWORD}:
            # Flask 0.14 answered 400, FastAPI 0.15+ 401
            return web.json_response({"message": "Login failed"}, status=400 if self.flask else 401)
        self.logins += 1
        jwt = f"jwt-{secrets.token_hex(8)}"
        self.issued.add(jwt)
        response = web.json_response({})
        response.set_cookie("frigate_token", jwt, httponly=True)
        return response

    async def api_version(self, request: web.Request) -> web.Response:
        if self.version_status != 200:
            return web.Response(status=self.version_status, text="boom")
        return web.Response(text=self.version)

    def _check_height(self, request: web.Request) -> web.Response | None:
        right, wrong = ("h", "height") if self.flask else ("height", "h")
        if wrong in request.query:
            return web.Response(status=400, text=f"{self.version} does not know {wrong!r}")
        if right in request.query and not request.query[right].isdigit():
            return web.Response(status=400, text=f"bad {right}")
        return None

    async def event_snapshot(self, request: web.Request) -> web.Response:
        if (bad := self._check_height(request)) is not None:
            return bad
        if request.query.get("crop") not in (None, "0", "1"):
            return web.Response(status=400, text="crop must be 0 or 1")
        if self.snapshot_status is not None:
            return web.Response(status=self.snapshot_status, text="forced")
        data = self.events.get(request.match_info["event_id"])
        if data is None:
            return web.json_response({"success": False, "message": "Event not found"}, status=404)
        if not data.startswith(b"\xff\xd8"):
            return web.Response(body=data, content_type="text/html")
        return web.Response(body=data, content_type="image/jpeg")

    async def latest(self, request: web.Request) -> web.Response:
        if (bad := self._check_height(request)) is not None:
            return bad
        if "crop" in request.query:
            return web.Response(status=400, text="latest.jpg has no crop")
        if request.match_info["camera"] not in self.cameras:
            return web.json_response({"success": False, "message": "Camera not found"}, status=404)
        # 0.14's latest.jpg encodes WebP whatever the extension
        if self.flask:
            return web.Response(body=WEBP, content_type="image/webp")
        return web.Response(body=JPEG, content_type="image/jpeg")

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self.middleware])
        app.router.add_post("/api/login", self.login)
        app.router.add_get("/api/version", self.api_version)
        app.router.add_get("/api/events/{event_id}/snapshot.jpg", self.event_snapshot)
        app.router.add_get("/api/{camera}/latest.jpg", self.latest)
        return app


@dataclass
class Server:
    fake: FakeFrigate
    url: str


@pytest.fixture
def fake() -> FakeFrigate:
    return FakeFrigate()


@pytest.fixture
async def server(socket_enabled: None, fake: FakeFrigate) -> AsyncIterator[Server]:
    runner = web.AppRunner(fake.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield Server(fake, f"http://{host}:{port}")
    finally:
        await runner.cleanup()


@pytest.fixture
async def session() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


EVENT = "1718987129.3-abc"


def snapshot_queries(fake: FakeFrigate) -> list[dict[str, str]]:
    return [r.query for r in fake.requests if r.path.endswith("/snapshot.jpg")]


# --------------------------------------------------------------------------- helpers


@pytest.mark.parametrize(
    ("version", "name"),
    [
        ("0.13.2-6476f8a", "h"),
        ("0.14.0", "h"),
        ("0.14.1-f4f3cfa", "h"),
        ("0.15.0-beta1", "height"),
        ("0.15.1-4d4d54f", "height"),
        ("0.16.0", "height"),
        ("1.0.0", "height"),
        (None, "height"),
        ("dev-build", "height"),
    ],
)
def test_height_param_for(version: str | None, name: str) -> None:
    assert height_param_for(version) == name


def test_parse_version() -> None:
    assert parse_version("0.14.1-f4f3cfa") == (0, 14, 1)
    assert parse_version("0.16") == (0, 16, 0)
    assert parse_version("v0.15.0-beta2") == (0, 15, 0)
    assert parse_version("nightly") is None


def test_constructor_validation() -> None:
    client = httpx.AsyncClient()
    with pytest.raises(ValueError, match="http"):
        FrigateClient("frigate:5000", session=client)
    with pytest.raises(ValueError, match="together"):
        FrigateClient("http://frigate:5000", session=client, username="admin")
    with pytest.raises(ValueError, match="quality"):
        FrigateClient("http://frigate:5000", session=client, quality=0)
    with pytest.raises(ValueError, match="height"):
        FrigateClient("http://frigate:5000", session=client, height=0)


def test_base_url_normalisation_and_credentials_in_url() -> None:
    client = httpx.AsyncClient()
    assert FrigateClient("http://frigate:5000/", session=client).base_url == "http://frigate:5000"
    assert (
        FrigateClient("http://frigate:5000/api", session=client).base_url == "http://frigate:5000"
    )
    with_path = FrigateClient("https://ha.local/frigate/api/", session=client)
    assert with_path.base_url == "https://ha.local/frigate"
    secret = FrigateClient(f"http://admin:{PASSWORD}@frigate:8971", session=client)
    assert PASSWORD not in secret.base_url
    assert "admin" not in secret.base_url
    assert FrigateClient("http://[::1]:5000", session=client).base_url == "http://[::1]:5000"


# --------------------------------------------------------------------------- parameters per version


@pytest.mark.parametrize(
    ("version", "height_name"),
    [("0.14.1-f4f3cfa", "h"), ("0.15.1-4d4d54f", "height"), ("0.16.0-4f3d1fb", "height")],
)
async def test_snapshot_parameters_per_version(
    server: Server, session: httpx.AsyncClient, version: str, height_name: str
) -> None:
    server.fake.version = version
    client = FrigateClient(server.url, session=session, version=version, height=480)
    assert await client.snapshot(EVENT, "driveway") == JPEG
    assert snapshot_queries(server.fake) == [{"crop": "1", "quality": "95", height_name: "480"}]
    assert "/api/version" not in server.fake.paths()  # version given: no detection


async def test_no_height_sends_no_height_and_skips_detection(
    server: Server, session: httpx.AsyncClient
) -> None:
    client = FrigateClient(server.url, session=session, crop=False, quality=80)
    assert await client.snapshot(EVENT, "driveway") == JPEG
    assert snapshot_queries(server.fake) == [{"crop": "0", "quality": "80"}]
    assert server.fake.paths() == [f"/api/events/{EVENT}/snapshot.jpg"]


@pytest.mark.parametrize(("version", "height_name"), [("0.14.2", "h"), ("0.16.1-abc", "height")])
async def test_version_is_detected_once(
    server: Server, session: httpx.AsyncClient, version: str, height_name: str
) -> None:
    server.fake.version = version
    client = FrigateClient(server.url, session=session, height=320)
    await client.snapshot(EVENT, "driveway")
    await client.snapshot(EVENT, "driveway")
    assert server.fake.paths().count("/api/version") == 1
    assert [q.get(height_name) for q in snapshot_queries(server.fake)] == ["320", "320"]


async def test_failed_version_detection_assumes_new_names(
    server: Server, session: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    server.fake.version_status = 500
    client = FrigateClient(server.url, session=session, height=240)
    with caplog.at_level(logging.WARNING, logger="bridge.frigate"):
        assert await client.snapshot(EVENT, "driveway") == JPEG
        await client.snapshot(EVENT, "driveway")
    assert snapshot_queries(server.fake)[0]["height"] == "240"
    assert server.fake.paths().count("/api/version") == 1  # not retried on every snapshot
    assert "assuming 0.15+" in caplog.text


async def test_version(server: Server, session: httpx.AsyncClient) -> None:
    server.fake.version = "0.16.0-4f3d1fb"
    assert await FrigateClient(server.url, session=session).version() == "0.16.0-4f3d1fb"


async def test_event_id_is_path_quoted(server: Server, session: httpx.AsyncClient) -> None:
    odd = "1718987129.3-a/b c"
    server.fake.events[odd] = JPEG
    client = FrigateClient(server.url, session=session)
    assert await client.snapshot(odd, "driveway") == JPEG


# --------------------------------------------------------------------------- fallback


@pytest.mark.parametrize(
    ("version", "height_name", "image"),
    [("0.14.1", "h", WEBP), ("0.15.1", "height", JPEG), ("0.16.0", "height", JPEG)],
)
async def test_fallback_to_latest_on_404(
    server: Server, session: httpx.AsyncClient, version: str, height_name: str, image: bytes
) -> None:
    server.fake.version = version
    client = FrigateClient(server.url, session=session, version=version, height=720, quality=90)
    result = await client.fetch_snapshot("unknown-event", "driveway")
    assert result.data == image
    assert result.source == "latest"
    assert result.content_type == ("image/webp" if image is WEBP else "image/jpeg")
    latest = [r for r in server.fake.requests if r.path == "/api/driveway/latest.jpg"]
    assert len(latest) == 1
    assert latest[0].query == {"quality": "90", height_name: "720"}


async def test_fallback_when_snapshot_is_not_an_image(
    server: Server, session: httpx.AsyncClient
) -> None:
    server.fake.events[EVENT] = b"<html>proxy error page</html>"
    client = FrigateClient(server.url, session=session)
    result = await client.fetch_snapshot(EVENT, "driveway")
    assert result.source == "latest"
    assert result.data == JPEG


async def test_event_snapshot_source(server: Server, session: httpx.AsyncClient) -> None:
    result = await FrigateClient(server.url, session=session).fetch_snapshot(EVENT, "driveway")
    assert result.source == "event"
    assert result.content_type == "image/jpeg"


async def test_no_snapshot_and_no_latest_frame(server: Server, session: httpx.AsyncClient) -> None:
    client = FrigateClient(server.url, session=session)
    with pytest.raises(FrigateError, match="latest frame of camera 'garage'") as err:
        await client.snapshot("unknown-event", "garage")
    assert err.value.status == 404


async def test_server_error_is_not_hidden_by_fallback(
    server: Server, session: httpx.AsyncClient
) -> None:
    server.fake.snapshot_status = 500
    client = FrigateClient(server.url, session=session)
    with pytest.raises(FrigateError, match="HTTP 500") as err:
        await client.snapshot(EVENT, "driveway")
    assert err.value.status == 500
    assert not any(r.path.endswith("latest.jpg") for r in server.fake.requests)


# --------------------------------------------------------------------------- auth


async def test_login_flow_and_reuse(server: Server, session: httpx.AsyncClient) -> None:
    server.fake.auth = "login"
    client = FrigateClient(server.url, session=session, username="admin", password=PASSWORD)
    assert await client.snapshot(EVENT, "driveway") == JPEG
    assert await client.snapshot(EVENT, "driveway") == JPEG
    assert server.fake.logins == 1
    # first try unauthenticated (port 5000 needs nothing), then login, then Bearer JWT
    assert server.fake.paths() == [
        f"/api/events/{EVENT}/snapshot.jpg",
        "/api/login",
        f"/api/events/{EVENT}/snapshot.jpg",
        f"/api/events/{EVENT}/snapshot.jpg",
    ]
    authorization = [r.authorization for r in server.fake.requests]
    assert authorization[0] is None
    assert authorization[2] is not None
    assert authorization[2].startswith("Bearer jwt-")
    # the session cookie is not left in the shared client's jar
    assert "frigate_token" not in session.cookies


async def test_expired_session_logs_in_again(server: Server, session: httpx.AsyncClient) -> None:
    server.fake.auth = "login"
    client = FrigateClient(server.url, session=session, username="admin", password=PASSWORD)
    await client.snapshot(EVENT, "driveway")
    server.fake.issued.clear()  # JWT expired / secret rotated
    assert await client.snapshot(EVENT, "driveway") == JPEG
    assert server.fake.logins == 2


@pytest.mark.parametrize("version", ["0.14.1", "0.16.0"])
async def test_wrong_password(server: Server, session: httpx.AsyncClient, version: str) -> None:
    server.fake.auth = "login"
    server.fake.version = version
    client = FrigateClient(server.url, session=session, username="admin", password="hunter2-wrong")
    with pytest.raises(FrigateError, match="login as 'admin' was refused") as err:
        await client.snapshot(EVENT, "driveway")
    assert "hunter2-wrong" not in str(err.value)
    assert err.value.status == (400 if version.startswith("0.14") else 401)


async def test_bearer_token(server: Server, session: httpx.AsyncClient) -> None:
    server.fake.auth = "bearer"
    client = FrigateClient(server.url, session=session, token=TOKEN)
    assert await client.snapshot(EVENT, "driveway") == JPEG
    assert server.fake.requests[0].authorization == f"Bearer {TOKEN}"
    assert "/api/login" not in server.fake.paths()


async def test_wrong_token_is_not_echoed(server: Server, session: httpx.AsyncClient) -> None:
    server.fake.auth = "bearer"
    client = FrigateClient(server.url, session=session, token="wrong-token-value")
    with pytest.raises(FrigateError, match="refused access") as err:
        await client.snapshot(EVENT, "driveway")
    assert "wrong-token-value" not in str(err.value)
    assert err.value.status == 401


async def test_basic_auth_when_there_is_no_login_endpoint(
    server: Server, session: httpx.AsyncClient
) -> None:
    server.fake.auth = "basic"  # e.g. nginx with auth_basic in front of Frigate
    client = FrigateClient(server.url, session=session, username="admin", password=PASSWORD)
    assert await client.snapshot(EVENT, "driveway") == JPEG
    assert "/api/login" in server.fake.paths()  # tried, 404
    last = server.fake.requests[-1].authorization
    assert last is not None
    assert last.startswith("Basic ")
    await client.snapshot(EVENT, "driveway")
    assert server.fake.paths().count("/api/login") == 1


async def test_forced_basic_sends_credentials_up_front(
    server: Server, session: httpx.AsyncClient
) -> None:
    server.fake.auth = "basic"
    client = FrigateClient(
        server.url, session=session, username="admin", password=PASSWORD, auth="basic"
    )
    assert await client.snapshot(EVENT, "driveway") == JPEG
    assert len(server.fake.requests) == 1


async def test_wrong_basic_password(server: Server, session: httpx.AsyncClient) -> None:
    server.fake.auth = "basic"
    client = FrigateClient(server.url, session=session, username="admin", password="nope-nope")
    with pytest.raises(FrigateError, match="refused the credentials") as err:
        await client.snapshot(EVENT, "driveway")
    assert "nope-nope" not in str(err.value)


async def test_auth_required_without_credentials(
    server: Server, session: httpx.AsyncClient
) -> None:
    server.fake.auth = "login"
    with pytest.raises(FrigateError, match="no credentials configured"):
        await FrigateClient(server.url, session=session).snapshot(EVENT, "driveway")


async def test_credentials_from_url_are_used_and_hidden(
    server: Server, session: httpx.AsyncClient
) -> None:
    server.fake.auth = "login"
    # userinfo is percent-encoded in URLs
    url = server.url.replace("http://", f"http://admin:{PASSWORD.replace(' ', '%20')}@")
    client = FrigateClient(url, session=session)
    assert "horse" not in client.base_url
    assert await client.snapshot(EVENT, "driveway") == JPEG
    assert server.fake.logins == 1

    wrong = FrigateClient(server.url.replace("http://", "http://admin:pw-in-url@"), session=session)
    with pytest.raises(FrigateError) as err:
        await wrong.snapshot(EVENT, "driveway")
    assert "pw-in-url" not in str(err.value)


# --------------------------------------------------------------------------- transport failures


async def test_timeout(server: Server, session: httpx.AsyncClient) -> None:
    server.fake.delay = 1.0
    client = FrigateClient(server.url, session=session, timeout=0.1)
    with pytest.raises(FrigateError, match=r"did not answer within 0\.1s"):
        await client.snapshot(EVENT, "driveway")


async def test_connection_refused(socket_enabled: None, session: httpx.AsyncClient) -> None:
    client = FrigateClient("http://127.0.0.1:9", session=session, token=TOKEN, timeout=2)
    with pytest.raises(FrigateError, match="request failed") as err:
        await client.snapshot(EVENT, "driveway")
    assert TOKEN not in str(err.value)


async def test_arguments_required(session: httpx.AsyncClient) -> None:
    client = FrigateClient("http://127.0.0.1:9", session=session)
    with pytest.raises(ValueError, match="required"):
        await client.snapshot("", "driveway")
