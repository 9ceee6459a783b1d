"""Every documented error, the retry policy, and the token never leaking."""

from __future__ import annotations

import logging
import socket

import pytest

from platereader import (
    PlateReader,
    PlateReaderAuthenticationError,
    PlateReaderConnectionError,
    PlateReaderError,
    PlateReaderNoCreditsError,
    PlateReaderPayloadTooLargeError,
    PlateReaderRateLimitError,
    PlateReaderResponseError,
    PlateReaderServerError,
    PlateReaderTimeoutError,
)
from tests.fake_api import NO_CREDITS_BODY, FakePlateRecognizer, throttled_body

from .conftest import make_jpeg

SECRET = "s3cr3t-token-value-0123456789"


@pytest.fixture
def fake(fake_api: FakePlateRecognizer) -> FakePlateRecognizer:
    fake_api.tokens = {SECRET}
    return fake_api


def client(fake: FakePlateRecognizer, **kwargs: object) -> PlateReader:
    options: dict[str, object] = {"rate_limit": None, "backoff": 0.001, "max_backoff": 0.01}
    options.update(kwargs)
    return PlateReader(fake.url, SECRET, **options)  # type: ignore[arg-type]


def statuses(fake: FakePlateRecognizer) -> list[int | None]:
    return [request.status for request in fake.requests]


async def test_wrong_token_is_not_retried(fake: FakePlateRecognizer, jpeg: bytes) -> None:
    async with PlateReader(fake.url, "wrong", rate_limit=None) as reader:
        with pytest.raises(PlateReaderAuthenticationError, match="token is wrong") as caught:
            await reader.read(jpeg)
    assert caught.value.status == 403
    assert statuses(fake) == [403]


async def test_no_credits(fake: FakePlateRecognizer, jpeg: bytes) -> None:
    fake.fail_next(403, body=NO_CREDITS_BODY)
    async with client(fake) as reader:
        with pytest.raises(PlateReaderNoCreditsError, match="no credits"):
            await reader.read(jpeg)
    assert len(fake.requests) == 1


async def test_quota_used_up_is_no_credits(fake: FakePlateRecognizer, jpeg: bytes) -> None:
    fake.total_calls = 1
    async with client(fake) as reader:
        await reader.read(jpeg)
        with pytest.raises(PlateReaderNoCreditsError):
            await reader.read(jpeg)
    assert statuses(fake) == [200, 403]


async def test_413_shrinks_and_retries_once(fake: FakePlateRecognizer) -> None:
    image = make_jpeg(1200, 900, noise=True)
    fake.max_upload_bytes = len(image) // 3
    async with client(fake) as reader:
        response = await reader.read(image)
    assert statuses(fake) == [413, 200]
    assert fake.requests[1].body_size <= fake.max_upload_bytes
    assert response.scale > 1  # boxes mapped back to the original


async def test_413_twice_gives_up(fake: FakePlateRecognizer, jpeg: bytes) -> None:
    fake.fail_next(413, times=2)
    async with client(fake) as reader:
        with pytest.raises(PlateReaderPayloadTooLargeError, match="too large") as caught:
            await reader.read(jpeg)
    assert caught.value.status == 413
    assert "<" not in str(caught.value)  # the proxy's HTML page is summarised, not dumped
    assert len(fake.requests) == 2


async def test_413_for_an_url_is_not_retried(fake: FakePlateRecognizer) -> None:
    fake.fail_next(413)
    async with client(fake) as reader:
        with pytest.raises(PlateReaderPayloadTooLargeError):
            await reader.read("https://example.com/car.jpg")
    assert len(fake.requests) == 1


async def test_429_is_retried_after_the_servers_hint(
    fake: FakePlateRecognizer, jpeg: bytes
) -> None:
    fake.fail_next(429, body=throttled_body(0))
    async with client(fake) as reader:
        response = await reader.read(jpeg)
    assert response.results[0].plate == "nhk552"
    assert statuses(fake) == [429, 200]


async def test_429_retry_after_is_parsed_and_pauses_the_limiter(
    fake: FakePlateRecognizer, jpeg: bytes
) -> None:
    fake.fail_next(429, body=throttled_body(30))
    async with client(fake, rate_limit=100.0, retries=0) as reader:
        with pytest.raises(PlateReaderRateLimitError) as caught:
            await reader.read(jpeg)
        # The next caller of the same limiter is held back for the server's 30 seconds
        # (less the moments this machine took since: a wide margin, not a tight one).
        assert reader.limiter.reserve() > 20
    assert caught.value.retry_after == 30.0
    assert "30 s" in str(caught.value)


async def test_real_throttling_is_retried(fake: FakePlateRecognizer, jpeg: bytes) -> None:
    fake.rate_limit = 1.0
    # The server's clock moves half a second per lookup, whatever the real pace: the
    # second lookup falls in the first one's second (429), the retry just after it.
    ticks = iter(range(100))
    fake.clock = lambda: next(ticks) * 0.5
    # No limiter on our side: the second lookup hits the server's 429, waits and succeeds.
    async with client(fake, rate_limit=None, max_backoff=0.01) as reader:
        await reader.read(jpeg)
        await reader.read(jpeg)
    assert statuses(fake) == [200, 429, 200]


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_server_errors_are_retried(
    fake: FakePlateRecognizer, jpeg: bytes, status: int
) -> None:
    fake.fail_next(status, times=2)
    async with client(fake, retries=2) as reader:
        await reader.read(jpeg)
    assert statuses(fake) == [status, status, 200]


async def test_server_errors_exhaust_the_retries(fake: FakePlateRecognizer, jpeg: bytes) -> None:
    fake.fail_next(503, times=5)
    async with client(fake, retries=2) as reader:
        with pytest.raises(PlateReaderServerError, match="server error 503") as caught:
            await reader.read(jpeg)
    assert caught.value.status == 503
    assert len(fake.requests) == 3


async def test_dropped_connection_is_retried(fake: FakePlateRecognizer, jpeg: bytes) -> None:
    fake.fail_next("drop")
    async with client(fake) as reader:
        await reader.read(jpeg)
    assert [r.fault for r in fake.requests] == ["drop", None]


async def test_dropped_connections_give_a_connection_error(
    fake: FakePlateRecognizer, jpeg: bytes
) -> None:
    fake.fail_next("drop", times=3)
    async with client(fake, retries=2) as reader:
        with pytest.raises(PlateReaderConnectionError, match="cannot reach"):
            await reader.read(jpeg)


async def test_garbage_is_a_response_error_and_not_retried(
    fake: FakePlateRecognizer, jpeg: bytes
) -> None:
    fake.fail_next("garbage")
    async with client(fake) as reader:
        with pytest.raises(PlateReaderResponseError, match="not JSON"):
            await reader.read(jpeg)
    assert len(fake.requests) == 1


async def test_slow_server_times_out(fake: FakePlateRecognizer, jpeg: bytes) -> None:
    fake.fail_next("timeout-ish", times=2)
    # The timeout covers connecting and sending too: long enough for a busy machine to
    # deliver both attempts (counted below), which then hang until it expires.
    async with client(fake, timeout=2.0, retries=1) as reader:
        with pytest.raises(PlateReaderTimeoutError, match=r"no answer within 2 s"):
            await reader.read(jpeg)
    assert len(fake.requests) == 2


async def test_timeout_then_success(fake: FakePlateRecognizer, jpeg: bytes) -> None:
    fake.fail_next("timeout-ish")
    # The hung request times out whatever the value; the second must answer within it,
    # so it is generous for a busy machine.
    async with client(fake, timeout=3.0) as reader:
        await reader.read(jpeg)
    assert [r.status for r in fake.requests] == [None, 200]


async def test_nothing_listening(socket_enabled: None, jpeg: bytes) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with PlateReader(f"http://127.0.0.1:{port}", SECRET, retries=1, backoff=0.001) as reader:
        with pytest.raises(PlateReaderConnectionError, match="cannot reach the server"):
            await reader.read(jpeg)
        with pytest.raises(PlateReaderConnectionError):
            await reader.statistics()


async def test_other_4xx_is_a_bad_request(fake: FakePlateRecognizer, jpeg: bytes) -> None:
    fake.fail_next(400, body={"error": "upload: not an image"})
    async with client(fake) as reader:
        with pytest.raises(PlateReaderError, match=r"refused with 400.*not an image"):
            await reader.read(jpeg)
    assert len(fake.requests) == 1


async def test_the_token_never_leaks(
    fake: FakePlateRecognizer, jpeg: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # A server that echoes the request's headers into its error body.
    fake.fail_next(403, body={"detail": f"Invalid token {SECRET}."})
    fake.fail_next(500, body={"detail": f"Authorization: Token {SECRET}"})
    fake.fail_next(400, body={"error": SECRET})
    errors: list[BaseException] = []
    reader = client(fake, retries=0)
    async with reader:
        for _ in range(3):
            with pytest.raises(PlateReaderError) as caught:
                await reader.read(jpeg)
            errors.append(caught.value)
    texts = [str(e) for e in errors] + [repr(e) for e in errors] + [repr(reader), caplog.text]
    texts += [str(getattr(e, "detail", "")) for e in errors]
    for text in texts:
        assert SECRET not in text
    assert "***" in str(errors[0])


async def test_credentials_in_the_url_are_not_shown(fake: FakePlateRecognizer) -> None:
    url = fake.url.replace("http://", "http://user:pa55word@")
    reader = PlateReader(url)
    assert "pa55word" not in repr(reader)
    assert reader.api_url == fake.url
    await reader.close()
