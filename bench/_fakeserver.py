"""Run the fake Plate Recognizer API in its own process for benchmarks.

A separate process keeps the server's CPU work off the measured client's GIL.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


class FakeApiProcess:
    def __init__(self, url: str, pid: int) -> None:
        self.url = url
        self.pid = pid


@contextlib.contextmanager
def fake_api_process(*args: str) -> Iterator[FakeApiProcess]:
    """Start `python -m tests.fake_api --forget-requests ARGS`; yield its URL and pid."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_api", "--forget-requests", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        if not url.startswith("http"):
            raise RuntimeError(f"fake API did not start (said {url!r})")
        yield FakeApiProcess(url, process.pid)
    finally:
        process.terminate()
        process.wait(timeout=10)
