"""Benchmark of the platereader client against the fake API over loopback.

    .venv/bin/python bench/client_overhead.py [--reads 2000] [--seconds 10]

Three measurements, the fake API in its own process answering at once:

1. Client overhead per read: latency of `PlateReader.read()` minus the latency of
   the same request sent as pre-built bytes with bare httpx (which is server time,
   loopback and HTTP framing). p50/p99 of both and of the difference.
2. Throughput: reads/s with 64 concurrent callers and no rate limit.
3. Rate limiter accuracy: 8 lookups/s configured for `--seconds` against a fake
   that throttles at 8/s; achieved rate, ratio to configured, and 429s.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import sys
import time
from pathlib import Path

import httpx
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._fakeserver import fake_api_process
from bench._stats import percentile
from bench._yardstick import measure as measure_yardstick
from platereader import PlateReader, PlateReaderRateLimitError

TOKEN = "test-token"


def sample_jpeg() -> bytes:
    """A 1280x720 JPEG like a camera snapshot (~100 KB)."""
    picture = Image.linear_gradient("L").resize((1280, 720)).convert("RGB")
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def ms(value: float) -> str:
    return f"{value * 1000:7.3f} ms"


async def overhead(url: str, image: bytes, reads: int) -> None:
    files = [("upload", ("car.jpg", image, "image/jpeg"))]
    async with httpx.AsyncClient() as session:
        # Build the request once: what is left is server, loopback and httpx framing.
        request = session.build_request(
            "POST",
            url + "/v1/plate-reader/",
            files=files,
            headers={"Authorization": f"Token {TOKEN}"},
        )
        body = request.read()
        headers = dict(request.headers)
        raw: list[float] = []
        client: list[float] = []
        async with PlateReader(url, TOKEN, session=session, rate_limit=None) as reader:
            for _ in range(50):  # warm up both paths
                await session.post(url + "/v1/plate-reader/", content=body, headers=headers)
                await reader.read(image)
            for _ in range(reads):
                start = time.perf_counter()
                response = await session.post(
                    url + "/v1/plate-reader/", content=body, headers=headers
                )
                raw.append(time.perf_counter() - start)
                response.raise_for_status()
                start = time.perf_counter()
                await reader.read(image)
                client.append(time.perf_counter() - start)
    base = statistics.median(raw)
    extra = [value - base for value in client]
    print(f"1. client overhead per read ({reads} reads of a {len(image) // 1024} KB JPEG)")
    print(
        f"   bare httpx request     p50 {ms(percentile(raw, 0.5))}  p99 {ms(percentile(raw, 0.99))}"
    )
    print(
        f"   PlateReader.read()     p50 {ms(percentile(client, 0.5))}  "
        f"p99 {ms(percentile(client, 0.99))}"
    )
    print(
        f"   overhead (read - bare) p50 {ms(percentile(extra, 0.5))}  "
        f"p99 {ms(percentile(extra, 0.99))}  "
        f"ratio p50 {percentile(client, 0.5) / percentile(raw, 0.5):.2f}x"
    )


async def throughput(url: str, image: bytes, seconds: float) -> None:
    done = 0
    deadline = time.perf_counter() + seconds
    async with PlateReader(url, TOKEN, rate_limit=None) as reader:

        async def caller() -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                await reader.read(image)
                done += 1

        start = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(64)))
        elapsed = time.perf_counter() - start
    print(f"2. throughput, 64 concurrent callers, no limit: {done / elapsed:8.1f} reads/s")


async def limiter_accuracy(url: str, image: bytes, seconds: float, rate: float) -> None:
    sent: list[float] = []
    throttled = 0
    async with PlateReader(url, TOKEN, rate_limit=rate, retries=0) as reader:
        await reader.statistics()  # open the connection before the clock starts
        deadline = time.perf_counter() + seconds

        async def caller() -> None:
            nonlocal throttled
            while time.perf_counter() < deadline:
                try:
                    await reader.read(image)
                except PlateReaderRateLimitError:
                    throttled += 1
                sent.append(time.perf_counter())

        await asyncio.gather(*(caller() for _ in range(16)))
    achieved = (len(sent) - 1) / (sent[-1] - sent[0])
    print(
        f"3. limiter at {rate:g}/s for {seconds:g} s, 16 callers: {len(sent)} lookups, "
        f"achieved {achieved:.3f}/s = {achieved / rate:.3f} of configured, {throttled} x 429"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    image = sample_jpeg()
    # Measured in the same run so the figures below compare across machines.
    print(measure_yardstick().line())
    with fake_api_process("--mode", "cloud", "--total-calls", "100000000") as fake:
        asyncio.run(overhead(fake.url, image, args.reads))
        asyncio.run(throughput(fake.url, image, min(args.seconds, 5.0)))
    with fake_api_process("--mode", "cloud", "--rate-limit", "8") as fake:
        asyncio.run(limiter_accuracy(fake.url, image, args.seconds, 8.0))
    print(measure_yardstick().line().replace("yardstick:", "yardstick after:"))


if __name__ == "__main__":
    main()
