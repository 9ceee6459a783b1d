"""The PP-OCR models shipped inside the rapidocr wheel, run with onnxruntime."""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib.util
import os
import threading
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort  # type: ignore[import-untyped]

DET_MODEL = "PP-OCRv6_det_small.onnx"
REC_MODEL = "PP-OCRv6_rec_small.onnx"


def model_dir() -> Path:
    """The wheel's model folder; found without importing rapidocr (its import is slow)."""
    spec = importlib.util.find_spec("rapidocr")
    if spec is None or spec.origin is None:
        raise RuntimeError("rapidocr is not installed: pip install 'plate-bridge[engine]'")
    return Path(spec.origin).parent / "models"


def open_session(name: str, threads: int) -> ort.InferenceSession:
    path = model_dir() / name
    if not path.is_file():
        raise RuntimeError(f"model {path} is missing from the rapidocr wheel")
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = max(1, threads)
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # Spinning worker threads burn the other core while a concurrent call wants it; on a
    # 2-core box serving a few requests at once that costs more than the wake-up latency.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # The arena keeps the peak of every input shape ever seen; detector inputs vary per
    # image size, so let memory go back after each run.
    opts.enable_cpu_mem_arena = False
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


class Gate:
    """Shared by a recogniser's models: how many runs are in flight, and at most how many.

    At most `slots` model runs execute at once (one per core by default): more would only
    time-slice the same cores while each holds its activations (~200 MB for a 1280 px
    detector input), so the rest wait their turn.
    """

    def __init__(self, slots: int) -> None:
        self._slots = threading.BoundedSemaphore(max(1, slots))
        self._lock = threading.Lock()
        self.active = 0

    def __enter__(self) -> bool:
        """Enter a slot; True when another run is already executing (go single-threaded)."""
        self._slots.acquire()
        with self._lock:
            busy = self.active > 0
            self.active += 1
        return busy

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self.active -= 1
        self._slots.release()


class Model:
    """One model, opened twice: with `threads` intra-op threads and with one.

    A run uses all `threads` when it is alone (lowest latency for a single image) and one
    thread when another run is executing (two single-threaded runs on two cores beat two
    two-threaded runs fighting over them). `InferenceSession.run` is thread-safe.
    """

    def __init__(self, name: str, threads: int, gate: Gate) -> None:
        self.wide = open_session(name, threads)
        self.narrow = open_session(name, 1) if threads > 1 else self.wide
        self._gate = gate
        self.input_name = self.wide.get_inputs()[0].name
        self.metadata: dict[str, str] = self.wide.get_modelmeta().custom_metadata_map

    def run(self, x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        with self._gate as busy:
            session = self.narrow if busy else self.wide
            out: npt.NDArray[np.float32] = session.run(None, {self.input_name: x})[0]
        return out


def default_slots() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


_M_ARENA_MAX = -8


def limit_malloc_arenas(arenas: int = 2) -> None:
    """Cap glibc's malloc arenas for the whole process (like MALLOC_ARENA_MAX=2).

    glibc gives each thread that allocates its own 64 MB arena; with a pool of threads
    passing images and tensors around, freed memory stays spread over those arenas and
    the peak RSS of 4 concurrent reads grows from ~520 MB to ~770 MB. Harmless elsewhere:
    a no-op on other C libraries.
    """
    name = ctypes.util.find_library("c")
    if not name:
        return
    try:
        libc = ctypes.CDLL(name)
        libc.mallopt(_M_ARENA_MAX, arenas)
    except (OSError, AttributeError):
        pass
