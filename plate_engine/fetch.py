"""Download the image of an `upload_url` lookup, within limits.

The URL comes from whoever can reach the engine, so the download is fenced: http(s)
only (also after each redirect: a redirect to file:// or ftp:// is refused), at most
`MAX_REDIRECTS` redirects, a size limit checked while streaming (Content-Length can lie
or be absent) and one deadline for the whole download, redirects included.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Final
from urllib.parse import unquote, urlsplit

import httpx

from .settings import redact_url

MAX_REDIRECTS: Final = 3
_CHUNK = 64 * 1024


class FetchError(Exception):
    """The image could not be fetched; the message is safe to return to the caller."""


@dataclass(frozen=True, slots=True)
class Fetched:
    data: bytes
    filename: str | None  # the last path segment of the final URL, if any


def check_url(url: str) -> None:
    """Raise FetchError unless `url` is an absolute http(s) URL."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise FetchError(f"field 'upload_url' must be an http(s) URL, got {redact_url(url)!r}")


def new_client() -> httpx.AsyncClient:
    # trust_env=False: the engine is meant for the local network; a proxy from the
    # environment would send camera URLs elsewhere. Redirects are followed by hand.
    return httpx.AsyncClient(follow_redirects=False, trust_env=False)


async def fetch_image(
    client: httpx.AsyncClient, url: str, *, max_bytes: int, time_limit: float
) -> Fetched:
    """GET `url` (and up to MAX_REDIRECTS http(s) redirects); the body, at most `max_bytes`."""
    check_url(url)
    try:
        async with asyncio.timeout(time_limit):
            return await _follow(client, url, max_bytes)
    except TimeoutError:
        raise FetchError(
            f"field 'upload_url': {redact_url(url)} did not answer within {time_limit:g} s"
        ) from None
    except httpx.HTTPError as err:
        reason = type(err).__name__ + (f": {err}" if str(err) else "")
        raise FetchError(f"field 'upload_url': cannot fetch {redact_url(url)} ({reason})") from None


async def _follow(client: httpx.AsyncClient, url: str, max_bytes: int) -> Fetched:
    current = httpx.URL(url)
    for _ in range(MAX_REDIRECTS + 1):
        async with client.stream("GET", current, timeout=None) as response:
            if response.is_redirect:
                location = response.headers.get("Location", "")
                target = current.join(location)
                if target.scheme not in ("http", "https"):
                    raise FetchError(
                        f"field 'upload_url': {redact_url(str(current))} redirects to a "
                        f"{target.scheme or 'relative'}: URL; only http(s) is fetched"
                    )
                current = target
                continue
            if response.status_code != 200:
                raise FetchError(
                    f"field 'upload_url': {redact_url(str(current))} answered HTTP "
                    f"{response.status_code}"
                )
            data = await _read_limited(response, max_bytes, str(current))
            name = unquote(current.path.rstrip("/").rsplit("/", 1)[-1]) or None
            return Fetched(data, name)
    raise FetchError(
        f"field 'upload_url': more than {MAX_REDIRECTS} redirects from {redact_url(url)}"
    )


async def _read_limited(response: httpx.Response, max_bytes: int, url: str) -> bytes:
    too_big = FetchError(
        f"field 'upload_url': {redact_url(url)} is larger than the engine's "
        f"{max_bytes} byte upload limit"
    )
    declared = response.headers.get("Content-Length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise too_big
    body = bytearray()
    async for chunk in response.aiter_bytes(_CHUNK):
        body += chunk
        if len(body) > max_bytes:
            raise too_big
    return bytes(body)
