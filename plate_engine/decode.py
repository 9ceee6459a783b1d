"""Turn the caller's image (encoded bytes or an array) into a BGR uint8 array.

Encoded images are probed before they are decoded: the format must be one the engine
reads (JPEG, PNG, GIF, BMP, WebP, TIFF) and its declared size at most `max_pixels`. A
48 KB PNG can declare 20000x20000 pixels and would decode to 1.2 GB (a decompression
bomb); the header says so before a pixel is decoded.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image as PILImage

from .errors import ImageDecodeError, ImageTooLargeError
from .settings import DEFAULT_MAX_PIXELS, MAX_PIXELS_CEILING

Image = npt.NDArray[np.uint8]

# Decoding a 4K JPEG at full size costs ~60 ms and 25 MB; libjpeg can decode at 1/2 or 1/4
# scale almost for free. The detector never looks at more than ~1300 px, and the recogniser
# only needs plates >= ~20 px high, so keep at least this many pixels on the long side.
_KEEP_LONG_SIDE = 1900


# Magic numbers of the formats the engine reads, with Pillow's name for each.
_FORMATS: Final = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)
SUPPORTED: Final = "JPEG, PNG, GIF, BMP, WebP, TIFF"


@dataclass(frozen=True, slots=True)
class Decoded:
    image: Image  # BGR, HxWx3, contiguous
    scale: float  # original pixels per pixel of `image` (1.0 unless decoded reduced)


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """What an image's header declares, read without decoding its pixels."""

    format: str  # Pillow's name: "JPEG", "PNG", "GIF", "BMP", "WEBP", "TIFF"
    width: int
    height: int
    bytes_per_pixel: float  # of the stored samples (16-bit RGBA PNG: 8)
    scale: float = 1.0  # the decoder's reduction (JPEG only: 1, 2 or 4)

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def megapixels(self) -> str:
        return f"{self.pixels / 1e6:.1f} MP"

    @property
    def decode_cost(self) -> int:
        """Pixels held while this image is decoded and read, weighted by sample depth.

        A read holds about 9 bytes per decoded pixel (bench/engine_hostile.py); deeper
        samples (16-bit PNG or TIFF) cost about twice as much to decode.
        """
        decoded = math.ceil(self.width / self.scale) * math.ceil(self.height / self.scale)
        return decoded * max(1, math.ceil(self.bytes_per_pixel / 4))


def image_format(data: bytes) -> str | None:
    """Pillow's name of the image format by its magic number; None if not one we read."""
    for magic, name in _FORMATS:
        if data.startswith(magic):
            return name
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def probe(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> ImageInfo:
    """The image's declared size; ImageDecodeError if unreadable, ImageTooLargeError if big."""
    name = image_format(data)
    if name is None:
        raise ImageDecodeError(
            f"cannot decode image: {len(data)} bytes that are not a supported image "
            f"format ({SUPPORTED})"
        )
    info = _webp_info(data) if name == "WEBP" else _pillow_info(data, name)
    limit = f"the engine reads images of at most {max_pixels / 1e6:.1f} MP"
    if info.width < 1 or info.height < 1:
        raise ImageDecodeError(f"cannot decode image: its {name} header declares no pixels")
    if info.pixels > max_pixels:
        raise ImageTooLargeError(
            f"image is {info.width}x{info.height} ({info.megapixels}); {limit}"
        )
    if name == "JPEG":
        long_side = max(info.width, info.height)
        if long_side >= 4 * _KEEP_LONG_SIDE:
            return ImageInfo(name, info.width, info.height, info.bytes_per_pixel, 4.0)
        if long_side >= 2 * _KEEP_LONG_SIDE:
            return ImageInfo(name, info.width, info.height, info.bytes_per_pixel, 2.0)
    return info


def _pillow_info(data: bytes, name: str) -> ImageInfo:
    """The header's size and sample depth."""
    # The format's own Pillow plug-in parses the header; pixels are decoded by load(),
    # never called. (Not Image.open: its bomb check refuses without saying the size.)
    PILImage.init()
    factory = PILImage.OPEN[name][0]
    try:
        with factory(io.BytesIO(data), "") as im:
            width, height = im.size
            bands = len(im.getbands())
            if name == "PNG":
                depth, colour = data[24], data[25]  # IHDR: Pillow keeps 16-bit RGB as 8
                bands = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(colour, bands)
                bpp = bands * max(depth, 8) / 8
            elif name == "TIFF":
                bits = im.tag_v2.get(258, (8,))  # BitsPerSample, one per sample
                bpp = sum(bits if isinstance(bits, tuple) else (bits,)) / 8
            else:
                bpp = float(bands)
    except Exception as err:  # any parser failure on untrusted bytes: a corrupt header
        raise ImageDecodeError(f"cannot decode image: its {name} header is corrupt") from err
    return ImageInfo(name, width, height, bpp)


def _webp_info(data: bytes) -> ImageInfo:
    # Read here rather than by Pillow, whose WebP plug-in sets up a decoder (and its
    # canvas) on open. VP8X: canvas size; VP8: key frame header; VP8L: packed bits.
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        width = 1 + int.from_bytes(data[24:27], "little")
        height = 1 + int.from_bytes(data[27:30], "little")
        alpha = bool(data[20] & 0x10)
    elif chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        width = int.from_bytes(data[26:28], "little") & 0x3FFF
        height = int.from_bytes(data[28:30], "little") & 0x3FFF
        alpha = False
    elif chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        width, height = 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
        alpha = bool(bits >> 28 & 1)
    else:
        raise ImageDecodeError("cannot decode image: its WebP header is corrupt")
    return ImageInfo("WEBP", width, height, 4.0 if alpha else 3.0)


def _reduced_flag(info: ImageInfo) -> int:
    """The IMREAD_REDUCED_* flag for the probed scale (JPEG decodes at 1/2 or 1/4 cheaply)."""
    if info.scale == 4.0:
        return cv2.IMREAD_REDUCED_COLOR_4
    if info.scale == 2.0:
        return cv2.IMREAD_REDUCED_COLOR_2
    return cv2.IMREAD_COLOR


def decode_image(
    image: bytes | bytearray | memoryview | npt.NDArray[np.generic],
    max_pixels: int = MAX_PIXELS_CEILING,  # the server checks its own, lower limit first
) -> Decoded:
    """Decode bytes (JPEG, PNG, GIF, BMP, WebP, TIFF) or normalise an array to BGR uint8.

    Arrays are taken as OpenCV does: HxW grey, HxWx3 BGR or HxWx4 BGRA, uint8. Bytes
    declaring more than `max_pixels` raise ImageTooLargeError before any decoding (the
    server checks its own, lower limit first).
    """
    if isinstance(image, np.ndarray):
        return Decoded(_normalise_array(image), 1.0)
    if not isinstance(image, bytes | bytearray | memoryview):
        raise ImageDecodeError(f"expected encoded image bytes or a numpy array, got {type(image)}")
    data = bytes(image)
    if not data:
        raise ImageDecodeError("empty image data")
    info = probe(data, max_pixels)
    flag, scale = _reduced_flag(info), info.scale
    buf = np.frombuffer(data, dtype=np.uint8)
    try:
        img = cv2.imdecode(buf, flag)
    except cv2.error as exc:  # some corrupt streams raise rather than return None
        raise ImageDecodeError(f"cannot decode image ({len(data)} bytes): {exc}") from exc
    if img is None or img.size == 0:
        raise ImageDecodeError(
            f"cannot decode image: {len(data)} bytes of {info.format} that are corrupt"
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
