"""Strict validation of recognition requests.

The real API answers 400 for bad input; this fake is stricter than the real one on
purpose, because its job is to catch client encoding bugs (a comma-joined ``regions``,
``mmc=True``, a stringified ``None``, an unescaped ``+`` in urlencoded base64 ...).  Every
message names the offending field or config key.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import json
import math
import re
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from .constants import CONFIG_KEYS, FORM_FIELDS, REGION_CODE_RE, REPEATABLE_FIELDS
from .form import URLENCODED, BadRequest, FormPart, parse_form
from .records import RecordedRequest

# Magic numbers of the formats the fake treats as images.
_IMAGE_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"BM", "bmp"),
)
_DATE_ONLY_RE = re.compile(r"^\d{4}-?\d{2}-?\d{2}$")


def image_extension(data: bytes) -> str | None:
    """The file extension of ``data``'s image format, or None if it is not an image."""
    for magic, extension in _IMAGE_MAGIC:
        if data.startswith(magic):
            return extension
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def validate_request(rec: RecordedRequest, content_type_header: str | None, body: bytes) -> None:
    """Parse a recognition request into ``rec``, raising BadRequest at the first problem.

    ``rec`` is filled as parsing goes, so a rejected request still shows what was sent.
    """
    if rec.query:
        raise BadRequest(f"query parameters are not accepted (got {rec.query!r}); send form fields")
    media_type, parts = parse_form(content_type_header, body)
    rec.fields = [part.name for part in parts]
    _check_field_names(parts)
    texts: dict[str, str] = {}
    for part in parts:
        if part.name == "upload" and part.filename is not None:
            continue  # a real file part: bytes, handled below
        if part.filename is not None:
            raise BadRequest(f"field {part.name!r} must be a plain text field, not a file")
        texts_value = _decode_text(part)
        if part.name == "regions":
            rec.regions.append(texts_value)
        else:
            texts[part.name] = texts_value

    upload_part = next((part for part in parts if part.name == "upload"), None)
    has_url = "upload_url" in texts
    if upload_part is not None and has_url:
        raise BadRequest("send exactly one of 'upload' and 'upload_url', not both")
    if upload_part is None and not has_url:
        raise BadRequest("field 'upload' (or 'upload_url') is required")
    if upload_part is not None:
        _read_upload(rec, upload_part, texts.get("upload"), media_type)
    else:
        _read_upload_url(rec, texts["upload_url"])

    for region in rec.regions:
        _check_region(region)
    if "camera_id" in texts:
        rec.camera_id = texts["camera_id"]
    if "timestamp" in texts:
        rec.timestamp = texts["timestamp"]
        _check_timestamp(rec.timestamp)
    if "mmc" in texts:
        rec.mmc = _parse_mmc(texts["mmc"])
    if "config" in texts:
        rec.config = parse_config(texts["config"])


def _check_field_names(parts: list[FormPart]) -> None:
    counts = Counter(part.name for part in parts)
    for name, count in counts.items():
        if name not in FORM_FIELDS:
            close = difflib.get_close_matches(name, sorted(FORM_FIELDS), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise BadRequest(f"unknown field {name!r}{hint}")
        if count > 1 and name not in REPEATABLE_FIELDS:
            raise BadRequest(f"field {name!r} was sent {count} times; only 'regions' may repeat")


def _decode_text(part: FormPart) -> str:
    try:
        text = part.value.decode("utf-8")
    except UnicodeDecodeError:
        if part.name == "upload":
            raise BadRequest(
                "field 'upload' is a text part holding binary data: a part without a "
                "filename is a text field and must hold base64; send the file with a filename"
            ) from None
        raise BadRequest(f"field {part.name!r} is not valid UTF-8") from None
    if not text:
        raise BadRequest(f"field {part.name!r} is empty; omit it instead")
    if text == "None":
        raise BadRequest(f"field {part.name!r} is the string 'None' (a stringified Python None?)")
    return text


def _read_upload(rec: RecordedRequest, part: FormPart, text: str | None, media_type: str) -> None:
    if part.filename is not None:
        rec.upload_kind = "multipart-file"
        rec.upload_content_type = part.content_type
        # Browsers on Windows send full paths; servers keep the basename (Django does).
        rec.filename = re.split(r"[\\/]", part.filename)[-1]
        if not rec.filename:
            raise BadRequest("field 'upload' is a file part with an empty filename")
        data = part.value
    else:
        assert text is not None
        rec.upload_kind = "base64"
        data = _decode_base64(text, urlencoded=media_type == URLENCODED)
    rec.upload = data
    if not data:
        raise BadRequest("field 'upload' is empty")
    if image_extension(data) is None:
        raise BadRequest(
            f"field 'upload' is not a JPEG/PNG/GIF/BMP/WEBP image (starts with {data[:8]!r})"
        )


def _decode_base64(text: str, *, urlencoded: bool) -> bytes:
    # Line breaks are allowed: the reference's own example pipes `base64 image.jpg`, which
    # wraps lines.  Anything else outside the alphabet is an encoding bug.
    compact = text.replace("\r", "").replace("\n", "")
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        hint = ""
        if compact.startswith("data:"):
            hint = "; send the bare base64, not a data: URI"
        elif " " in compact and urlencoded:
            hint = "; a '+' not percent-encoded in a urlencoded body turns into a space"
        elif "-" in compact or "_" in compact:
            hint = "; that is the URL-safe alphabet, send standard base64"
        raise BadRequest(f"field 'upload' is not valid base64 ({exc}){hint}") from None


def _read_upload_url(rec: RecordedRequest, url: str) -> None:
    rec.upload_kind = "url"
    rec.upload_url = url
    parsed = urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise BadRequest(f"field 'upload_url' must be an http(s) URL, got {url!r}")
    rec.filename = parsed.path.rstrip("/").rsplit("/", 1)[-1] or None


def _check_region(region: str) -> None:
    if REGION_CODE_RE.match(region):
        return
    if region.startswith("["):
        why = "looks like a list in one field; repeat the 'regions' field once per region"
    elif "," in region or " " in region.strip():
        why = "holds several codes in one field; repeat the 'regions' field once per region"
    elif region.lower() != region:
        why = "region codes are lower case"
    else:
        why = "expected a code like 'gb', 'us-ca' or 'mx'"
    raise BadRequest(f"field 'regions': {region!r} {why}")


def _check_timestamp(text: str) -> None:
    if _DATE_ONLY_RE.match(text):
        raise BadRequest(f"field 'timestamp': {text!r} has no time of day")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadRequest(
            f"field 'timestamp': {text!r} is not ISO 8601 (e.g. 2019-08-19T13:11:25)"
        ) from None
    offset = moment.utcoffset()
    if offset is not None and offset != timedelta(0):
        raise BadRequest(f"field 'timestamp': {text!r} must be in UTC")


def _parse_mmc(text: str) -> bool:
    if text == "true":
        return True
    if text == "false":
        return False
    raise BadRequest(f"field 'mmc' must be exactly 'true' or 'false', got {text!r}")


# --- config ---------------------------------------------------------------------------


def _one_of(*allowed: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if isinstance(value, str) and value in allowed:
            return None
        return f"must be one of {', '.join(repr(a) for a in allowed)}, got {value!r}"

    return check


def _unit_number(value: Any) -> str | None:
    # bool is an int in Python; JSON true is not a threshold.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"must be a number between 0 and 1, got {value!r}"
    if not math.isfinite(value) or not 0 <= value <= 1:
        return f"must be between 0 and 1, got {value!r}"
    return None


def _regex_list(value: Any) -> str | None:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        return f"must be a list of strings, got {value!r}"
    for pattern in value:
        if not pattern:
            return "holds an empty pattern"
        try:
            re.compile(pattern)
        except re.error as exc:
            return f"holds an invalid regular expression {pattern!r} ({exc})"
    return None


# "plate" is the documented default detection mode, so sending it explicitly is fine.
_CONFIG_RULES: dict[str, Callable[[Any], str | None]] = {
    "detection_rule": _one_of("strict"),
    "detection_mode": _one_of("plate", "vehicle"),
    "region": _one_of("strict"),
    "threshold_d": _unit_number,
    "threshold_o": _unit_number,
    "mode": _one_of("fast", "redaction"),
    "text_formats": _regex_list,
}
assert set(_CONFIG_RULES) == CONFIG_KEYS


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def parse_config(text: str) -> dict[str, Any]:
    """Parse and check the ``config`` field; raise BadRequest naming the bad key."""
    try:
        config = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_unique_keys)
    except ValueError as exc:
        raise BadRequest(f"field 'config' is not valid JSON ({exc})") from None
    if not isinstance(config, dict):
        raise BadRequest(f"field 'config' must be a JSON object, got {type(config).__name__}")
    for key, value in config.items():
        rule = _CONFIG_RULES.get(key)
        if rule is None:
            raise BadRequest(f"config key {key!r} is unknown")
        problem = rule(value)
        if problem is not None:
            raise BadRequest(f"config key {key!r} {problem}")
    return config
