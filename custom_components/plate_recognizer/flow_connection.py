"""The account or server a config entry stands for: its id, its title, the connection check.

Shared by the config flow's cloud, local, re-auth and reconfigure steps.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from homeassistant.core import HomeAssistant
from homeassistant.helpers.httpx_client import get_async_client

from .const import CONF_API_URL, CONF_MODE, MODE_CLOUD
from .platereader import (
    PlateReader,
    PlateReaderBadRequestError,
    PlateReaderConfigError,
    PlateReaderError,
    PlateReaderForbiddenError,
    PlateReaderHTTPError,
    PlateReaderNoCreditsError,
    PlateReaderResponseError,
)

_LOGGER = logging.getLogger(__name__)


def cloud_unique_id(token: str) -> str:
    """The account's id: a hash of its token (the API tells nothing else about it)."""
    return hashlib.sha256(token.strip().encode()).hexdigest()[:20]


# Paths a user may paste with the server's address: the SDK's endpoint (what its
# own clients are configured with) and its status page. The entry keeps the base.
_ENDPOINT_PATHS = ("/v1/plate-reader", "/info")
# One server on this machine, whichever name reaches it.
_LOOPBACK_NAMES = frozenset({"localhost", "ip6-localhost", "::1"})


def normalise_server_url(text: str) -> str | None:
    """The server's base URL from what a user typed, or None when it is no http(s) URL.

    `192.168.1.20:8080` gets `http://`; `.../v1/plate-reader/` and `.../info/`
    lose that path; the trailing slash goes.
    """
    url = text.strip()
    if "://" not in url:
        url = f"http://{url}"
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    path = parts.path.rstrip("/")
    for suffix in _ENDPOINT_PATHS:
        if path.lower().endswith(suffix):
            path = path[: -len(suffix)]
    return urlunsplit((parts.scheme.lower(), parts.netloc, path, "", ""))


def server_unique_id(url: str) -> str:
    """The server's id: its URL without credentials, case, endpoint path or trailing slash."""
    parts = urlsplit(normalise_server_url(url) or url.strip())
    host = (parts.hostname or "").lower()
    if host in _LOOPBACK_NAMES or host.startswith("127."):
        host = "127.0.0.1"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme.lower()}://{host}{port}{parts.path.rstrip('/')}"


async def validate_connection(
    hass: HomeAssistant, api_url: str, token: str | None
) -> tuple[dict[str, str], dict[str, str]]:
    """Try the account or server; return (errors, description placeholders).

    The errors say in plain words what to check; the exception itself (URL,
    exception class, library message) only goes to the debug log.
    """
    try:
        # No retries: the user is waiting for the form.
        reader = PlateReader(api_url, token, session=get_async_client(hass), retries=0)
    except PlateReaderConfigError:
        return {CONF_API_URL: "invalid_url"}, {}
    where = {"url": reader.api_url}
    try:
        if token:
            stats = await reader.statistics()
            if stats.remaining == 0:
                raise PlateReaderNoCreditsError("no lookups left", status=403)
        else:
            await reader.info()
    except PlateReaderNoCreditsError:
        return {"base": "no_credits"}, where
    except PlateReaderForbiddenError as err:
        if token:
            return {"base": "invalid_auth"}, where
        # No token sent: an on-premise SDK refusing us is its licence, not ours.
        _LOGGER.debug("%s refused the request: %s", reader.api_url, err)
        return {"base": "server_refused"}, where
    except (PlateReaderResponseError, PlateReaderBadRequestError) as err:
        # Something answers, but not the Plate Recognizer API (wrong URL or port).
        _LOGGER.debug("Unexpected answer from %s: %s", reader.api_url, err)
        return {"base": "unexpected_response"}, where
    except PlateReaderHTTPError as err:
        _LOGGER.debug("Error answer from %s: %s", reader.api_url, err)
        return {"base": "server_error"}, {**where, "status": str(err.status)}
    except PlateReaderError as err:
        _LOGGER.debug("Cannot connect to %s: %s", reader.api_url, err)
        return {"base": "cannot_connect"}, where
    return {}, {}


def entry_title(data: Mapping[str, Any]) -> str:
    """The entry's (and its device's) name; a server's keeps its port, so two on one host differ."""
    if data[CONF_MODE] == MODE_CLOUD:
        return "Plate Recognizer Cloud"
    parts = urlsplit(data[CONF_API_URL])
    host = parts.hostname or ""
    if ":" in host:  # IPv6
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"Plate Recognizer ({host}{port})"
