"""Throughput of the offline engine, the way Plate Recognizer benchmarks its SDK (in-process).

Usage (from the repository root):

    .venv/bin/python bench/engine_speed.py [--image ../shared/samples/cars-4k.jpg]
        [--size 1280x720] [--calls 50] [--concurrency 4] [--threads 2] [--mode both]
        [--breakdown]

The image is resized to --size and JPEG-encoded once; then --calls calls of
Recognizer.read run from --concurrency threads. It prints total duration / calls in ms
(the SDK benchmark's figure), p50/p95 per-call latency, CPU time per call (the lower
bound of total/calls on an otherwise idle machine is that divided by the cores), the
reads of the first call and the peak RSS, for regular and fast mode, with a CPU yardstick
measured in the same run (bench/_yardstick.py) so that two machines' figures compare.
--breakdown also prints, per mode, where one read's CPU time goes (each model run by
input shape, the image decode, the format ranking, the rest), from --calls reads run one
after another in one thread (bench/_breakdown.py). `run_benchmark` takes any
`read(bytes) -> object` callable so that an HTTP client can be measured the same way.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._breakdown import breakdown  # noqa: E402
from bench._stats import percentile  # noqa: E402
from bench._yardstick import measure as measure_yardstick  # noqa: E402
from plate_engine.recognizer import Recognizer  # noqa: E402
from plate_engine.types import ReadOptions  # noqa: E402


@dataclass(frozen=True)
class Result:
    calls: int
    total_s: float
    latencies_ms: list[float]
    cpu_s: float  # process CPU time (user + system) over the run

    @property
    def cpu_ms_per_call(self) -> float:
        """CPU time per call: with other load on the machine, wall time overstates cost."""
        return self.cpu_s * 1000 / self.calls

    @property
    def per_call_ms(self) -> float:
        return self.total_s * 1000 / self.calls

    def pct(self, q: float) -> float:
        return percentile(self.latencies_ms, q)


def prepare_image(path: Path, size: tuple[int, int]) -> bytes:
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        sys.exit(f"cannot read {path}")
    resized = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", resized, [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not ok:
        sys.exit("cannot encode the resized image")
    return bytes(buf)


def run_benchmark(
    read: Callable[[bytes], object], data: bytes, calls: int, concurrency: int
) -> Result:
    """`calls` calls of read(data) from `concurrency` threads; total and per-call times."""
    read(data)  # warm-up: first-run allocations and graph specialisation

    def timed(_: int) -> float:
        start = time.perf_counter()
        read(data)
        return (time.perf_counter() - start) * 1000

    cpu = time.process_time()
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        latencies = list(pool.map(timed, range(calls)))
    return Result(calls, time.perf_counter() - start, latencies, time.process_time() - cpu)


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", type=Path, default=ROOT.parent / "shared/samples/cars-4k.jpg")
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--mode", choices=("regular", "fast", "both"), default="both")
    parser.add_argument("--breakdown", action="store_true", help="CPU time of each part of a read")
    args = parser.parse_args()

    w, h = (int(v) for v in args.size.lower().split("x"))
    data = prepare_image(args.image, (w, h))
    print(measure_yardstick().line())
    rec = Recognizer(threads=args.threads)
    print(
        f"{args.image.name} {w}x{h}, {args.calls} calls, {args.concurrency} concurrent, "
        f"threads {args.threads}, cpus {os.cpu_count()}, load {os.getloadavg()[0]:.2f}"
    )
    modes = ("regular", "fast") if args.mode == "both" else (args.mode,)
    for mode in modes:
        options = ReadOptions(fast=mode == "fast")
        plates = [p.plate for p in rec.read(data, options)]

        def read(d: bytes, o: ReadOptions = options) -> object:
            return rec.read(d, o)

        r = run_benchmark(read, data, args.calls, args.concurrency)
        print(
            f"{mode:<8} {r.per_call_ms:7.1f} ms/call (total/calls)  p50 {r.pct(0.5):6.1f}  "
            f"p95 {r.pct(0.95):6.1f} ms  cpu {r.cpu_ms_per_call:6.1f} ms/call"
            f" (/{os.cpu_count()} cores = {r.cpu_ms_per_call / (os.cpu_count() or 1):5.1f})"
            f"  reads {plates}"
        )
        if args.breakdown:
            print("\n".join(breakdown(rec, data, options, args.calls)))
    print(f"peak RSS {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
