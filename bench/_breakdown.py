"""Where one read's CPU time goes: each model run (by model and input shape) and the rest.

Used by `bench/engine_speed.py --breakdown`. The reads run one after another in the calling
thread and every figure is that thread's CPU time (`time.thread_time`), so other load on the
machine disturbs it little; OpenCV's own worker threads (resizes) are not counted. The model
runs, the image decode and the format ranking are timed by wrapping the engine's functions
for the duration of the measurement (and restored after); the rest is Python and OpenCV glue.
"""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from plate_engine import formats, models, recognizer, region_formats
from plate_engine.recognizer import Recognizer
from plate_engine.types import ReadOptions


@contextlib.contextmanager
def _timed(owner: object, name: str, record: Callable[[str, float], None]) -> Iterator[None]:
    """Replace `owner.name` by a wrapper that records its CPU time under its own label."""
    original = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.thread_time()
        try:
            return original(*args, **kwargs)
        finally:
            label = f"{getattr(owner, '__name__', '')}.{name}"
            if owner is models.Model:  # args[0] is the Model, args[1] its input
                model, x = args[0], args[1]
                label = f"{Path(model.wide._model_path).name} {tuple(x.shape)}"
            record(label, time.thread_time() - start)

    setattr(owner, name, wrapper)
    try:
        yield
    finally:
        setattr(owner, name, original)


def breakdown(rec: Recognizer, data: bytes, options: ReadOptions, reads: int) -> list[str]:
    """Lines of a table: CPU ms per read and runs per read of each part, then the rest."""
    for _ in range(2):  # warm-up: first-run allocations and graph specialisation
        rec.read(data, options)
    cpu: dict[str, float] = defaultdict(float)
    runs: dict[str, int] = defaultdict(int)

    def record(label: str, seconds: float) -> None:
        cpu[label] += seconds
        runs[label] += 1

    with contextlib.ExitStack() as stack:
        stack.enter_context(_timed(models.Model, "run_all", record))
        stack.enter_context(_timed(recognizer, "decode_image", record))
        stack.enter_context(_timed(formats, "choose", record))
        stack.enter_context(_timed(region_formats, "region_of", record))
        start = time.thread_time()
        for _ in range(reads):
            rec.read(data, options)
        total = time.thread_time() - start
    lines = [f"  {'part':<44} {'runs/read':>9} {'cpu ms/read':>12}"]
    for label in sorted(cpu, key=lambda k: -cpu[k]):
        lines.append(
            f"  {label:<44} {runs[label] / reads:>9.1f} {cpu[label] * 1000 / reads:>12.1f}"
        )
    rest = total - sum(cpu.values())
    lines.append(
        f"  {'rest (Python, OpenCV, numpy glue)':<44} {'':>9} {rest * 1000 / reads:>12.1f}"
    )
    lines.append(f"  {'total':<44} {'':>9} {total * 1000 / reads:>12.1f}")
    return lines
