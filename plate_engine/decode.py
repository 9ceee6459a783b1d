"""Turn the caller's image (encoded bytes or an array) into a BGR uint8 array."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from .errors import ImageDecodeError

Image = npt.NDArray[np.uint8]

# Decoding a 4K JPEG at full size costs ~60 ms and 25 MB; libjpeg can decode at 1/2 or 1/4
# scale almost for free. The detector never looks at more than ~1300 px, and the recogniser
# only needs plates >= ~20 px high, so keep at least this many pixels on the long side.
_KEEP_LONG_SIDE = 1900


@dataclass(frozen=True, slots=True)
class Decoded:
    image: Image  # BGR, HxWx3, contiguous
    scale: float  # original pixels per pixel of `image` (1.0 unless decoded reduced)


def _reduced_flag(data: bytes) -> tuple[int, float]:
    """Pick an IMREAD_REDUCED_* flag from the JPEG header's size, without decoding pixels."""
    if not data.startswith(b"\xff\xd8"):
        return cv2.IMREAD_COLOR, 1.0
    size = _jpeg_size(data)
    if size is None:
        return cv2.IMREAD_COLOR, 1.0
    long_side = max(size)
    if long_side >= 4 * _KEEP_LONG_SIDE:
        return cv2.IMREAD_REDUCED_COLOR_4, 4.0
    if long_side >= 2 * _KEEP_LONG_SIDE:
        return cv2.IMREAD_REDUCED_COLOR_2, 2.0
    return cv2.IMREAD_COLOR, 1.0


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the first SOFn marker; None if the header is unusual."""
    i = 2
    n = len(data)
    while i + 9 < n:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            h = int.from_bytes(data[i + 5 : i + 7], "big")
            w = int.from_bytes(data[i + 7 : i + 9], "big")
            return (w, h)
        i += 2 + length
    return None


def decode_image(image: bytes | bytearray | memoryview | npt.NDArray[np.generic]) -> Decoded:
    """Decode bytes (JPEG, PNG, BMP, WebP, TIFF...) or normalise an array to BGR uint8.

    Arrays are taken as OpenCV does: HxW grey, HxWx3 BGR or HxWx4 BGRA, uint8.
    """
    if isinstance(image, np.ndarray):
        return Decoded(_normalise_array(image), 1.0)
    if not isinstance(image, bytes | bytearray | memoryview):
        raise ImageDecodeError(f"expected encoded image bytes or a numpy array, got {type(image)}")
    data = bytes(image)
    if not data:
        raise ImageDecodeError("empty image data")
    flag, scale = _reduced_flag(data)
    buf = np.frombuffer(data, dtype=np.uint8)
    try:
        img = cv2.imdecode(buf, flag)
    except cv2.error as exc:  # some corrupt streams raise rather than return None
        raise ImageDecodeError(f"cannot decode image ({len(data)} bytes): {exc}") from exc
    if img is None or img.size == 0:
        head = data[:8].hex()
        raise ImageDecodeError(
            f"cannot decode image: {len(data)} bytes starting {head} are not a supported "
            "image format (JPEG, PNG, BMP, WebP, TIFF) or the file is corrupt"
        )
    return Decoded(_normalise_array(img), scale)


def _normalise_array(arr: npt.NDArray[np.generic]) -> Image:
    if arr.dtype == np.uint8:
        u8: Image = np.asarray(arr, dtype=np.uint8)
    else:
        values = np.asarray(arr, dtype=np.float64)
        if np.issubdtype(arr.dtype, np.floating) and values.size and float(values.max()) <= 1.0:
            values = values * 255.0  # floats in 0..1, as Pillow/skimage pipelines produce
        u8 = np.clip(values, 0, 255).astype(np.uint8)
    if u8.ndim == 2:
        u8 = np.asarray(cv2.cvtColor(u8, cv2.COLOR_GRAY2BGR), dtype=np.uint8)
    elif u8.ndim == 3 and u8.shape[2] == 1:
        u8 = np.asarray(cv2.cvtColor(u8[:, :, 0], cv2.COLOR_GRAY2BGR), dtype=np.uint8)
    elif u8.ndim == 3 and u8.shape[2] == 4:
        u8 = np.asarray(cv2.cvtColor(u8, cv2.COLOR_BGRA2BGR), dtype=np.uint8)
    elif not (u8.ndim == 3 and u8.shape[2] == 3):
        raise ImageDecodeError(f"unsupported image array shape {arr.shape}")
    if u8.shape[0] < 8 or u8.shape[1] < 8:
        raise ImageDecodeError(f"image too small: {u8.shape[1]}x{u8.shape[0]}")
    return np.ascontiguousarray(u8, dtype=np.uint8)
