"""Errors the engine raises to its callers."""

from __future__ import annotations


class EngineError(Exception):
    """Base class of the engine's errors."""


class ImageDecodeError(EngineError, ValueError):
    """The input is not an image the engine can decode (corrupt, empty or another format)."""


class ImageTooLargeError(ImageDecodeError):
    """The image declares more pixels than the engine decodes (a decompression bomb guard)."""
