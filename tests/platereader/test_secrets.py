"""The API token never leaves the client in text: errors, their chains, any log line.

A real server on 127.0.0.1 plays a proxy or captive portal that echoes the request's
`Authorization` header into whatever it answers (an HTML page, broken JSON, JSON of
the wrong shape, error bodies, response headers); the client must redact it on
every path, and the HTTP libraries' debug logs must not show it either.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import pytest_asyncio
from aiohttp import web

from platereader import (
    PlateReader,
    PlateReaderAuthenticationError,
    PlateReaderConfigError,
    PlateReaderError,
    PlateReaderHTTPError,
    PlateReaderRateLimitError,
    PlateReaderResponseError,
    PlateReaderServerError,
)
from platereader.redact import MAX_SECRETS, REDACTED, SecretFilter, redact
from tests.error_texts import texts_of

SECRET = "0123456789abcdef0123456789abcdef01234567"  # the shape of a cloud token
ECHO = "{auth}"  # replaced by the request's Authorization header


@dataclass
class Answer:
    status: int
    body: str
    content_type: str


@dataclass
class EchoServer:
    """Answers every request with `answer`, echoing its Authorization header everywhere."""

    url: str = ""
    answer: Answer = field(default_factory=lambda: Answer(200, "{}", "application/json"))
    seen: list[str] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        self.seen.append(auth)
        await request.read()
        body = self.answer.body.replace(ECHO, auth)
        headers = {
            "X-Echo-Authorization": auth,
            "Set-Cookie": f"portal_session={auth.split()[-1]}; Path=/",
        }
        if 300 <= self.answer.status < 400:
            headers["Location"] = f"http://portal.invalid/login?token={auth.split()[-1]}"
        return web.Response(
            status=self.answer.status,
            body=body.encode(),
            content_type=self.answer.content_type,
            headers=headers,
        )


@pytest_asyncio.fixture
async def echo(socket_enabled: None) -> AsyncIterator[EchoServer]:
    server = EchoServer()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", server.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield server
    finally:
        await runner.cleanup()


PORTAL = (
    "<html><head><title>Wi-Fi login - {auth}</title></head>"
    "<body><p>We intercepted: Authorization: {auth}</p></body></html>"
)

# (status, body, content type, the error expected, a word its message must keep)
SHAPES = {
    "200 captive portal page": (200, PORTAL, "text/html", PlateReaderResponseError, "HTML"),
    "200 invalid JSON": (
        200,
        '{"echo": "{auth}", ',
        "application/json",
        PlateReaderResponseError,
        "not JSON",
    ),
    "200 plain text": (200, "you sent {auth}", "text/plain", PlateReaderResponseError, "not JSON"),
    "200 JSON of the wrong shape": (
        200,
        '{"results": "{auth}", "echo": {"authorization": "{auth}"}}',
        "application/json",
        PlateReaderResponseError,
        "documented shape",
    ),
    "200 JSON results of the wrong shape": (
        200,
        '{"results": [{"plate": "{auth}", "box": "{auth}"}]}',
        "application/json",
        PlateReaderResponseError,
        "documented shape",
    ),
    "200 JSON list": (200, '["{auth}"]', "application/json", PlateReaderResponseError, "list"),
    "302 to a portal": (302, PORTAL, "text/html", PlateReaderHTTPError, "302"),
    "403 JSON echo": (
        403,
        '{"detail": "Invalid token: {auth}"}',
        "application/json",
        PlateReaderAuthenticationError,
        "forbidden",
    ),
    "403 HTML echo": (403, PORTAL, "text/html", PlateReaderAuthenticationError, "forbidden"),
    "429 echo": (
        429,
        '{"detail": "{auth} throttled. Expected available in 0 seconds."}',
        "application/json",
        PlateReaderRateLimitError,
        "throttled",
    ),
    "400 JSON list echo": (
        400,
        '[{"sent": "{auth}"}]',
        "application/json",
        PlateReaderError,
        "400",
    ),
    "503 HTML echo": (503, PORTAL, "text/html", PlateReaderServerError, "503"),
    "500 text echo": (500, "Authorization: {auth}", "text/plain", PlateReaderServerError, "500"),
}


@pytest.mark.parametrize("shape", list(SHAPES))
async def test_an_echoed_token_is_redacted_on_every_path(
    echo: EchoServer, caplog: pytest.LogCaptureFixture, jpeg: bytes, shape: str
) -> None:
    status, body, content_type, expected, keeps = SHAPES[shape]
    echo.answer = Answer(status, body, content_type)
    caplog.set_level(logging.DEBUG)  # every logger, httpx and httpcore included
    async with PlateReader(echo.url, SECRET, rate_limit=None, retries=0) as reader:
        with pytest.raises(expected) as caught:
            await reader.read(jpeg)
        with pytest.raises(expected) as caught_stats:
            await reader.statistics()
    assert echo.seen == [f"Token {SECRET}"] * 2  # it was sent, and echoed back
    for err in (caught.value, caught_stats.value):
        assert keeps in str(err)  # still says what went wrong
        for text in texts_of(err):
            assert SECRET not in text
    # The HTTP libraries logged the echoed headers at debug level, redacted.
    assert "x-echo-authorization" in caplog.text.lower()
    assert SECRET not in caplog.text
    assert REDACTED in caplog.text


async def test_the_portal_page_is_summarised_not_dumped(echo: EchoServer) -> None:
    echo.answer = Answer(200, PORTAL, "text/html")
    async with PlateReader(echo.url, SECRET, rate_limit=None, retries=0) as reader:
        with pytest.raises(PlateReaderResponseError) as caught:
            await reader.info()
    message = str(caught.value)
    assert "answer is not JSON (an HTML page titled 'Wi-Fi login - Token ***')" in message
    assert "<" not in message


async def test_an_echo_inside_a_valid_answer_is_not_kept(echo: EchoServer, jpeg: bytes) -> None:
    answer = {
        "processing_time": 1.0,
        "results": [],
        "filename": "car.jpg",
        "version": 1,
        "camera_id": None,
        "timestamp": "2024-01-01T00:00:00Z",
        "echo": {"headers": {"Authorization": ECHO}},
    }
    echo.answer = Answer(200, json.dumps(answer), "application/json")
    async with PlateReader(echo.url, SECRET, rate_limit=None) as reader:
        response = await reader.read(jpeg)
    assert response.raw["echo"] == {"headers": {"Authorization": f"Token {REDACTED}"}}
    assert SECRET not in repr(response)


def test_credentials_in_a_bad_url_are_not_shown() -> None:
    with pytest.raises(PlateReaderConfigError) as caught:
        PlateReader("ftp://admin:hunter22@example.com/")
    assert "hunter22" not in str(caught.value)
    assert "ftp://***@example.com/" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Token abcdef", "Authorization: Token ***"),
        ('{"authorization": "Bearer abc.def"}', '{"authorization": "Bearer ***"}'),
        (  # httpcore's debug line of a response's headers
            "return_value=(b'HTTP/1.1', 200, [(b'set-cookie', b'frigate_token=x1; Path=/')])",
            "return_value=(b'HTTP/1.1', 200, [(b'set-cookie', b'***')])",
        ),
        ("Cookie: a=1; b=2", "Cookie: ***"),
        ("GET http://h/api?token=abc&x=1", "GET http://h/api?token=***&x=1"),
        ('{"password": "pw-1", "user": "a"}', '{"password": "***", "user": "a"}'),
        ("login as http://admin:pa55@frigate:5000/api", "login as http://***@frigate:5000/api"),
        ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln done", "jwt *** done"),
        ("sent Bearer 0123456789abcdef0123", "sent Bearer ***"),
        # Ordinary text stays as it is.
        ("the API token is wrong or missing (Invalid token.)", None),
        ("api.token: Input should be a valid string (line 3)", None),
        ("engine config key 'mode': Input should be 'fast' or 'redaction'", None),
        ("read NHK552 on gate in 0.41 s; tokens_left=5", None),
    ],
)
def test_redact(text: str, expected: str | None) -> None:
    assert redact(text) == (text if expected is None else expected)


def test_redact_known_secrets_also_url_encoded() -> None:
    secret = "p@ss w/rd+1"
    text = f"a {secret} b http://h/?x=p%40ss%20w%2Frd%2B1 c"
    assert redact(text, [secret]) == "a *** b http://h/?x=*** c"
    assert redact("abc", ["ab"]) == "abc"  # too short to replace blindly


def test_the_log_filter_redacts_messages_arguments_and_tracebacks() -> None:
    secret = "mqtt-pa55word"
    log_filter = SecretFilter([secret])
    try:
        raise RuntimeError(f"boom with {secret}")
    except RuntimeError as err:
        record = logging.LogRecord(
            "paho", logging.DEBUG, __file__, 1, "sent %s and %r", (secret, {"pw": secret}), None
        )
        record.exc_info = (type(err), err, err.__traceback__)
    record.stack_info = f"stack {secret}"
    assert log_filter.filter(record) is True  # redacts, never drops
    handler = logging.StreamHandler()
    text = handler.format(record)
    assert secret not in text
    assert "sent *** and {'pw': '***'}" in text
    assert "RuntimeError: boom with ***" in text


def test_the_log_filter_keeps_a_bounded_number_of_secrets() -> None:
    log_filter = SecretFilter()
    log_filter.add(*(f"secret-number-{n:03d}" for n in range(MAX_SECRETS + 10)))
    log_filter.add("secret-number-000")  # used again: the newest once more
    record = logging.LogRecord(
        "x",
        logging.INFO,
        __file__,
        1,
        "%s %s %s",
        ("secret-number-000", "secret-number-005", f"secret-number-{MAX_SECRETS + 9:03d}"),
        None,
    )
    log_filter.filter(record)
    assert record.getMessage() == "*** secret-number-005 ***"
