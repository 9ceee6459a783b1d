"""Images that lie about their size (decompression bombs), for tests and bench/engine_hostile.py.

Each is small on the wire and declares far more pixels than the engine decodes.
"""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

from PIL import Image


def _encode(fmt: str, size: tuple[int, int], mode: str = "RGB", **kw: Any) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size).save(buffer, fmt, **kw)
    return buffer.getvalue()


def png_bomb(side: int = 20000) -> bytes:
    """A 1-bit PNG of side x side pixels, all white: ~50 kB for 20000 x 20000."""
    row = b"\x00" + b"\xff" * ((side + 7) // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


def jpeg_with_patched_size(width: int, height: int) -> bytes:
    """A small JPEG whose SOF header claims width x height (a few hundred bytes)."""
    data = bytearray(_encode("JPEG", (16, 16), quality=10))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def gif_with_patched_size(side: int) -> bytes:
    data = bytearray(_encode("GIF", (16, 16), "P"))
    data[6:10] = struct.pack("<HH", side, side)  # the logical screen
    pos = 13 + (3 * 2 ** ((data[10] & 7) + 1) if data[10] & 0x80 else 0)  # colour table
    while data[pos] == 0x21:  # extension blocks, up to the image descriptor
        pos += 2
        while data[pos]:
            pos += data[pos] + 1
        pos += 1
    assert data[pos] == 0x2C
    data[pos + 5 : pos + 9] = struct.pack("<HH", side, side)
    return bytes(data)


def bmp_with_patched_size(side: int) -> bytes:
    data = bytearray(_encode("BMP", (16, 16), "P"))
    data[18:26] = struct.pack("<ii", side, side)
    return bytes(data)


def webp_with_patched_size(side: int, lossless: bool) -> bytes:
    data = bytearray(_encode("WEBP", (16, 16), lossless=lossless))
    if lossless:  # VP8L: 14 bits of width - 1, 14 of height - 1
        bits = struct.unpack("<I", data[21:25])[0] & ~((1 << 28) - 1)
        data[21:25] = struct.pack("<I", bits | (side - 1) | (side - 1) << 14)
    else:  # VP8: 14-bit width and height in the key frame header
        data[26:30] = struct.pack("<HH", side, side)
    return bytes(data)


BOMBS = {
    "png-20000": (png_bomb(), "20000x20000"),
    "jpeg-header": (jpeg_with_patched_size(30000, 30000), "30000x30000"),
    "gif-header": (gif_with_patched_size(20000), "20000x20000"),
    "bmp-header": (bmp_with_patched_size(20000), "20000x20000"),
    "webp-lossy": (webp_with_patched_size(16383, lossless=False), "16383x16383"),
    "webp-lossless": (webp_with_patched_size(16383, lossless=True), "16383x16383"),
}
