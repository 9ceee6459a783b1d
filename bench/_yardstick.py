"""A CPU yardstick measured in the same run as a benchmark, so figures from two machines compare.

Three fixed pieces of work, each timed in CPU time as the best of several tries (CPU time
and the minimum are the figures least disturbed by other load; the benchmarks' wall-clock
figures are not, hence the load average beside them), in a child process with one BLAS
thread:

- `python_ms`: a pure-Python loop (1,000,000 multiply-adds): the interpreter's speed, which
  the recogniser's post-processing (format ranking, box geometry) depends on;
- `sgemm_ms`: a 1024x1024 float32 matrix product on one thread (2.1 GFLOP): the vector units
  the models run on (`gflops` is the same figure as a rate);
- `denormal_x`: how much slower a float32 multiply gets when its operands are denormal
  (~1e-39). Intel CPUs take a slow path for them, most AMD ones do not; the PP-OCR detector
  holds many denormal weights, which is why the engine turns them off (plate_engine.models
  .denormals_off) - a figure of 1 means the CPU never had the penalty.

A benchmark figure divided by `sgemm_ms` (or `python_ms`) can be compared across machines;
the load average before and after tells whether other work disturbed the run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass

_CHILD = r"""
import json, time
import numpy as np

def best(fn, tries):
    times = []
    for _ in range(tries):
        start = time.process_time()
        fn()
        times.append((time.process_time() - start) * 1000)
    return min(times)

def loop():
    total = 0
    for i in range(1_000_000):
        total += i * i
    return total

a = np.random.default_rng(0).random((1024, 1024), dtype=np.float32)
a @ a
x = np.full(1 << 20, 1.5, np.float32)
d = np.full(1 << 20, 1e-39, np.float32)
out = np.empty_like(x)
print(json.dumps({
    "python_ms": best(loop, 5),
    "sgemm_ms": best(lambda: a @ a, 7),
    "normal_mul_ms": best(lambda: np.multiply(x, x, out=out), 21),
    "denormal_mul_ms": best(lambda: np.multiply(d, x, out=out), 21),
}))
"""

_ONE_THREAD = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


@dataclass(frozen=True)
class Yardstick:
    python_ms: float
    sgemm_ms: float
    denormal_x: float
    load: tuple[float, float, float]

    @property
    def gflops(self) -> float:
        return 2 * 1024**3 / (self.sgemm_ms / 1000) / 1e9

    def line(self) -> str:
        one, five, fifteen = self.load
        return (
            f"yardstick: python loop {self.python_ms:.1f} ms, sgemm 1024 (1 thread) "
            f"{self.sgemm_ms:.1f} ms = {self.gflops:.0f} GFLOP/s, denormal multiply "
            f"{self.denormal_x:.1f}x slower; load {one:.2f} {five:.2f} {fifteen:.2f} "
            f"({os.cpu_count()} cores)"
        )

    def as_dict(self) -> dict[str, float]:
        return {
            "python_ms": round(self.python_ms, 1),
            "sgemm_ms": round(self.sgemm_ms, 1),
            "gflops": round(self.gflops, 1),
            "denormal_x": round(self.denormal_x, 2),
            "load1": round(self.load[0], 2),
        }


def measure() -> Yardstick:
    """Run the yardstick in a child process (one BLAS thread, whatever this process set)."""
    done = subprocess.run(
        [sys.executable, "-c", _CHILD],
        env={**os.environ, **_ONE_THREAD},
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    figures = json.loads(done.stdout)
    return Yardstick(
        python_ms=figures["python_ms"],
        sgemm_ms=figures["sgemm_ms"],
        denormal_x=figures["denormal_mul_ms"] / max(figures["normal_mul_ms"], 1e-6),
        load=os.getloadavg(),
    )


if __name__ == "__main__":
    print(measure().line())
