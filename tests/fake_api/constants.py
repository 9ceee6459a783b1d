"""Wire-level constants of the fake Plate Recognizer API.

Bodies that a client may compare against live here, so tests can import them instead of
copying strings.  Error bodies of the Django REST framework style (``{"detail": ...}``) are
what the real service sends; the HTML bodies are what the proxy in front of it (nginx) or
Django itself answers when the API code never runs.
"""

from __future__ import annotations

import re
from typing import Any, Final

DEFAULT_TOKEN: Final = "test-token"
"""The token the fake accepts unless ``tokens=`` says otherwise."""

DEFAULT_TOTAL_CALLS: Final = 2500
"""The plan's monthly quota in the reference's statistics example."""

SDK_VERSION: Final = "1.3.8"
LICENSE_KEY: Final = "XXX"
"""What on-premise ``GET /info/`` reports (values from the reference)."""

PROCESSING_TIME_MS: Final = 288.758
"""``processing_time`` of every answer: fixed so whole responses can be compared."""

RESPONSE_VERSION: Final = 1
"""``version`` of the cloud plate-mode response."""

ONPREM_MISSING_CAMERA_ID: Final = "null"
"""On-premise quirk copied from the reference: without ``camera_id`` the SDK answers the
*string* ``"null"`` where the cloud answers JSON ``null``."""

# --- Paths (the fake also accepts each without its trailing slash, as the real API does). ---
PLATE_READER_PATH: Final = "/v1/plate-reader/"
STATISTICS_PATH: Final = "/v1/statistics/"
INFO_PATH: Final = "/info/"

# --- Error bodies of the API itself (JSON, compact as Django REST framework renders them). ---
INVALID_TOKEN_BODY: Final[dict[str, Any]] = {"detail": "Invalid token."}
NO_CREDITS_BODY: Final[dict[str, Any]] = {
    "detail": "You do not have enough credits to perform this request."
}
NOT_FOUND_BODY: Final[dict[str, Any]] = {"detail": "Not found."}
THROTTLED_TEMPLATE: Final = "Request was throttled. Expected available in {seconds} {unit}."


def throttled_body(seconds: int) -> dict[str, Any]:
    """The exact 429 body for a wait of ``seconds`` (pluralised like Django REST framework)."""
    unit = "second" if seconds == 1 else "seconds"
    return {
        "detail": THROTTLED_TEMPLATE.format(seconds=seconds, unit=unit),
        "status_code": 429,
    }


def method_not_allowed_body(method: str) -> dict[str, Any]:
    """Django REST framework's 405 body."""
    return {"detail": f'Method "{method}" not allowed.'}


# --- Bodies the API code never produces: proxy and framework pages (text/html). ---
PAYLOAD_TOO_LARGE_BODY: Final = (
    "<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n"
    "<center><h1>413 Request Entity Too Large</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
SERVER_ERROR_BODY: Final = (
    '\n<!doctype html>\n<html lang="en">\n<head>\n  <title>Server Error (500)</title>\n'
    "</head>\n<body>\n  <h1>Server Error (500)</h1><p></p>\n</body>\n</html>\n"
)
BAD_GATEWAY_BODY: Final = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
SERVICE_UNAVAILABLE_BODY: Final = (
    "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n"
    "<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n"
    "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
GATEWAY_TIMEOUT_BODY: Final = (
    "<html>\r\n<head><title>504 Gateway Time-out</title></head>\r\n<body>\r\n"
    "<center><h1>504 Gateway Time-out</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)

# --- Scripted-fault payloads. ---
GARBAGE_BODY: Final = b"<html><body>\x00\xffnot json at all"
"""Answered with status 200 and ``Content-Type: application/json`` by ``fail_next("garbage")``:
a client must not trust the header and crash on the decode error."""

WRONG_SHAPE_BODY: Final[dict[str, Any]] = {"results": [{"plate": 552, "box": None}]}
"""Answered with status 200 by ``fail_next("wrong-shape")``: valid JSON whose keys look right
but whose types are wrong, so a client that only checks for keys is caught."""

HANG_SECONDS: Final = 300.0
"""How long ``fail_next("timeout-ish")`` keeps a request unanswered (or until ``stop()``)."""

# --- Request rules from the reference. ---
REGION_CODE_RE: Final = re.compile(r"^[a-z]{2}(-[a-z0-9]{1,3})?$")
FORM_FIELDS: Final = frozenset(
    {"upload", "upload_url", "regions", "camera_id", "timestamp", "mmc", "config"}
)
REPEATABLE_FIELDS: Final = frozenset({"regions"})
CONFIG_KEYS: Final = frozenset(
    {
        "detection_rule",
        "detection_mode",
        "region",
        "threshold_d",
        "threshold_o",
        "mode",
        "text_formats",
    }
)
MMC_KEYS: Final = ("model_make", "color", "orientation")
"""Plate-mode result keys present only when the request had ``mmc=true``."""
