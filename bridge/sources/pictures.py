"""Fetchers for the pictures the sources name: a URL (snapshot topics), a file (folders).

The service hands them, with the Frigate client (event snapshots), to the
pipeline, which fetches a job's picture when a reader starts on it.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

import httpx

from bridge.frigate import FrigateClient
from bridge.jobs import FileRequest, PictureFetcher, PictureKind, SnapshotError, UrlRequest

URL_TIMEOUT = 15.0


class UrlFetcher:
    """GET over the service's shared HTTP client; at most `max_bytes`; no redirects
    (the session is made without them: the source checked the host, not a redirect's)."""

    def __init__(self, session: httpx.AsyncClient) -> None:
        self._session = session

    async def fetch(self, request: UrlRequest) -> bytes:
        url, limit = request.url, request.max_bytes
        # Shown without credentials, query or fragment.
        where = urlsplit(url)._replace(query="", fragment="", netloc=urlsplit(url).hostname or "")
        try:
            async with self._session.stream("GET", url, timeout=URL_TIMEOUT) as response:
                if response.status_code != 200:
                    raise SnapshotError(
                        f"GET {where.geturl()}: HTTP {response.status_code}",
                        retryable=response.status_code >= 500,
                    )
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > limit:
                        raise SnapshotError(
                            f"GET {where.geturl()}: over {limit} bytes", retryable=False
                        )
                    chunks.append(chunk)
                return b"".join(chunks)
        except httpx.HTTPError as err:
            raise SnapshotError(f"GET {where.geturl()}: {type(err).__name__}") from None


class FileFetcher:
    """Reads the file in a thread (a network share may be slow)."""

    async def fetch(self, request: FileRequest) -> bytes:
        try:
            return await asyncio.to_thread(request.path.read_bytes)
        except OSError as err:
            raise SnapshotError(f"cannot read {request.path}: {err.strerror or err}") from None


def picture_fetchers(
    session: httpx.AsyncClient, frigate: FrigateClient | None
) -> dict[PictureKind, PictureFetcher[Any]]:
    """Every kind of picture request the sources make, and who fetches it."""
    fetchers: dict[PictureKind, PictureFetcher[Any]] = {
        "url": UrlFetcher(session),
        "file": FileFetcher(),
    }
    if frigate is not None:
        fetchers["frigate_event"] = frigate
    return fetchers
