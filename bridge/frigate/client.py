"""Frigate's HTTP API: event snapshots, its version and config, and the write-back.

What differs between versions (checked against Frigate's source and docs):

* 0.14 is a Flask app reading the resize height from ``h``; 0.15 moved to
  FastAPI and the parameter became ``height`` (both for
  ``/api/events/<id>/snapshot.jpg`` and ``/api/<camera>/latest.jpg``). Each
  ignores the other's name, so a wrong guess silently loses resizing rather
  than failing; :class:`FrigateClient` picks the name from the version.
* Authentication (0.14+): ``POST /api/login`` with ``{"user", "password"}``
  sets a JWT cookie (``frigate_token`` by default), and the API also accepts
  that JWT as ``Authorization: Bearer``. The internal port (5000) needs no
  auth. Frigate has no HTTP Basic auth of its own; Basic is for reverse
  proxies in front of it.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import httpx

from bridge.jobs import FrigateSnapshotRequest, SnapshotError

__all__ = [
    "SUB_LABEL_MAX",
    "AuthMode",
    "FrigateClient",
    "FrigateError",
    "Snapshot",
    "height_param_for",
    "parse_version",
]

logger = logging.getLogger(__name__)

SUB_LABEL_MAX: Final = 100  # Frigate's limit for sub labels and plates


class FrigateError(Exception):
    """Talking to Frigate's HTTP API failed. Messages never contain credentials."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Snapshot:
    """Image bytes and where they came from."""

    data: bytes
    content_type: str
    source: Literal["event", "latest"]
    url_path: str = field(default="")


_VERSION_RE = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")


def parse_version(text: str) -> tuple[int, int, int] | None:
    """``"0.14.1-f4f3cfa"`` -> ``(0, 14, 1)``; None if there is no version number."""
    match = _VERSION_RE.search(text)
    if match is None:
        return None
    major, minor, patch = match.groups()
    return (int(major), int(minor), int(patch or 0))


def height_param_for(version: str | None) -> str:
    """Query parameter carrying the resize height for a Frigate version.

    Flask-based Frigate (0.14 and older) reads ``h``; the FastAPI rewrite
    (0.15+) reads ``height``. Unknown versions get ``height``: current
    releases are the likelier target, and an older Frigate ignores the
    unknown name (full-size image) rather than failing.
    """
    parsed = parse_version(version) if version else None
    if parsed is not None and parsed < (0, 15, 0):
        return "h"
    return "height"


_JPEG_MAGIC: Final = b"\xff\xd8\xff"
_PNG_MAGIC: Final = b"\x89PNG\r\n\x1a\n"


def _image_type(data: bytes) -> str | None:
    # Sniff rather than trust Content-Type: proxies and error pages lie, and
    # Frigate 0.14's latest.jpg answers WebP bytes.
    if data.startswith(_JPEG_MAGIC):
        return "image/jpeg"
    if data.startswith(_PNG_MAGIC):
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


AuthMode = Literal["auto", "login", "basic"]


class FrigateClient:
    """Async client for the parts of Frigate's HTTP API the bridge uses.

    ``session`` is owned by the caller (shared connection pool); this class
    never closes it. Authentication, chosen by what is given:

    * ``token``: sent as ``Authorization: Bearer`` (a Frigate JWT, or a
      token a reverse proxy expects).
    * ``username`` + ``password`` with ``auth="auto"`` (default): nothing is
      sent until Frigate answers 401 (the internal port 5000 needs no auth);
      then ``POST /api/login`` (0.14+) and the returned JWT is sent as a
      Bearer token, logging in again when it expires. If there is no login
      endpoint (404/405: a reverse proxy or pre-0.14 Frigate), HTTP Basic is
      used instead. ``auth="login"`` or ``auth="basic"`` force one method.

    ``version`` selects the resize parameter name (:func:`height_param_for`);
    when None and a ``height`` is set it is detected once via ``/api/version``.
    """

    def __init__(
        self,
        base_url: str,
        *,
        session: httpx.AsyncClient,
        version: str | None = None,
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        quality: int = 95,
        height: int | None = None,
        crop: bool = True,
        timeout: float = 10,
        auth: AuthMode = "auto",
        cookie_name: str = "frigate_token",
    ) -> None:
        parts = urlsplit(base_url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("base_url must be an http(s) URL like http://frigate:5000")
        # Credentials embedded in the URL (http://user:pass@host) are moved to
        # username/password so they never appear in logged URLs or errors.
        if parts.username is not None and username is None:
            username = unquote(parts.username)
            if password is None and parts.password is not None:
                password = unquote(parts.password)
        netloc = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
        if ":" in parts.hostname:  # IPv6 literal
            netloc = f"[{parts.hostname}]" + ("" if parts.port is None else f":{parts.port}")
        path = parts.path.rstrip("/")
        if path.endswith("/api"):
            path = path[: -len("/api")]  # accept ".../api" as well as the root
        self.base_url = urlunsplit((parts.scheme, netloc, path, "", ""))
        if (username is None) != (password is None):
            raise ValueError("username and password must be given together")
        if not 1 <= quality <= 100:
            raise ValueError(f"quality must be 1..100, got {quality!r}")
        if height is not None and height < 1:
            raise ValueError(f"height must be positive, got {height!r}")
        self._session = session
        self._version = version
        self._version_checked = version is not None
        self._username = username
        self._password = password
        self._token = token
        self._jwt: str | None = None
        self._use_basic = auth == "basic"
        self._auth_mode: AuthMode = auth
        self._cookie_name = cookie_name
        self.quality = quality
        self.height = height
        self.crop = crop
        self.timeout = timeout

    # -- auth -------------------------------------------------------------------------

    def _auth_headers(self) -> dict[str, str]:
        if self._token is not None:
            return {"Authorization": f"Bearer {self._token}"}
        if self._jwt is not None:
            return {"Authorization": f"Bearer {self._jwt}"}
        if self._use_basic and self._username is not None and self._password is not None:
            raw = f"{self._username}:{self._password}".encode()
            return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}
        return {}

    async def _authenticate(self) -> bool:
        """After a 401: obtain credentials to retry with. False if there is nothing to try."""
        if self._token is not None or self._username is None or self._password is None:
            return False
        if self._auth_mode == "basic":
            return False  # Basic was already sent and refused
        url = f"{self.base_url}/api/login"
        try:
            response = await self._session.post(
                url,
                json={"user": self._username, "password": self._password},
                timeout=self.timeout,
            )
        except httpx.HTTPError as err:
            raise FrigateError(
                f"Frigate login at {self._where('/api/login')} failed: {type(err).__name__}"
            ) from None
        if response.status_code in (404, 405) and self._auth_mode == "auto" and not self._use_basic:
            # No Frigate login here (reverse proxy or pre-0.14): try Basic.
            self._use_basic = True
            return True
        if response.status_code in (404, 405):
            raise FrigateError(
                f"Frigate has no login endpoint at {self._where('/api/login')} "
                f"(HTTP {response.status_code}); is it older than 0.14? Try auth='basic'",
                status=response.status_code,
            )
        if response.status_code >= 400:
            # 0.14 answers 400 for bad credentials, later versions 401.
            raise FrigateError(
                f"Frigate login as {self._username!r} was refused (HTTP {response.status_code})",
                status=response.status_code,
            )
        token = response.cookies.get(self._cookie_name)
        if token is None:
            # Cookie renamed in Frigate's config (auth.cookie_name): take the one cookie set.
            token = next(iter(response.cookies.values()), None)
        if not token:
            raise FrigateError("Frigate login succeeded but returned no session cookie")
        self._forget_cookie(token)
        self._jwt = token
        return True

    def _forget_cookie(self, token: str) -> None:
        # httpx stored the session cookie in the shared client's jar, where it
        # would ride along on every request to this host, including those of
        # other FrigateClients with other (or no) credentials. The JWT is sent
        # as a Bearer header instead, so drop the cookie.
        jar = self._session.cookies.jar
        for cookie in list(jar):
            if cookie.value == token:
                jar.clear(cookie.domain, cookie.path, cookie.name)

    def _where(self, path: str) -> str:
        return f"{self.base_url}{path}"

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json_body: object = None,
    ) -> httpx.Response:
        """One API call with auth; on 401 re-authenticates once and retries."""
        url = self._where(path)
        retried = False
        while True:
            try:
                response = await self._session.request(
                    method,
                    url,
                    params=params,
                    json=json_body,
                    headers=self._auth_headers(),
                    timeout=self.timeout,
                )
            except httpx.TimeoutException:
                raise FrigateError(
                    f"Frigate did not answer within {self.timeout:g}s: {method} {url}"
                ) from None
            except httpx.HTTPError as err:
                # The exception text can echo headers on some transports; the type is enough.
                raise FrigateError(
                    f"Frigate request failed: {method} {url}: {type(err).__name__}"
                ) from None
            if response.status_code == 401 and not retried:
                self._jwt = None  # expired or revoked: log in again
                if await self._authenticate():
                    retried = True
                    continue
            if response.status_code in (401, 403):
                if response.status_code == 401 and retried:
                    what = "refused the credentials"
                elif self._username is None and self._token is None:
                    what = "requires authentication (no credentials configured)"
                else:
                    what = "refused access"
                raise FrigateError(
                    f"Frigate {what} (HTTP {response.status_code}): {method} {url}",
                    status=response.status_code,
                )
            return response

    # -- API --------------------------------------------------------------------------

    async def version(self) -> str:
        """Frigate's version string from ``/api/version`` (e.g. ``"0.15.1-4d4d54f"``)."""
        response = await self._request("GET", "/api/version")
        if response.status_code != 200:
            raise FrigateError(
                f"Frigate version check failed (HTTP {response.status_code})",
                status=response.status_code,
            )
        text = response.text.strip().strip('"')
        if parse_version(text) is None:
            raise FrigateError(f"Frigate /api/version returned no version number: {text[:40]!r}")
        return text

    async def lpr_cameras(self) -> frozenset[str]:
        """Cameras on which Frigate's own licence plate recognition runs (0.16+).

        From ``/api/config``, where each camera's ``lpr.enabled`` is already
        merged with the global switch. Empty for older versions (no ``lpr``).
        """
        response = await self._request("GET", "/api/config")
        if response.status_code != 200:
            raise FrigateError(
                f"Frigate config request failed (HTTP {response.status_code})",
                status=response.status_code,
            )
        try:
            config = response.json()
        except ValueError:
            raise FrigateError("Frigate /api/config did not return JSON") from None
        cameras = config.get("cameras") if isinstance(config, dict) else None
        if not isinstance(cameras, dict):
            return frozenset()
        return frozenset(
            name
            for name, camera in cameras.items()
            if isinstance(camera, dict)
            and isinstance(camera.get("lpr"), dict)
            and camera["lpr"].get("enabled") is True
        )

    async def detected_version(self) -> str | None:
        """The configured version, else ``/api/version`` asked once, even if that fails."""
        if not self._version_checked:
            self._version_checked = True
            try:
                self._version = await self.version()
            except FrigateError as err:
                logger.warning("Frigate version unknown (%s); assuming 0.15+ parameter names", err)
        return self._version

    async def snapshot(self, event_id: str, camera: str) -> bytes:
        """The event's best snapshot, or the camera's latest frame if there is none."""
        return (await self.fetch_snapshot(event_id, camera)).data

    async def fetch(self, request: FrigateSnapshotRequest) -> bytes:
        """The pipeline's fetcher for Frigate event snapshots (`bridge.jobs.PictureFetcher`).

        Refused credentials are not worth retrying; anything else (Frigate down,
        the event's snapshot not there yet) may pass.
        """
        try:
            return await self.snapshot(request.event_id, request.camera)
        except FrigateError as err:
            raise SnapshotError(str(err), retryable=err.status not in (401, 403)) from None

    async def fetch_snapshot(self, event_id: str, camera: str) -> Snapshot:
        """Like :meth:`snapshot`, also saying whether the fallback was used."""
        if not event_id or not camera:
            raise ValueError("event_id and camera are required")
        height_name = (
            height_param_for(await self.detected_version()) if self.height is not None else None
        )

        params: dict[str, str | int] = {"crop": 1 if self.crop else 0, "quality": self.quality}
        if height_name is not None and self.height is not None:
            params[height_name] = self.height
        path = f"/api/events/{quote(event_id, safe='')}/snapshot.jpg"
        response = await self._request("GET", path, params=params)
        if response.status_code == 200:
            kind = _image_type(response.content)
            if kind is not None:
                return Snapshot(response.content, kind, "event", path)
            logger.debug("Frigate event %s snapshot is not an image; using latest frame", event_id)
        elif response.status_code != 404:
            raise FrigateError(
                f"Frigate snapshot for event {event_id} failed (HTTP {response.status_code})",
                status=response.status_code,
            )

        # The event has no snapshot (yet, or any more): the camera's current frame
        # still likely shows the car. latest.jpg has no crop parameter.
        latest_params: dict[str, str | int] = {"quality": self.quality}
        if height_name is not None and self.height is not None:
            latest_params[height_name] = self.height
        latest_path = f"/api/{quote(camera, safe='')}/latest.jpg"
        response = await self._request("GET", latest_path, params=latest_params)
        if response.status_code != 200:
            raise FrigateError(
                f"Frigate has no snapshot for event {event_id} and latest frame of camera "
                f"{camera!r} failed (HTTP {response.status_code})",
                status=response.status_code,
            )
        kind = _image_type(response.content)
        if kind is None:
            raise FrigateError(f"Frigate latest frame of camera {camera!r} is not an image")
        return Snapshot(response.content, kind, "latest", latest_path)

    # -- write-back ----------------------------------------------------------------------

    async def supports_recognized_license_plate(self) -> bool:
        """Frigate 0.16+ has ``POST /api/events/<id>/recognized_license_plate``."""
        version = await self.detected_version()
        parsed = parse_version(version) if version else None
        return parsed is not None and parsed >= (0, 16, 0)

    async def set_sub_label(self, event_id: str, label: str, score: float | None = None) -> None:
        """``POST /api/events/<id>/sub_label`` with ``{"subLabel", "subLabelScore"}``.

        Frigate refuses labels over 100 characters and scores outside (0, 1]:
        the label is cut, the score left out when it is not in range.
        """
        body: dict[str, object] = {"subLabel": label[:SUB_LABEL_MAX]}
        if score is not None and 0 < score <= 1:
            body["subLabelScore"] = round(score, 4)
        await self._post_event(event_id, "sub_label", body)

    async def set_recognized_license_plate(
        self, event_id: str, plate: str, score: float | None = None
    ) -> None:
        """``POST /api/events/<id>/recognized_license_plate`` (Frigate 0.16+) with
        ``{"recognizedLicensePlate", "recognizedLicensePlateScore"}``."""
        body: dict[str, object] = {"recognizedLicensePlate": plate[:SUB_LABEL_MAX]}
        if score is not None and 0 < score <= 1:
            body["recognizedLicensePlateScore"] = round(score, 4)
        await self._post_event(event_id, "recognized_license_plate", body)

    async def _post_event(self, event_id: str, what: str, body: dict[str, object]) -> None:
        if not event_id:
            raise ValueError("event_id is required")
        path = f"/api/events/{quote(event_id, safe='')}/{what}"
        response = await self._request("POST", path, json_body=body)
        if response.status_code != 200:
            detail = ""
            with contextlib.suppress(ValueError, AttributeError):
                detail = str(response.json().get("message", ""))[:200]
            raise FrigateError(
                f"Frigate refused the {what} of event {event_id} "
                f"(HTTP {response.status_code}){': ' + detail if detail else ''}",
                status=response.status_code,
            )
