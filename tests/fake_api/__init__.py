"""A faithful, strict fake of the Plate Recognizer Snapshot API, for tests and benchmarks.

Real HTTP on 127.0.0.1 (aiohttp.web, ephemeral port) in cloud or on-premise flavour, per
the reference in ``/work/shared/reference/snapshot-api.txt``::

    from tests.fake_api import FakePlateRecognizer

    async with FakePlateRecognizer(mode="cloud", tokens=["t"]) as fake:
        ...  # POST fake.url + "/v1/plate-reader/"; inspect fake.requests

Modules: ``server`` (the server), ``validation``/``form`` (strict request parsing),
``shapes`` (response bodies), ``faults`` (scripted failures), ``ratelimit`` (429s),
``threaded`` (``run_in_thread``), ``fixtures`` (pytest fixtures), ``images`` (sample
images), ``constants`` (bodies and rules).  ``python -m tests.fake_api`` serves one from
the command line.
"""

from .constants import (
    BAD_GATEWAY_BODY,
    DEFAULT_TOKEN,
    DEFAULT_TOTAL_CALLS,
    GARBAGE_BODY,
    GATEWAY_TIMEOUT_BODY,
    INVALID_TOKEN_BODY,
    LICENSE_KEY,
    NO_CREDITS_BODY,
    NOT_FOUND_BODY,
    ONPREM_MISSING_CAMERA_ID,
    PAYLOAD_TOO_LARGE_BODY,
    PROCESSING_TIME_MS,
    SDK_VERSION,
    SERVER_ERROR_BODY,
    SERVICE_UNAVAILABLE_BODY,
    WRONG_SHAPE_BODY,
    throttled_body,
)
from .images import image_bytes, jpeg_bytes, png_bytes
from .records import RecordedRequest, UploadKind
from .server import FakePlateRecognizer, Mode, Responder
from .shapes import default_results, to_vehicle_mode, to_vehicle_result
from .threaded import run_in_thread

__all__ = [
    "BAD_GATEWAY_BODY",
    "DEFAULT_TOKEN",
    "DEFAULT_TOTAL_CALLS",
    "GARBAGE_BODY",
    "GATEWAY_TIMEOUT_BODY",
    "INVALID_TOKEN_BODY",
    "LICENSE_KEY",
    "NOT_FOUND_BODY",
    "NO_CREDITS_BODY",
    "ONPREM_MISSING_CAMERA_ID",
    "PAYLOAD_TOO_LARGE_BODY",
    "PROCESSING_TIME_MS",
    "SDK_VERSION",
    "SERVER_ERROR_BODY",
    "SERVICE_UNAVAILABLE_BODY",
    "WRONG_SHAPE_BODY",
    "FakePlateRecognizer",
    "Mode",
    "RecordedRequest",
    "Responder",
    "UploadKind",
    "default_results",
    "image_bytes",
    "jpeg_bytes",
    "png_bytes",
    "run_in_thread",
    "throttled_body",
    "to_vehicle_mode",
    "to_vehicle_result",
]
