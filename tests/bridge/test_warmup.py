"""Start-up pays the first read's one-off costs (bench/bridge_latency.py measures the rest)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from platereader.image import is_jpeg_within
from tests.fake_api.images import jpeg_bytes, png_bytes

ROOT = Path(__file__).resolve().parents[2]
# Loaded lazily by Pillow and the bridge on the first read, each worth milliseconds.
LAZY = ("PIL.JpegImagePlugin", "PIL.ImageDraw", "PIL.ImageFont", "platereader.annotate")

_PROBE = """
import json, sys
import bridge.service
from bridge.warmup import warm_up
lazy = {lazy!r}
before = [name for name in lazy if name in sys.modules]
warm_up()
print(json.dumps([before, [name for name in lazy if name not in sys.modules]]))
"""


def test_warm_up_loads_what_the_first_read_would() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(lazy=LAZY)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    before, missing = json.loads(done.stdout.strip().splitlines()[-1])
    assert before != list(LAZY)  # the service alone does not load them all: the warm-up does
    assert missing == []


def test_only_jpeg_bytes_within_the_limit_are_prepared_inline() -> None:
    jpeg = jpeg_bytes()
    assert is_jpeg_within(jpeg, len(jpeg))
    assert is_jpeg_within(bytearray(jpeg), len(jpeg))
    assert not is_jpeg_within(jpeg, len(jpeg) - 1)  # to be shrunk: a worker thread
    assert not is_jpeg_within(png_bytes(), 10**6)
    assert not is_jpeg_within("/tmp/car.jpg", 10**6)  # a path: file I/O, a worker thread
