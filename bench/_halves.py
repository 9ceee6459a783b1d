"""The two halves of the dev photos: "a" may be tuned on, "b" is kept untouched.

A photo's half is fixed by a hash of its key (`us/ABC123.jpg`), so it never depends on
the order or number of files, and a new photo lands in a half by itself.
"""

from __future__ import annotations

import hashlib
from typing import Literal

type Half = Literal["a", "b"]


def half_of(key: str) -> Half:
    """'a' or 'b' for a photo key such as 'us/ABC123.jpg' (subset / file name)."""
    return "a" if hashlib.sha256(key.encode()).digest()[0] % 2 == 0 else "b"
