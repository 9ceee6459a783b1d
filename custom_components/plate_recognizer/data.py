"""The concrete run-time types of a loaded entry, for the modules above the cameras.

Platforms, services and setup import these; `coordinator` declares them generically
and `camera_runtime` names them itself, so neither imports this module (no cycle).
"""

from __future__ import annotations

from .camera_runtime import CameraRuntime
from .coordinator import PlateRecognizerConfigEntry as _Entry
from .coordinator import RuntimeData

__all__ = ["PlateRecognizerConfigEntry", "PlateRecognizerData"]

PlateRecognizerData = RuntimeData[CameraRuntime]

type PlateRecognizerConfigEntry = _Entry[CameraRuntime]
