"""Response bodies, built from plate-mode results.

A responder speaks one dialect only, the plate-mode result of the reference.  Everything
else (engine-config filtering, the MMC gate, the vehicle-mode shape, the cloud and
on-premise envelopes) is derived here, so both shapes always agree.

Convention for vehicles without a plate: a plate-mode result whose ``"plate"`` is None.
Plate mode drops it (it "only returns vehicles if a license plate is also detected");
vehicle mode turns it into a result with a ``vehicle`` and no ``plate``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from .constants import MMC_KEYS, PROCESSING_TIME_MS, RESPONSE_VERSION, SDK_VERSION
from .records import RecordedRequest

type Result = dict[str, Any]


def default_results(request: RecordedRequest) -> list[Result]:
    """The default responder: the reference's example car, plus a van without a plate.

    Deterministic and independent of the request.  Built fresh on every call (cheaper than
    a deepcopy) so a test mutating one response cannot leak into the next.
    """
    del request  # same answer for every image
    return [
        {
            "box": {"xmin": 143, "ymin": 481, "xmax": 282, "ymax": 575},
            "plate": "nhk552",
            "region": {"code": "gb", "score": 0.747},
            "vehicle": {
                "score": 0.798,
                "type": "Sedan",
                "box": {"xmin": 67, "ymin": 113, "xmax": 908, "ymax": 653},
            },
            "score": 0.904,
            "candidates": [{"score": 0.904, "plate": "nhk552"}],
            "dscore": 0.99,
            "model_make": [{"make": "Riley", "model": "RMF", "score": 0.306}],
            "color": [{"color": "black", "score": 0.937}],
            "orientation": [{"orientation": "Front", "score": 0.937}],
        },
        {
            "plate": None,
            "vehicle": {
                "score": 0.721,
                "type": "Van",
                "box": {"xmin": 912, "ymin": 140, "xmax": 1270, "ymax": 610},
            },
            "model_make": [{"make": "Ford", "model": "Transit", "score": 0.512}],
            "color": [{"color": "white", "score": 0.881}],
            "orientation": [{"orientation": "Rear", "score": 0.903}],
        },
    ]


def has_plate(result: Result) -> bool:
    """Whether a plate-mode result carries a plate (see the module's convention)."""
    return result.get("plate") is not None


def has_vehicle(result: Result) -> bool:
    """Whether a vehicle was found: the reference zeroes the score when there is none."""
    vehicle = result.get("vehicle")
    return isinstance(vehicle, dict) and bool(vehicle.get("score"))


def _region_matches(code: Any, regions: Sequence[str]) -> bool:
    # "us" also admits a "us-ca" read: the state code refines the country code.
    return isinstance(code, str) and any(
        code == region or code.startswith(region + "-") for region in regions
    )


def apply_engine_config(
    results: list[Result], config: dict[str, Any], regions: Sequence[str]
) -> list[Result]:
    """Drop results the engine config would discard: thresholds, strict region and rule.

    A result is kept when its ``dscore``/``score`` is at least ``threshold_d``/``threshold_o``.
    ``region: strict`` only acts when regions were sent, as the reference says.  The plate
    criteria do not apply to a vehicle without a plate.
    """
    threshold_d = config.get("threshold_d")
    threshold_o = config.get("threshold_o")
    strict_regions = regions if config.get("region") == "strict" else ()
    strict_rule = config.get("detection_rule") == "strict"
    kept: list[Result] = []
    for result in results:
        if has_plate(result):
            if threshold_d is not None and result.get("dscore", 1.0) < threshold_d:
                continue
            if threshold_o is not None and result.get("score", 1.0) < threshold_o:
                continue
            region = result.get("region") or {}
            if strict_regions and not _region_matches(region.get("code"), strict_regions):
                continue
            if strict_rule and not has_vehicle(result):
                continue
        kept.append(result)
    return kept


def to_plate_mode(results: list[Result], *, mmc: bool) -> list[Result]:
    """Plate-mode results: plates only, MMC keys only when the request asked for them."""
    if mmc:
        return [dict(result) for result in results if has_plate(result)]
    return [
        {key: value for key, value in result.items() if key not in MMC_KEYS}
        for result in results
        if has_plate(result)
    ]


def to_vehicle_result(result: Result, *, mmc: bool) -> Result:
    """One plate-mode result in the nested ``detection_mode: vehicle`` shape.

    ``plate`` is absent for a vehicle without a plate and ``vehicle`` is absent for a plate
    seen outside any vehicle.  ``vehicle.props`` holds the top 3 make/model, orientation
    and colour predictions, only when the request had ``mmc=true`` (as in plate mode).
    """
    converted: Result = {}
    if has_plate(result):
        candidates = result.get("candidates") or [
            {"plate": result["plate"], "score": result.get("score")}
        ]
        region = result.get("region")
        converted["plate"] = {
            "type": "Plate",
            "score": result.get("dscore"),
            "box": result.get("box"),
            "props": {
                "plate": [{"value": c["plate"], "score": c["score"]} for c in candidates],
                "region": ([{"value": region["code"], "score": region["score"]}] if region else []),
            },
        }
    if has_vehicle(result):
        vehicle = result["vehicle"]
        props: Result = {}
        if mmc:
            props = {
                "make_model": [dict(item) for item in result.get("model_make", [])[:3]],
                "orientation": [
                    {"value": item["orientation"], "score": item["score"]}
                    for item in result.get("orientation", [])[:3]
                ],
                "color": [
                    {"value": item["color"], "score": item["score"]}
                    for item in result.get("color", [])[:3]
                ],
            }
        converted["vehicle"] = {
            "type": vehicle.get("type"),
            "score": vehicle.get("score"),
            "box": vehicle.get("box"),
            "props": props,
        }
    return converted


def to_vehicle_mode(results: list[Result], *, mmc: bool) -> list[Result]:
    """Every result in vehicle-mode shape (vehicles without a plate included)."""
    return [to_vehicle_result(result, mmc=mmc) for result in results]


def cloud_timestamp(now: datetime) -> str:
    """Cloud style: ``2020-10-12T16:17:27.574008Z``."""
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def onprem_timestamp(now: datetime) -> str:
    """On-premise style: ``2021-11-23 17:56:47.896406``."""
    return now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def cloud_body(
    results: list[Result],
    *,
    vehicle_mode: bool,
    filename: str,
    camera_id: str | None,
    timestamp: str,
) -> Result:
    """The cloud envelope, keys in the reference's order for each mode."""
    if vehicle_mode:
        return {
            "filename": filename,
            "timestamp": timestamp,
            "camera_id": camera_id,
            "processing_time": PROCESSING_TIME_MS,
            "results": results,
        }
    return {
        "processing_time": PROCESSING_TIME_MS,
        "results": results,
        "filename": filename,
        "version": RESPONSE_VERSION,
        "camera_id": camera_id,
        "timestamp": timestamp,
    }


def onprem_body(
    results: list[Result],
    *,
    calls: int,
    max_calls: int,
    filename: str,
    camera_id: str,
    timestamp: str,
) -> Result:
    """The on-premise envelope of the reference (same in both detection modes)."""
    return {
        "usage": {"max_calls": max_calls, "calls": calls},
        "results": results,
        "camera_id": camera_id,
        "timestamp": timestamp,
        "filename": filename,
    }


def statistics_body(*, calls: int, total_calls: int, now: datetime) -> Result:
    """``GET /v1/statistics/``: the period is the calendar month, reset on the 1st."""
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return {
        "usage": {
            "month": now.month,
            "calls": calls,
            "year": now.year,
            "resets_on": f"{year:04d}-{month:02d}-01T00:00:00Z",
        },
        "total_calls": total_calls,
    }


def info_body(
    *, calls: int, total_calls: int, version: str = SDK_VERSION, license_key: str
) -> Result:
    """On-premise ``GET /info/``."""
    return {
        "version": version,
        "license_key": license_key,
        "total_calls": total_calls,
        "usage": {"calls": calls},
        "webhooks": [],
    }
