"""Fixtures for the platereader client tests."""

from __future__ import annotations

import io
import os

import pytest
from PIL import Image


def make_jpeg(width: int = 320, height: int = 240, *, noise: bool = False) -> bytes:
    """A real JPEG made on the spot, so these tests need nothing from ../shared."""
    if noise:
        # Random pixels do not compress: a big file from a modest image.
        picture = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    else:
        picture = Image.new("RGB", (width, height), (90, 120, 160))
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


@pytest.fixture
def jpeg() -> bytes:
    return make_jpeg()
