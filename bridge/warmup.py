"""Warm the read path at start-up, so the first read is no slower than the tenth.

Pillow loads its JPEG codec on the first `Image.open` and ImageDraw and the default font on
the first annotation; httpx builds its multipart encoder and pydantic its validators on first
use. On the first read that cost ~80 ms before the API request and ~90 ms before the
result was published (bench/bridge_latency.py). `warm_up` does one tiny read's worth of
that work; the service runs it in a worker thread before the sources subscribe.
"""

from __future__ import annotations

import io

import httpx
from PIL import Image

from platereader import ReadResponse
from platereader.annotate import annotate
from platereader.image import load_image

# One plate as the API answers it (the reference's plate-mode shape).
_ANSWER = {
    "results": [
        {
            "box": {"xmin": 8, "ymin": 20, "xmax": 40, "ymax": 30},
            "plate": "abc123",
            "score": 0.9,
            "dscore": 0.9,
            "region": {"code": "gb", "score": 0.9},
            "candidates": [{"plate": "abc123", "score": 0.9}],
            "vehicle": {
                "type": "Sedan",
                "score": 0.9,
                "box": {"xmin": 2, "ymin": 2, "xmax": 60, "ymax": 44},
            },
        }
    ],
    "camera_id": "warm-up",
    "filename": "warm-up.jpg",
}


def warm_up() -> None:
    """Decode, encode and annotate a tiny JPEG and encode one API request (blocking)."""
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 90, 90)).save(buffer, "JPEG")
    image = buffer.getvalue()
    upload = load_image(image, filename="warm-up")
    with Image.open(io.BytesIO(image)) as picture:
        picture.load()
    response = ReadResponse.from_api(_ANSWER)
    annotate(image, response.results)
    request = httpx.Request(
        "POST",
        "http://127.0.0.1/v1/plate-reader/",
        files=[
            ("upload", (upload.filename, image, upload.content_type)),
            ("camera_id", (None, "warm-up")),
        ],
    )
    request.read()
