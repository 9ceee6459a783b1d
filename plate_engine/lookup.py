"""The recognition request: its form fields, read and checked into a `Lookup`.

aiohttp's `request.post()` is not used: it spools file parts to disk and decodes text
parts leniently. Parts are streamed instead, the size limit is counted while reading,
and each field is checked with a message that names it, in the API's 400 style
(``{"error": "field 'mmc' must be 'true' or 'false', got 'yes'"}``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final
from urllib.parse import parse_qsl

from aiohttp import BodyPartReader, MultipartReader, StreamReader, web
from aiohttp.base_protocol import BaseProtocol
from aiohttp.http_exceptions import HttpProcessingError

from platereader import EngineConfig, is_region_code

from .budget import BudgetSpent, Lease
from .decode import image_format
from .request_config import MAX_IGNORED, parse_config, short_name
from .responses import HttpError, bad_request, error_body, too_large_error
from .types import ReadOptions

FORM_FIELDS: Final = frozenset(
    {"upload", "upload_url", "regions", "camera_id", "timestamp", "mmc", "config"}
)
MAX_FORM_FIELDS: Final = 64  # parts or pairs in one request
MULTIPART: Final = "multipart/form-data"
URLENCODED: Final = "application/x-www-form-urlencoded"

_DATE_ONLY_RE = re.compile(r"^\d{4}-?\d{2}-?\d{2}$")
_EXTENSIONS: Final = {
    "JPEG": "jpg",
    "PNG": "png",
    "GIF": "gif",
    "BMP": "bmp",
    "TIFF": "tif",
    "WEBP": "webp",
}
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
    # Unknown form fields and config keys, logged by the server: at most MAX_IGNORED
    # names each, cut to a loggable length; `more_ignored` counts the rest.
    ignored: tuple[str, ...] = field(default=())
    ignored_config: tuple[str, ...] = field(default=())
    more_ignored: int = 0

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
            vehicle_rule=config.detection_rule == "strict",
            unplated=self.vehicle_mode,
            colour=self.mmc,
        )


async def read_form(request: web.Request, limit: int, lease: Lease) -> tuple[str, list[FormPart]]:
    """The request's form fields in order: (media type, parts).

    Raises HttpError (400, 413, 415) or BudgetSpent when the engine holds too many
    bytes of other requests to take this body now.
    """
    if request.content_length is not None and request.content_length > limit:
        raise too_large_error(limit)  # before reading a byte of it
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding != "identity":
        # Not inflated (the server runs with auto_decompress off): a few kB of gzip
        # can unpack to gigabytes. The SDK does not accept compressed bodies either.
        raise HttpError(
            415, error_body(f"Content-Encoding {encoding[:20]!r} is not accepted; send it plain")
        )
    if "Content-Type" not in request.headers and not request.can_read_body:
        return "", []  # a bare POST: reported as a missing upload
    media_type = request.content_type
    if media_type not in (MULTIPART, URLENCODED):
        raise bad_request(
            f"Content-Type must be {MULTIPART} or {URLENCODED}, "
            f"got {request.headers.get('Content-Type', '')[:100]!r}"
        )
    body = await _read_body(request, limit, lease)
    if media_type == URLENCODED:
        try:
            pairs = parse_qsl(
                body.decode("ascii"),
                keep_blank_values=True,
                errors="strict",
                max_num_fields=MAX_FORM_FIELDS,
            )
        except (UnicodeDecodeError, ValueError) as err:
            raise bad_request(f"urlencoded body is malformed ({err})") from None
        return media_type, [FormPart(name, value.encode(), None) for name, value in pairs]
    return media_type, await _parse_multipart(request, body)


async def _read_body(request: web.Request, limit: int, lease: Lease) -> bytes:
    # The whole body, counted as it arrives: against `limit` (Content-Length may be
    # absent) and against the engine's bytes in flight, shared by every request.
    declared = request.content_length or 0
    if declared and not lease.grow(declared):
        raise BudgetSpent
    body = bytearray()
    try:
        async for chunk in request.content.iter_chunked(_CHUNK):
            size = len(body) + len(chunk)
            if size > limit:
                raise too_large_error(limit)
            if size > lease.held and not lease.grow(size - lease.held):
                raise BudgetSpent
            body += chunk
    except HttpProcessingError as err:  # e.g. a broken chunked encoding
        raise bad_request(f"request body is malformed ({err.message})") from None
    return bytes(body)


async def _parse_multipart(request: web.Request, body: bytes) -> list[FormPart]:
    # Parsed from memory, after the whole body was counted: aiohttp's streaming reader
    # would buffer part headers that no limit counts.
    stream = StreamReader(BaseProtocol(asyncio.get_running_loop()), _CHUNK)
    stream.feed_data(body)
    stream.feed_eof()
    parts: list[FormPart] = []
    try:
        reader = MultipartReader(request.headers, stream)
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise bad_request("nested multipart parts are not accepted")
            if not part.name:
                raise bad_request("a multipart part has no name in its Content-Disposition")
            if len(parts) == MAX_FORM_FIELDS:
                raise bad_request(f"more than {MAX_FORM_FIELDS} form fields")
            value = bytearray()
            while chunk := await part.read_chunk(_CHUNK):
                value += chunk
            parts.append(FormPart(part.name, part.decode(bytes(value)), part.filename))
    except (ValueError, AssertionError, RuntimeError, HttpProcessingError, KeyError) as err:
        reason = getattr(err, "message", None) or str(err) or type(err).__name__
        raise bad_request(f"multipart body is malformed ({str(reason)[:200]})") from None
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
    parsed = parse_config(texts["config"]) if "config" in texts else None
    config = parsed.config if parsed else None
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
        ignored=tuple(short_name(name) for name in ignored[:MAX_IGNORED]),
        ignored_config=parsed.ignored if parsed else (),
        more_ignored=max(0, len(ignored) - MAX_IGNORED) + (parsed.more_ignored if parsed else 0),
    )


def image_extension(data: bytes) -> str | None:
    name = image_format(data)
    return None if name is None else _EXTENSIONS[name]


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
    if is_region_code(code):
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
