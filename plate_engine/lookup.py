"""The recognition request: its form fields, read and checked into a `Lookup`.

aiohttp's `request.post()` is not used: it spools file parts to disk and decodes text
parts leniently. Parts are streamed instead, the size limit is counted while reading,
and each field is checked with a message that names it, in the API's 400 style
(``{"error": "field 'mmc' must be 'true' or 'false', got 'yes'"}``).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final
from urllib.parse import parse_qsl

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from platereader import EngineConfig, PlateReaderConfigError

from .responses import bad_request, too_large_error
from .types import ReadOptions

FORM_FIELDS: Final = frozenset(
    {"upload", "upload_url", "regions", "camera_id", "timestamp", "mmc", "config"}
)
MULTIPART: Final = "multipart/form-data"
URLENCODED: Final = "application/x-www-form-urlencoded"

_REGION_RE = re.compile(r"^[a-z]{2}(-[a-z0-9]{1,3})?$")
_DATE_ONLY_RE = re.compile(r"^\d{4}-?\d{2}-?\d{2}$")
_IMAGE_MAGIC: Final = (
    (b"\xff\xd8\xff", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"GIF8", "gif"),
    (b"BM", "bmp"),
    (b"II*\x00", "tif"),
    (b"MM\x00*", "tif"),
)
_CHUNK: Final = 64 * 1024

# --- the request ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FormPart:
    name: str
    value: bytes
    filename: str | None  # None for a text field; servers tell files apart by it


@dataclass(frozen=True, slots=True)
class Lookup:
    """A parsed, checked recognition request."""

    image: bytes | None
    upload_url: str | None
    filename: str | None
    regions: tuple[str, ...] = ()
    camera_id: str | None = None
    timestamp: str | None = None
    mmc: bool = False
    config: EngineConfig | None = None
    ignored: tuple[str, ...] = field(default=())  # unknown field names (logged)

    @property
    def vehicle_mode(self) -> bool:
        return self.config is not None and self.config.is_vehicle_mode

    def options(self) -> ReadOptions:
        config = self.config or EngineConfig()
        return ReadOptions(
            regions=self.regions,
            fast=config.mode == "fast",
            redaction=config.mode == "redaction",
            strict_region=config.region == "strict",
            text_formats=tuple(config.text_formats or ()),
            threshold_d=config.threshold_d,
            threshold_o=config.threshold_o,
        )


async def read_form(request: web.Request, limit: int) -> tuple[str, list[FormPart]]:
    """The request's form fields in order: (media type, parts)."""
    if request.content_length is not None and request.content_length > limit:
        raise too_large_error(limit)  # before reading a byte of it
    if "Content-Type" not in request.headers and not request.can_read_body:
        return "", []  # a bare POST: reported as a missing upload
    media_type = request.content_type
    if media_type == MULTIPART:
        return media_type, await _read_multipart(request, limit)
    if media_type == URLENCODED:
        body = await request.read()  # client_max_size answers 413 beyond the limit
        try:
            pairs = parse_qsl(body.decode("ascii"), keep_blank_values=True, errors="strict")
        except (UnicodeDecodeError, ValueError) as err:
            raise bad_request(f"urlencoded body is malformed ({err})") from None
        return media_type, [FormPart(name, value.encode(), None) for name, value in pairs]
    raise bad_request(
        f"Content-Type must be {MULTIPART} or {URLENCODED}, "
        f"got {request.headers.get('Content-Type')!r}"
    )


async def _read_multipart(request: web.Request, limit: int) -> list[FormPart]:
    # Streamed part by part (aiohttp's post() would spool files to disk); the size
    # limit is counted here because client_max_size only guards read() and post().
    parts: list[FormPart] = []
    total = 0
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise bad_request("nested multipart parts are not accepted")
            if not part.name:
                raise bad_request("a multipart part has no name in its Content-Disposition")
            value = bytearray()
            while chunk := await part.read_chunk(_CHUNK):
                total += len(chunk)
                if total > limit:
                    raise too_large_error(limit)
                value += chunk
            parts.append(FormPart(part.name, part.decode(bytes(value)), part.filename))
    except (ValueError, AssertionError, RuntimeError, HttpProcessingError) as err:
        reason = getattr(err, "message", None) or str(err) or type(err).__name__
        raise bad_request(f"multipart body is malformed ({reason})") from None
    return parts


def parse_lookup(parts: list[FormPart], *, urlencoded: bool) -> Lookup:
    """Check the fields; raise HttpError(400) naming the first problem."""
    texts: dict[str, str] = {}
    regions: list[str] = []
    upload: FormPart | None = None
    ignored: list[str] = []
    for part in parts:
        if part.name == "upload":
            if upload is not None:
                raise bad_request("field 'upload' was sent more than once")
            upload = part
            continue
        if part.name not in FORM_FIELDS:
            ignored.append(part.name)  # like the SDK: unknown fields are not an error
            continue
        if part.filename is not None:
            raise bad_request(f"field {part.name!r} must be a plain text field, not a file")
        try:
            text = part.value.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise bad_request(f"field {part.name!r} is not valid UTF-8") from None
        if part.name == "regions":
            # Empty values are skipped: the reference's own curl example sends one
            # (-F regions=`mx` is a shell command substitution that yields nothing).
            if text:
                regions.append(_check_region(text))
            continue
        if part.name in texts:
            raise bad_request(f"field {part.name!r} was sent more than once; only 'regions' may")
        if text:  # an empty optional field means "not given"
            texts[part.name] = text

    url = texts.get("upload_url")
    if upload is not None and url is not None:
        raise bad_request("send exactly one of 'upload' and 'upload_url', not both")
    if upload is None and url is None:
        raise bad_request("field 'upload' (or 'upload_url') is required")
    image, filename = _read_upload(upload, urlencoded=urlencoded) if upload else (None, None)
    timestamp = texts.get("timestamp")
    if timestamp is not None:
        _check_timestamp(timestamp)
    config = _parse_config(texts["config"]) if "config" in texts else None
    if config is not None and config.region == "strict" and not regions:
        hint = " (a field 'region' was sent and ignored: the field is 'regions')"
        raise bad_request(
            "config 'region: strict' needs at least one region in 'regions'"
            + (hint if "region" in ignored else "")
        )
    return Lookup(
        image=image,
        upload_url=url,
        filename=filename,
        regions=tuple(dict.fromkeys(regions)),
        camera_id=texts.get("camera_id"),
        timestamp=timestamp,
        mmc=_parse_mmc(texts["mmc"]) if "mmc" in texts else False,
        config=config,
        ignored=tuple(ignored),
    )


def image_extension(data: bytes) -> str | None:
    for magic, extension in _IMAGE_MAGIC:
        if data.startswith(magic):
            return extension
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def _read_upload(part: FormPart, *, urlencoded: bool) -> tuple[bytes, str | None]:
    if part.filename is not None:
        # Browsers on Windows send a full path; keep the basename, as Django does.
        name = re.split(r"[\\/]", part.filename)[-1] or None
        data = part.value
    elif image_extension(part.value) is not None:
        # Raw image bytes in a text part (e.g. curl -F "upload=<car.jpg"): accepted,
        # since no base64 text starts with an image's magic number.
        name, data = None, part.value
    else:
        name, data = None, _decode_base64(part.value, urlencoded=urlencoded)
    if not data:
        raise bad_request("field 'upload' is empty")
    return data, name


def _decode_base64(value: bytes, *, urlencoded: bool) -> bytes:
    try:
        text = value.decode("ascii")
    except UnicodeDecodeError:
        raise bad_request(
            "field 'upload' is a text part holding binary data that is not an image; "
            "send the file as a file part (with a filename) or as base64"
        ) from None
    if text.startswith("data:") and "," in text:
        text = text.split(",", 1)[1]  # a data: URI, as browsers' FileReader makes them
    if urlencoded:
        text = text.replace(" ", "+")  # an unescaped '+' in a urlencoded body became a space
    # Line breaks are fine: the reference pipes `base64 image.jpg`, which wraps lines.
    compact = "".join(text.split())
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as err:
        raise bad_request(f"field 'upload' is neither an image nor valid base64 ({err})") from None


def _check_region(text: str) -> str:
    code = text.lower()
    if _REGION_RE.match(code):
        return code
    if text.startswith("["):
        why = "looks like a list in one field; repeat the 'regions' field once per region"
    elif "," in text or " " in text:
        why = "holds several codes in one field; repeat the 'regions' field once per region"
    else:
        why = "is not a region code like 'gb', 'us-ca' or 'mx'"
    raise bad_request(f"field 'regions': {text!r} {why}")


def _check_timestamp(text: str) -> None:
    if _DATE_ONLY_RE.match(text):
        raise bad_request(f"field 'timestamp': {text!r} has no time of day")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise bad_request(
            f"field 'timestamp': {text!r} is not ISO 8601 (e.g. 2019-08-19T13:11:25)"
        ) from None
    offset = moment.utcoffset()
    if offset is not None and offset != timedelta(0):
        raise bad_request(f"field 'timestamp': {text!r} must be in UTC")


def _parse_mmc(text: str) -> bool:
    value = text.lower()
    if value in ("true", "false"):
        return value == "true"
    raise bad_request(f"field 'mmc' must be 'true' or 'false', got {text!r}")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse_config(text: str) -> EngineConfig | None:
    try:
        raw = json.loads(text, parse_constant=_reject_constant)
    except ValueError as err:
        raise bad_request(f"field 'config' is not valid JSON ({err})") from None
    if isinstance(raw, dict) and raw.get("detection_mode") == "plate":
        # The documented default, sent explicitly: fine, and nothing to change.
        raw = {key: value for key, value in raw.items() if key != "detection_mode"}
    try:
        return EngineConfig.parse(raw)
    except PlateReaderConfigError as err:
        raise bad_request(f"field 'config': {err}") from None
