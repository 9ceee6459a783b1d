"""Small valid images for requests to the fake (generated with Pillow, cached)."""

from __future__ import annotations

import functools
import io


@functools.cache
def image_bytes(image_format: str = "JPEG", width: int = 64, height: int = 48) -> bytes:
    """A solid-colour image in ``image_format`` (any format Pillow can write)."""
    from PIL import Image  # imported lazily: only tests that need an image pay for Pillow

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (40, 90, 160)).save(buffer, format=image_format)
    return buffer.getvalue()


def jpeg_bytes() -> bytes:
    """A 64x48 JPEG."""
    return image_bytes("JPEG")


def png_bytes() -> bytes:
    """A 64x48 PNG."""
    return image_bytes("PNG")
