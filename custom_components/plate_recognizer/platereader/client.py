"""`PlateReader`: the async client of the Plate Recognizer Snapshot API."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self, cast
from urllib.parse import urlsplit, urlunsplit

import httpx
from pydantic import ValidationError

from .config import EngineConfig, describe_validation_error, normalize_regions, require_regions
from .const import (
    CLOUD_URL,
    DEFAULT_MAX_UPLOAD_BYTES,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    FREE_PLAN_RATE,
    PATH_INFO,
    PATH_READ,
    PATH_STATISTICS,
)
from .exceptions import (
    PlateReaderAuthenticationError,
    PlateReaderBadRequestError,
    PlateReaderConfigError,
    PlateReaderConnectionError,
    PlateReaderError,
    PlateReaderHTTPError,
    PlateReaderNoCreditsError,
    PlateReaderPayloadTooLargeError,
    PlateReaderRateLimitError,
    PlateReaderResponseError,
    PlateReaderServerError,
    PlateReaderTimeoutError,
)
from .image import ImageInput, Upload, is_jpeg_within, load_image, shrink
from .models import ReadResponse, ServerInfo, Statistics
from .ratelimit import RateLimiter
from .redact import HTTP_LOGGERS, REDACTED, protect_loggers, redact, remember_secrets

_LOGGER = logging.getLogger(__name__)

_RETRY_IN = re.compile(r"available in (\d+(?:\.\d+)?) seconds?", re.IGNORECASE)
_HTML_TITLE = re.compile(r"<title>\s*(.*?)\s*</title>", re.IGNORECASE | re.DOTALL)
_DETAIL_LIMIT = 300

_UNSET: Any = object()
_NOT_JSON: Any = object()


class PlateReader:
    """Async client for the cloud API and the on-premise SDK (or our local engine).

    Use it as an async context manager::

        async with PlateReader(token="...") as reader:            # cloud
            response = await reader.read("car.jpg", regions=["gb"])
        async with PlateReader("http://localhost:8080") as reader:  # on-premise
            ...

    `session` lets Home Assistant pass its shared `httpx.AsyncClient`; the
    client then never closes it. `rate_limit` is lookups per second; by default
    1/s (Free plan) with a token and unlimited without one (on-premise).
    Pass one `limiter` to several clients to make them share a single budget.
    """

    def __init__(
        self,
        api_url: str = CLOUD_URL,
        token: str | None = None,
        *,
        session: httpx.AsyncClient | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        rate_limit: float | None = _UNSET,
        limiter: RateLimiter | None = None,
        retries: int = DEFAULT_RETRIES,
        backoff: float = 0.5,
        max_backoff: float = 10.0,
        max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    ) -> None:
        parts = urlsplit(api_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PlateReaderConfigError(f"api_url must be an http(s) URL, got {redact(api_url)!r}")
        if token is not None and not token.strip():
            raise PlateReaderConfigError("token is empty")
        if retries < 0:
            raise PlateReaderConfigError("retries must be 0 or more")
        if max_upload_bytes < 16 * 1024:
            raise PlateReaderConfigError("max_upload_bytes must be at least 16 KiB")
        self._base_url = api_url.rstrip("/")
        self._token = token.strip() if token else None
        # Whatever a server echoes, our loggers and the HTTP libraries' never show these.
        self._secrets = tuple(s for s in (self._token, parts.password) if s)
        remember_secrets(*self._secrets)
        protect_loggers((*HTTP_LOGGERS, _LOGGER.name))
        self._session = session
        self._owns_session = session is None
        self._timeout = timeout
        if limiter is None:
            rate = (FREE_PLAN_RATE if self._token else None) if rate_limit is _UNSET else rate_limit
            limiter = RateLimiter(rate)
        self.limiter = limiter
        self.retries = retries
        self._backoff = backoff
        self._max_backoff = max_backoff
        self.max_upload_bytes = max_upload_bytes

    # -- lifecycle ---------------------------------------------------------------

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP client if this object created it."""
        if self._owns_session and self._session is not None:
            await self._session.aclose()
            self._session = None

    def __repr__(self) -> str:  # never shows the token
        return f"PlateReader({self.api_url!r}, token={'set' if self._token else 'none'})"

    @property
    def api_url(self) -> str:
        """The base URL, without any user:password part."""
        return _redact_url(self._base_url)

    @property
    def is_cloud(self) -> bool:
        """A token means the cloud API (statistics, rate limits); none means on-premise."""
        return self._token is not None

    # -- API calls ---------------------------------------------------------------

    async def read(
        self,
        image: ImageInput,
        *,
        regions: Sequence[str] = (),
        camera_id: str | None = None,
        timestamp: datetime | str | None = None,
        mmc: bool | None = None,
        config: EngineConfig | Mapping[str, Any] | str | None = None,
        filename: str | None = None,
    ) -> ReadResponse:
        """Read every plate in `image`: bytes, a path, base64 text, or an http(s) URL.

        Images over `max_upload_bytes` are shrunk before upload, and once more
        if the server still answers 413; boxes are mapped back to the original.
        """
        engine_config = EngineConfig.parse(config)
        region_list = normalize_regions(regions)
        require_regions(engine_config, region_list)
        fields: list[tuple[str, str]] = [("regions", code) for code in region_list]
        if camera_id is not None:
            fields.append(("camera_id", str(camera_id)))
        if timestamp is not None:
            fields.append(("timestamp", _format_timestamp(timestamp)))
        if mmc is not None:
            fields.append(("mmc", "true" if mmc else "false"))
        if engine_config is not None and engine_config.to_api():
            fields.append(("config", engine_config.to_json()))

        if is_jpeg_within(image, self.max_upload_bytes):
            upload = self._prepare(image, filename)  # a header parse: less than a thread hop
        else:
            upload = await asyncio.to_thread(self._prepare, image, filename)
        try:
            data = await self._send_read(upload, fields)
        except PlateReaderPayloadTooLargeError:
            if upload.data is None:
                raise
            limit = min(self.max_upload_bytes, len(upload.data) // 2)
            _LOGGER.debug("413 for %d bytes: shrinking to %d and retrying", len(upload.data), limit)
            upload = await asyncio.to_thread(shrink, upload, limit)
            data = await self._send_read(upload, fields)
        try:
            return ReadResponse.from_api(data, scale=upload.scale)
        except ValueError as err:
            problem = self._shape_error("lookup", err)
        raise problem

    async def statistics(self) -> Statistics:
        """Cloud usage this period (`/v1/statistics/`)."""
        data = await self._request("GET", PATH_STATISTICS)
        try:
            return Statistics.from_api(data)
        except ValueError as err:
            problem = self._shape_error("statistics", err)
        raise problem

    async def info(self) -> ServerInfo:
        """On-premise SDK version and usage (`/info/`)."""
        data = await self._request("GET", PATH_INFO)
        try:
            return ServerInfo.from_api(data)
        except ValueError as err:
            problem = self._shape_error("info", err)
        raise problem

    # -- internals ---------------------------------------------------------------

    def _prepare(self, image: ImageInput, filename: str | None) -> Upload:
        return shrink(load_image(image, filename=filename), self.max_upload_bytes)

    async def _send_read(self, upload: Upload, fields: list[tuple[str, str]]) -> dict[str, Any]:
        # Always multipart, as the reference's examples send it; text fields are
        # parts without a filename, so repeated `regions` stay repeated.
        parts: list[tuple[str, tuple[str | None, bytes | str] | tuple[str, bytes, str]]] = [
            (name, (None, value)) for name, value in fields
        ]
        if upload.data is not None:
            parts.insert(0, ("upload", (upload.filename, upload.data, upload.content_type)))
        else:
            parts.insert(0, ("upload_url", (None, upload.url or "")))
        return await self._request("POST", PATH_READ, files=parts, lookup=True)

    async def _request(
        self,
        method: str,
        path: str,
        *,
        files: Sequence[tuple[str, Any]] | None = None,
        lookup: bool = False,
    ) -> dict[str, Any]:
        """Send one API request: rate limit, retries with backoff, errors mapped."""
        session = self._session
        if session is None:
            session = self._session = httpx.AsyncClient()
        headers = {"Accept": "application/json"}
        if self._token:
            headers["Authorization"] = f"Token {self._token}"
        url = self._base_url + path
        attempt = 0
        while True:
            if lookup:
                await self.limiter.acquire()
            try:
                response = await session.request(
                    method, url, headers=headers, files=files, timeout=self._timeout
                )
                return self._parse(response)
            except (
                PlateReaderRateLimitError,
                PlateReaderServerError,
                PlateReaderConnectionError,
            ) as err:
                if isinstance(err, PlateReaderRateLimitError):
                    # Every caller sharing the limiter holds back, retrying or not.
                    self.limiter.pause(err.retry_after)
                if attempt >= self.retries:
                    raise
                delay = self._retry_delay(attempt, err)
            except httpx.TimeoutException as err:
                if attempt >= self.retries:
                    raise PlateReaderTimeoutError(
                        f"{method} {self.api_url}{path}: no answer within {self._timeout:g} s"
                    ) from err
                delay = self._retry_delay(attempt, None)
            except httpx.TransportError as err:
                if attempt >= self.retries:
                    # The error's text can name a proxy URL with its password.
                    reason = self._scrub(str(err))
                    raise PlateReaderConnectionError(
                        f"{method} {self.api_url}{path}: cannot reach the server: "
                        f"{type(err).__name__}{': ' + reason if reason else ''}"
                    ) from err
                delay = self._retry_delay(attempt, None)
            attempt += 1
            _LOGGER.debug("%s %s: retry %d in %.2f s", method, path, attempt, delay)
            await asyncio.sleep(delay)

    def _retry_delay(self, attempt: int, err: PlateReaderError | None) -> float:
        delay = min(self._backoff * 2.0**attempt, self._max_backoff)
        delay *= 0.5 + random.random() / 2  # jitter: callers retrying together spread out
        if isinstance(err, PlateReaderRateLimitError):
            delay = max(delay, err.retry_after)
        return delay

    def _scrub(self, text: str) -> str:
        """`text` derived from an answer, safe to show: a server or a proxy may echo the
        request (the `Authorization` header) into any body, page, title or header."""
        return redact(text, self._secrets)

    def _shape_error(self, what: str, err: ValueError) -> PlateReaderResponseError:
        if isinstance(err, ValidationError):
            reason = describe_validation_error(err, f"{what} answer")
        else:
            reason = f"{what} answer: {err}"
        return PlateReaderResponseError(f"not the documented shape: {_clip(self._scrub(reason))}")

    def _parse(self, response: httpx.Response) -> dict[str, Any]:
        """The JSON object of a 2xx answer, else the mapped error.

        Every message built from the answer goes through `_scrub`, and errors are
        raised outside `except` blocks so no exception holding the raw answer
        (a JSONDecodeError's `doc`) rides along as `__context__`.
        """
        status = response.status_code
        if 200 <= status < 300:
            try:
                data = response.json()
            except (json.JSONDecodeError, UnicodeDecodeError):
                data = _NOT_JSON
            if data is _NOT_JSON:
                text, html = _summary(response)
                if html:
                    shown = f"an HTML page titled {text!r}" if text else "an HTML page"
                else:
                    shown = repr(text or "<empty>")
                raise PlateReaderResponseError(
                    f"{self._where(response)}: answer is not JSON ({_clip(self._scrub(shown))})"
                )
            if not isinstance(data, dict):
                raise PlateReaderResponseError(
                    f"{self._where(response)}: answer is JSON {type(data).__name__}, not an object"
                )
            if any(secret in response.text for secret in self._secrets):
                # An echo in a valid answer must not travel on in `ReadResponse.raw`.
                data = _scrub_json(data, self._secrets)
            return cast(dict[str, Any], data)
        detail = _clip(self._scrub(_detail(response)))
        where = self._where(response)
        if status == 403:
            if "credit" in detail.lower():
                raise PlateReaderNoCreditsError(
                    f"{where}: no credits left for this period ({detail})",
                    status=status,
                    detail=detail,
                )
            raise PlateReaderAuthenticationError(
                f"{where}: forbidden, the API token is wrong or missing ({detail})",
                status=status,
                detail=detail,
            )
        if status == 413:
            raise PlateReaderPayloadTooLargeError(
                f"{where}: upload too large for the server ({detail})", status=status, detail=detail
            )
        if status == 429:
            retry_after = _retry_after(response, detail)
            raise PlateReaderRateLimitError(
                f"{where}: throttled, retry in {retry_after:g} s ({detail})",
                detail=detail,
                retry_after=retry_after,
            )
        if status >= 500:
            raise PlateReaderServerError(
                f"{where}: server error {status} ({detail})", status=status, detail=detail
            )
        if 400 <= status < 500:
            raise PlateReaderBadRequestError(
                f"{where}: request refused with {status} ({detail})", status=status, detail=detail
            )
        raise PlateReaderHTTPError(
            f"{where}: unexpected status {status} ({detail})", status=status, detail=detail
        )

    def _where(self, response: httpx.Response) -> str:
        return f"{response.request.method} {self.api_url}{response.request.url.path}"


def _format_timestamp(value: datetime | str) -> str:
    """ISO 8601 in UTC, as the reference shows: 2019-08-19T13:11:25.

    Aware datetimes are converted to UTC; naive ones are taken as local time
    (Python's convention); text must already be ISO 8601.
    """
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError as err:
            raise PlateReaderConfigError(f"timestamp {value!r} is not ISO 8601") from err
    return value.astimezone(UTC).replace(tzinfo=None).isoformat()


def _detail(response: httpx.Response) -> str:
    """The server's explanation: `detail` or `error` of a JSON body, else the text."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        text, html = _summary(response)
        if html and not text:  # a proxy's page without a title: its status says it
            return response.reason_phrase or "no detail"
        return text or response.reason_phrase or "no detail"
    if isinstance(body, dict):
        for key in ("detail", "error", "message"):
            if body.get(key):
                return str(body[key])
    return json.dumps(body) or "no detail"


def _summary(response: httpx.Response) -> tuple[str, bool]:
    """A non-JSON body in short, and whether it is HTML: a page (a proxy's, a captive
    portal's) is summarised by its title, never dumped."""
    try:
        text = response.text.strip()
    except (UnicodeDecodeError, LookupError):
        return "", False
    if text.startswith("<"):
        title = _HTML_TITLE.search(text)
        return (title.group(1) if title else ""), True
    return text, False


def _scrub_json(value: Any, secrets: Sequence[str]) -> Any:
    """`value` with each secret replaced in every string, keys included."""
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {_scrub_json(k, secrets): _scrub_json(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub_json(item, secrets) for item in value]
    return value


def _retry_after(response: httpx.Response, detail: str | None) -> float:
    """Seconds to wait from "Expected available in N second(s)", else Retry-After, else 1."""
    match = _RETRY_IN.search(detail or "")
    if match:
        return float(match.group(1))
    header = response.headers.get("Retry-After", "")
    try:
        return max(float(header), 0.0)
    except ValueError:
        return 1.0


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _DETAIL_LIMIT else text[: _DETAIL_LIMIT - 1] + "…"


def _redact_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        return urlunsplit(parts._replace(netloc=host))
    return url
