"""Turning what the caller gives `read()` into an upload, and shrinking it to fit.

Everything here is synchronous CPU or disk work: the client runs it in a
worker thread, never on the event loop.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
import os
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from .exceptions import PlateReaderImageError

ImageInput = bytes | bytearray | memoryview | str | os.PathLike[str]

# Formats the API accepts; anything else is refused before it costs a lookup.
_MIME_BY_FORMAT = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "BMP": "image/bmp",
    "WEBP": "image/webp",
    "TIFF": "image/tiff",
}
_EXTENSION_BY_FORMAT = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "BMP": "bmp", "WEBP": "webp"}
_MAX_PATH_LENGTH = 4096


@dataclass(frozen=True, slots=True)
class Upload:
    """An image ready to send: its bytes, or a URL the server fetches itself."""

    data: bytes | None
    url: str | None
    filename: str
    content_type: str
    width: int = 0
    height: int = 0
    scale: float = 1.0  # multiply returned boxes by this to map them onto the original


def is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def load_image(image: ImageInput, *, filename: str | None = None) -> Upload:
    """Read bytes, a path, base64 text (or a data: URI) or an http(s) URL."""
    if isinstance(image, bytes | bytearray | memoryview):
        return _from_bytes(bytes(image), filename or "image")
    if isinstance(image, os.PathLike):
        return _from_path(Path(image), filename)
    if isinstance(image, str):
        text = image.strip()
        if is_url(text):
            name = filename or text.rstrip("/").rsplit("/", 1)[-1] or "image"
            return Upload(data=None, url=text, filename=name, content_type="")
        if text.startswith("data:"):
            _, _, text = text.partition(",")
            return _from_bytes(_decode_base64(text), filename or "image")
        if len(text) < _MAX_PATH_LENGTH and _is_file(text):
            return _from_path(Path(text), filename)
        try:
            data = _decode_base64(text)
        except PlateReaderImageError:
            raise PlateReaderImageError(
                "image text is neither an existing file, an http(s) URL nor base64 image data"
            ) from None
        return _from_bytes(data, filename or "image")
    raise PlateReaderImageError(
        f"unsupported image type {type(image).__name__}: give bytes, a path, base64 text or a URL"
    )


def is_jpeg_within(image: ImageInput, max_bytes: int) -> bool:
    """A JPEG in memory that needs no shrinking: preparing it only parses its header.

    That costs less than a hop to a worker thread, so the caller may do it inline. Only
    JPEG (what cameras send): its header parse skips over segments and stays cheap.
    """
    return (
        isinstance(image, bytes | bytearray | memoryview)
        and len(image) <= max_bytes
        and bytes(image[:3]) == b"\xff\xd8\xff"
    )


def shrink(upload: Upload, max_bytes: int) -> Upload:
    """Re-encode as JPEG, scaled down until it is at most `max_bytes`.

    Returns the upload unchanged when it already fits. The returned `scale`
    maps boxes found in the smaller image back onto the original.
    """
    if upload.data is None or len(upload.data) <= max_bytes:
        return upload
    try:
        with Image.open(io.BytesIO(upload.data)) as original:
            original.load()
            picture = original.convert("RGB")
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError) as err:
        raise PlateReaderImageError(f"{upload.filename}: cannot decode image: {err}") from err
    width, height = picture.size
    # Bytes grow roughly with the pixel count: aim a little under the limit.
    factor = min(math.sqrt(max_bytes / len(upload.data)) * 0.9, 1.0)
    for _ in range(8):
        size = (max(int(width * factor), 1), max(int(height * factor), 1))
        buffer = io.BytesIO()
        picture.resize(size, Image.Resampling.LANCZOS).save(buffer, "JPEG", quality=88)
        data = buffer.getvalue()
        if len(data) <= max_bytes:
            stem = upload.filename.rsplit(".", 1)[0]
            return Upload(
                data=data,
                url=None,
                filename=f"{stem}.jpg",
                content_type="image/jpeg",
                width=size[0],
                height=size[1],
                scale=upload.scale * width / size[0],
            )
        factor *= 0.75
    raise PlateReaderImageError(
        f"{upload.filename}: cannot shrink the image below {max_bytes} bytes"
    )


def _is_file(text: str) -> bool:
    try:
        return Path(text).is_file()
    except (OSError, ValueError):
        return False


def _from_path(path: Path, filename: str | None) -> Upload:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise PlateReaderImageError(f"{path}: cannot read file: {err.strerror or err}") from err
    return _from_bytes(data, filename or path.name, where=str(path))


def _from_bytes(data: bytes, filename: str, *, where: str | None = None) -> Upload:
    label = where or filename
    if not data:
        raise PlateReaderImageError(f"{label}: the image is empty")
    try:
        # Image.open reads only the header: cheap, and it catches non-images
        # before they cost a lookup.
        with Image.open(io.BytesIO(data)) as picture:
            image_format = picture.format or ""
            width, height = picture.size
    except UnidentifiedImageError as err:
        raise PlateReaderImageError(
            f"{label}: not a readable image (unknown format or corrupt data)"
        ) from err
    except (OSError, Image.DecompressionBombError) as err:
        raise PlateReaderImageError(f"{label}: not a readable image ({err})") from err
    content_type = _MIME_BY_FORMAT.get(image_format)
    if content_type is None:
        raise PlateReaderImageError(
            f"{label}: image format {image_format or 'unknown'} is not supported by the API"
        )
    if "." not in filename:
        filename = f"{filename}.{_EXTENSION_BY_FORMAT.get(image_format, 'img')}"
    return Upload(
        data=data,
        url=None,
        filename=filename,
        content_type=content_type,
        width=width,
        height=height,
    )


def _decode_base64(text: str) -> bytes:
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError) as err:
        raise PlateReaderImageError(f"invalid base64 image data: {err}") from err
