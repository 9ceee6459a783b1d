"""Locate the PP-OCR models shipped inside the rapidocr wheel and open onnxruntime sessions."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import onnxruntime as ort

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
