"""The PP-OCR models shipped inside the rapidocr wheel, run with onnxruntime."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import importlib.util
import os
import platform
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


def open_session(name: str | Path, threads: int) -> ort.InferenceSession:
    """Open a model: a name in the rapidocr wheel's folder, or a path (our own weights)."""
    path = name if isinstance(name, Path) else model_dir() / name
    if not path.is_file():
        where = "this package" if isinstance(name, Path) else "the rapidocr wheel"
        raise RuntimeError(f"model {path} is missing from {where}")
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
    # Denormal numbers as zero in onnxruntime's own pool threads (threads > 1); the
    # calling thread is covered by `denormals_off` around each run (see there).
    opts.add_session_config_entry("session.set_denormal_as_zero", "1")
    opts.log_severity_level = 3
    # ...but onnxruntime also sets the bits, for good, in the thread creating the session:
    # undone, so that the caller's own floating point is left as it was.
    with fenv_restored():
        return ort.InferenceSession(
            str(path), sess_options=opts, providers=["CPUExecutionProvider"]
        )


# --- denormal floats -----------------------------------------------------------------------
#
# PP-OCRv6_det_small holds ~256,000 denormal weights (|w| < 1.2e-38; 185,000 of the
# 295,000 of one 768->384 convolution). On Intel CPUs every multiply with a denormal
# operand takes a slow microcode path: that one 1x1 convolution took 175 ms of the
# detector's 260 ms at 640x352 on one thread (17.8 GFLOP/s where the CPU does 150).
# Treating denormals as zero (the MXCSR's FTZ and DAZ bits) gives the same output (max
# difference 0.0 on the detector's probability map) 3-4x faster: the figures in
# docs/engine.md were measured on a CPU without the penalty. onnxruntime's
# `session.set_denormal_as_zero` only sets the bits in its pool threads, not in the
# thread calling `run`, which is the only thread when intra_op_num_threads is 1 (the
# engine's default): so the bits are set around every run, and restored after it.

_FENV_SIZE = 64  # fenv_t is 32 bytes on x86_64 glibc, 8 on aarch64: room for both
_MXCSR_OFFSET = 28  # x86_64 fenv_t: 28 bytes of x87 environment, then the MXCSR
_MXCSR_FTZ_DAZ = 0x8040  # flush-to-zero (bit 15), denormals-are-zero (bit 6)
_FPCR_FZ = 1 << 24  # aarch64 FPCR flush-to-zero


def _libm() -> ctypes.CDLL | None:
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64", "aarch64"):
        return None
    name = ctypes.util.find_library("m")
    try:
        lib = ctypes.CDLL(name) if name else None
        if lib is not None:
            lib.fegetenv, lib.fesetenv  # noqa: B018 (present: glibc, musl)
        return lib
    except (OSError, AttributeError):
        return None


_LIBM = _libm()


@contextlib.contextmanager
def fenv_restored() -> Iterator[ctypes.Array[ctypes.c_char] | None]:
    """This thread's floating-point environment is put back as it was after the block.

    Yields the saved environment (None where it cannot be read: then a no-op).
    """
    saved = ctypes.create_string_buffer(_FENV_SIZE) if _LIBM is not None else None
    if _LIBM is None or saved is None or _LIBM.fegetenv(saved) != 0:
        yield None
        return
    try:
        yield saved
    finally:
        _LIBM.fesetenv(saved)


@contextlib.contextmanager
def denormals_off() -> Iterator[None]:
    """Within the block, this thread treats denormal floats as zero (x86_64, aarch64).

    A no-op elsewhere. The previous floating-point environment is restored on exit, so
    other code sharing the thread (numpy, the caller) sees no change.
    """
    with fenv_restored() as saved:
        if saved is not None and _LIBM is not None:
            fast = ctypes.create_string_buffer(saved.raw, _FENV_SIZE)
            if platform.machine() == "aarch64":
                offset, bits = 0, _FPCR_FZ
            else:
                offset, bits = _MXCSR_OFFSET, _MXCSR_FTZ_DAZ
            word = int.from_bytes(fast.raw[offset : offset + 4], "little") | bits
            ctypes.memmove(ctypes.addressof(fast) + offset, word.to_bytes(4, "little"), 4)
            _LIBM.fesetenv(fast)
        yield


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

    def __init__(self, name: str | Path, threads: int, gate: Gate) -> None:
        self.wide = open_session(name, threads)
        self.narrow = open_session(name, 1) if threads > 1 else self.wide
        self._gate = gate
        self.input_name = self.wide.get_inputs()[0].name
        self.metadata: dict[str, str] = self.wide.get_modelmeta().custom_metadata_map

    def run(self, x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        out: npt.NDArray[np.float32] = self.run_all(x)[0]
        return out

    def run_all(self, x: npt.NDArray[Any]) -> list[npt.NDArray[np.float32]]:
        """Every output of the model, in its declared order."""
        with self._gate as busy, denormals_off():
            session = self.narrow if busy else self.wide
            outs: list[npt.NDArray[np.float32]] = session.run(None, {self.input_name: x})
        return outs


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
