"""The JSON the engine answers, in the on-premise SDK's documented shapes.

Only what the reference documents, in its key order. Vehicles (box, type, score) and,
with mmc=true, their colour come from plate_engine.vehicles / colour; there is no
make/model or orientation classifier offline: those carry the reference's own "nothing
found" values ("Unknown", score 0), as does a plate on no detected vehicle (vehicle score
0, all-zero box, type "Unknown"), so clients need no special case for the engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import metadata
from typing import Any, Final

from .types import Box, PlateRead, Reads, Vehicle

type Json = dict[str, Any]

RESPONSE_VERSION: Final = 1  # `version` of the recognition answer (the cloud's is 1 too)
LICENSE_KEY: Final = "offline"  # /info/: there is no licence, and never anything secret
MISSING_CAMERA_ID: Final = "null"  # the on-premise SDK's answer without camera_id (a string)


def engine_version() -> str:
    """/info/ `version`: the installed plate-bridge package's version."""
    try:
        return metadata.version("plate-bridge")
    except metadata.PackageNotFoundError:
        return "0.0.0"


# --- error bodies (mirroring the API and tests/fake_api where they overlap) ---------------

THROTTLED_BODY: Final[Json] = {
    "detail": "Request was throttled. Expected available in 1 second.",
    "status_code": 429,
}
NO_CREDITS_BODY: Final[Json] = {"detail": "You do not have enough credits to perform this request."}
NOT_FOUND_BODY: Final[Json] = {"detail": "Not found."}


def error_body(message: str) -> Json:
    """400/413/500 bodies: the key the fake API (and our client) read for a 400."""
    return {"error": message}


def method_not_allowed_body(method: str) -> Json:
    return {"detail": f'Method "{method}" not allowed.'}


class HttpError(Exception):
    """Answer with `status` and the JSON `body` (the server's middleware sends it)."""

    def __init__(self, status: int, body: Json, headers: dict[str, str] | None = None) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body
        self.headers = headers or {}


def bad_request(message: str) -> HttpError:
    return HttpError(400, error_body(message))


def throttled_error() -> HttpError:
    return HttpError(429, dict(THROTTLED_BODY), {"Retry-After": "1"})


def too_large_error(limit: int) -> HttpError:
    return HttpError(
        413, error_body(f"request body is larger than the engine's {limit} byte limit")
    )


# --- recognition answers -----------------------------------------------------------------

_NO_BOX: Final[Json] = {"xmin": 0, "ymin": 0, "xmax": 0, "ymax": 0}


def _box(box: Box) -> Json:
    return {"xmin": box.xmin, "ymin": box.ymin, "xmax": box.xmax, "ymax": box.ymax}


def _score(value: float) -> float:
    return round(float(value), 3)


def _no_vehicle() -> Json:
    # "If we cannot find a vehicle, the score is set to 0 ... the coordinates are all 0."
    return {"score": 0, "type": "Unknown", "box": dict(_NO_BOX)}


def _vehicle(vehicle: Vehicle | None) -> Json:
    """The plate-mode `vehicle`: the detector's (vehicles.py), or the "not found" values."""
    if vehicle is None:
        return _no_vehicle()
    return {"score": _score(vehicle.score), "type": vehicle.type, "box": _box(vehicle.box)}


def _colour(vehicle: Vehicle | None) -> tuple[str, float]:
    return ("unknown", 0) if vehicle is None else (vehicle.color, _score(vehicle.color_score))


def unknown_mmc() -> Json:
    """The `mmc=true` keys of a plate-mode result: the documented "unknown" values."""
    return {
        "model_make": [{"make": "Unknown", "model": "Unknown", "score": 0}],
        "color": [{"color": "unknown", "score": 0}],
        "orientation": [{"orientation": "Unknown", "score": 0}],
    }


def plate_mode_result(read: PlateRead, *, mmc: bool) -> Json:
    result: Json = {
        "box": _box(read.box),
        "plate": read.plate,
        "region": {"code": read.region_code, "score": _score(read.region_score)},
        "vehicle": _vehicle(read.vehicle),
        "score": _score(read.score),
        "candidates": [{"score": _score(c.score), "plate": c.plate} for c in read.candidates],
        "dscore": _score(read.dscore),
    }
    if mmc:
        # Make, model and orientation stay "Unknown" offline; the colour is measured.
        result.update(unknown_mmc())
        color, score = _colour(read.vehicle)
        result["color"] = [{"color": color, "score": score}]
    return result


def _vehicle_props(vehicle: Vehicle | None, *, mmc: bool) -> Json:
    if not mmc:
        return {}
    color, score = _colour(vehicle)
    return {
        "make_model": [{"make": "Unknown", "model": "Unknown", "score": 0}],
        "orientation": [{"value": "Unknown", "score": 0}],
        "color": [{"value": color, "score": score}],
    }


def unplated_result(vehicle: Vehicle, *, mmc: bool) -> Json:
    """`detection_mode: vehicle`: a vehicle without a plate (the `plate` key is absent)."""
    return {
        "vehicle": {
            "type": vehicle.type,
            "score": _score(vehicle.score),
            "box": _box(vehicle.box),
            "props": _vehicle_props(vehicle, mmc=mmc),
        }
    }


def vehicle_mode_result(read: PlateRead, *, mmc: bool) -> Json:
    """`detection_mode: vehicle`: every plate nested with its vehicle (or a "not found" one)."""
    vehicle = read.vehicle
    found = (
        {"type": vehicle.type, "score": _score(vehicle.score), "box": _box(vehicle.box)}
        if vehicle is not None
        else {"type": "Unknown", "score": 0, "box": dict(_NO_BOX)}
    )
    return {
        "plate": {
            "type": "Plate",
            "score": _score(read.dscore),
            "box": _box(read.box),
            "props": {
                "plate": [{"value": c.plate, "score": _score(c.score)} for c in read.candidates],
                "region": [{"value": read.region_code, "score": _score(read.region_score)}],
            },
        },
        "vehicle": {**found, "props": _vehicle_props(vehicle, mmc=mmc)},
    }


def onprem_timestamp(now: datetime | None = None) -> str:
    """The SDK's style, in UTC: ``2021-11-23 17:56:47.896406``."""
    return (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def read_body(
    reads: Sequence[PlateRead],
    *,
    vehicle_mode: bool,
    mmc: bool,
    processing_ms: float,
    filename: str,
    camera_id: str | None,
    timestamp: str,
    calls: int,
    max_calls: int | None,
) -> Json:
    """The whole answer to a lookup; `camera_id` None becomes the SDK's string "null"."""
    camera = MISSING_CAMERA_ID if camera_id is None else camera_id
    unplated = reads.unplated if isinstance(reads, Reads) else ()
    usage = {"calls": calls, "max_calls": max_calls}
    if vehicle_mode:  # the reference's vehicle-mode key order
        return {
            "filename": filename,
            "timestamp": timestamp,
            "camera_id": camera,
            "processing_time": round(processing_ms, 3),
            "results": [vehicle_mode_result(r, mmc=mmc) for r in reads]
            + [unplated_result(v, mmc=mmc) for v in unplated],
            "version": RESPONSE_VERSION,
            "usage": usage,
        }
    return {
        "processing_time": round(processing_ms, 3),
        "results": [plate_mode_result(r, mmc=mmc) for r in reads],
        "filename": filename,
        "version": RESPONSE_VERSION,
        "camera_id": camera,
        "timestamp": timestamp,
        "usage": usage,
    }


def webhook_payload(body: Json, *, target: str, hook_id: int) -> Json:
    """The documented hook payload around a read's answer.

    `data` is the HTTP answer except `camera_id`, which is JSON null when the request had
    none, as in the reference's webhook example (the HTTP answer uses the string "null").
    """
    data = dict(body)
    if data.get("camera_id") == MISSING_CAMERA_ID:
        data["camera_id"] = None
    return {"hook": {"target": target, "id": hook_id, "event": "image.done"}, "data": data}


def info_body(
    *, calls: int, total_calls: int | None, webhooks: Sequence[Json], version: str
) -> Json:
    """GET /info/. `total_calls` null: the engine has no quota."""
    return {
        "version": version,
        "license_key": LICENSE_KEY,
        "total_calls": total_calls,
        "usage": {"calls": calls},
        "webhooks": list(webhooks),
    }
