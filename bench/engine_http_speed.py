"""Speed of the engine over HTTP, measured the way Plate Recognizer benchmarks its SDK.

Usage (from the repository root):

    .venv/bin/python bench/engine_http_speed.py [--image ../shared/samples/cars-4k.jpg]
        [--size 1280x720] [--calls 50] [--concurrency 4] [--workers N] [--threads N]
        [--url http://127.0.0.1:8080]

It starts `plate-bridge engine --port 0` (unless --url names a running engine), uploads a
--size resize of the image --calls times from --concurrency concurrent clients, and
prints total duration / calls in ms (the SDK benchmark's figure, so concurrency counts),
p50/p95 per-call latency, and the ratio to the SDK's published 1280x720 figures on a
2-vCPU n2-standard-2 (107.8 ms regular, 58.2 ms fast), for regular and {"mode":"fast"}.
The load average is printed before and after: figures from a busy machine mean little.
A CPU yardstick (bench/_yardstick.py: a Python loop, a one-thread sgemm, the denormal
penalty) is measured in the same run and printed with the figures, so that runs on two
machines can be compared.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._stats import percentile  # noqa: E402
from bench._yardstick import measure as measure_yardstick  # noqa: E402

DEFAULT_IMAGE = ROOT.parent / "shared" / "samples" / "cars-4k.jpg"
# The SDK's published 1280x720 figures (ms per call, 50 calls, 4 concurrent, n2-standard-2).
SDK_MS = {"regular": 107.8, "fast": 58.2}
CONFIGS = {"regular": None, "fast": '{"mode":"fast"}'}


@dataclass(frozen=True)
class Run:
    mode: str
    calls: int
    total_s: float
    latencies_ms: list[float]
    server_ms: list[float]  # the answers' processing_time: the recogniser's own time
    plates: list[str]

    @property
    def per_call_ms(self) -> float:
        return self.total_s * 1000 / self.calls

    def pct(self, q: float) -> float:
        return percentile(self.latencies_ms, q)


def prepare_image(path: Path, size: tuple[int, int]) -> bytes:
    with Image.open(path) as img:
        resized = img.convert("RGB").resize(size, Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    resized.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


@contextlib.contextmanager
def engine_process(workers: int | None, threads: int | None) -> Iterator[str]:
    """Start `plate-bridge engine --port 0`; yield its URL; SIGTERM it at the end."""
    command = [sys.executable, "-m", "bridge", "engine", "--port", "0", "--queue", "64"]
    if workers is not None:
        command += ["--workers", str(workers)]
    if threads is not None:
        command += ["--threads", str(threads)]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    try:
        url = None
        for line in process.stdout:
            print(f"  engine: {line.rstrip()}")
            match = re.search(r"listening on (http://\S+)", line)
            if match:
                url = match.group(1)
                break
        if url is None:
            sys.exit("the engine exited before listening")
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


async def one_call(
    client: httpx.AsyncClient, url: str, image: bytes, config: str | None
) -> dict[str, object]:
    data = {"config": config} if config else None
    response = await client.post(
        url + "/v1/plate-reader/", files={"upload": ("car.jpg", image, "image/jpeg")}, data=data
    )
    response.raise_for_status()
    body: dict[str, object] = response.json()
    return body


async def measure(
    client: httpx.AsyncClient, url: str, image: bytes, mode: str, calls: int, concurrency: int
) -> Run:
    config = CONFIGS[mode]
    for _ in range(2):  # warm-up: connections, first-call costs; not counted
        first = await one_call(client, url, image, config)
    results = first.get("results")
    plates = [str(r["plate"]) for r in results] if isinstance(results, list) else []
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    server: list[float] = []

    async def timed() -> None:
        async with gate:
            start = time.perf_counter()
            body = await one_call(client, url, image, config)
            latencies.append((time.perf_counter() - start) * 1000)
            processing = body.get("processing_time")
            if isinstance(processing, int | float):
                server.append(float(processing))

    start = time.perf_counter()
    await asyncio.gather(*(timed() for _ in range(calls)))
    return Run(mode, calls, time.perf_counter() - start, latencies, server, plates)


@contextlib.asynccontextmanager
async def client_for(concurrency: int) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=120, limits=limits, trust_env=False) as client:
        yield client


async def bench(url: str, image: bytes, calls: int, concurrency: int) -> list[Run]:
    async with client_for(concurrency) as client:
        info = (await client.get(url + "/info/")).json()
        print(f"  engine version {info['version']}")
        return [await measure(client, url, image, mode, calls, concurrency) for mode in CONFIGS]


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} cores)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", type=Path, default=DEFAULT_IMAGE)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, help="engine --workers (default: its own)")
    parser.add_argument("--threads", type=int, help="engine --threads (default: its own)")
    parser.add_argument("--url", help="measure an engine that is already running")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args()
    if not args.image.is_file():
        sys.exit(f"{args.image} not found (see ../shared/samples)")
    width, height = (int(v) for v in args.size.lower().split("x"))
    image = prepare_image(args.image, (width, height))
    print(f"image: {args.image.name} resized to {width}x{height}, {len(image) / 1024:.0f} KiB JPEG")
    yardstick = measure_yardstick()
    print(yardstick.line())
    print(f"before: {load()}")
    with contextlib.ExitStack() as stack:
        url = args.url or stack.enter_context(engine_process(args.workers, args.threads))
        runs = asyncio.run(bench(url, image, args.calls, args.concurrency))
    print(f"after:  {load()}")
    print(measure_yardstick().line() + " (after)")
    print(
        f"\n{args.calls} calls, {args.concurrency} concurrent, over HTTP "
        f"(workers {args.workers or 'default'}, threads {args.threads or 'default'})"
    )
    print(
        f"{'mode':8} {'ms/call':>8} {'p50':>8} {'p95':>8} {'server':>7} {'SDK':>7} {'ratio':>6}"
        "  plates"
    )
    for run in runs:
        sdk = SDK_MS[run.mode]
        print(
            f"{run.mode:8} {run.per_call_ms:8.1f} {run.pct(0.5):8.1f} {run.pct(0.95):8.1f} "
            f"{statistics.median(run.server_ms):7.1f} {sdk:7.1f} {run.per_call_ms / sdk:6.2f}  "
            f"{' '.join(run.plates)}"
        )
    print(
        "ms/call = total duration / calls (the SDK benchmark's figure); p50/p95: per-call "
        "latency seen by a client (queueing included); server: median processing_time "
        "(the recogniser's own time per image); ratio = ms/call / SDK's"
    )
    if args.json:
        figures: dict[str, dict[str, float]] = {"yardstick": yardstick.as_dict()}
        figures |= {
            run.mode: {
                "ms_per_call": round(run.per_call_ms, 1),
                "p50_ms": round(run.pct(0.5), 1),
                "p95_ms": round(run.pct(0.95), 1),
                "server_median_ms": round(statistics.median(run.server_ms), 1),
            }
            for run in runs
        }
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
