"""Typed models of the Snapshot API's answers.

The API answers a lookup in one of two shapes: plate mode (the default) and
`detection_mode: vehicle`, where each result nests `plate` and `vehicle`
objects with `props` and may have no plate at all. Both are parsed strictly
(`_wire` models) and normalised into one `PlateResult`, which keeps the raw
JSON of its result.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field

# The API's box is parsed as it is: one type for the wire and the results.
from ._wire import Box as Box
from ._wire import (
    WireInfo,
    WirePlateModeResult,
    WireReadResponse,
    WireStatistics,
    WireVehicleModeResult,
)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class Candidate(_Model):
    plate: str
    score: float


class Region(_Model):
    code: str
    score: float


class Prediction(_Model):
    """A scored value: a colour ("black") or an orientation ("Front")."""

    value: str
    score: float


class MakeModel(_Model):
    make: str
    model: str
    score: float


class Vehicle(_Model):
    type: str
    score: float
    box: Box

    @property
    def detected(self) -> bool:
        """False when the server found no vehicle (score 0, all-zero box)."""
        return self.score > 0 and not self.box.is_empty


class PlateResult(_Model):
    """One vehicle or plate of a lookup, whichever shape the server answered in."""

    plate: str | None = Field(description="Top prediction; None for a vehicle without a plate.")
    box: Box | None = None
    score: float | None = Field(default=None, description="Confidence of the text reading.")
    dscore: float | None = Field(default=None, description="Confidence of the plate detection.")
    candidates: tuple[Candidate, ...] = ()
    region: Region | None = None
    vehicle: Vehicle | None = None
    make_model: tuple[MakeModel, ...] = ()
    color: tuple[Prediction, ...] = ()
    orientation: tuple[Prediction, ...] = ()
    raw: dict[str, Any] = Field(default_factory=dict, repr=False)

    @property
    def has_plate(self) -> bool:
        return self.plate is not None

    @classmethod
    def from_plate_mode(cls, wire: WirePlateModeResult, raw: dict[str, Any]) -> Self:
        return cls(
            plate=wire.plate,
            box=wire.box,
            score=wire.score,
            dscore=wire.dscore,
            candidates=tuple(Candidate(plate=c.plate, score=c.score) for c in wire.candidates),
            region=Region(code=wire.region.code, score=wire.region.score) if wire.region else None,
            vehicle=(
                Vehicle(
                    type=wire.vehicle.type,
                    score=wire.vehicle.score,
                    box=wire.vehicle.box,
                )
                if wire.vehicle
                else None
            ),
            make_model=tuple(
                MakeModel(make=m.make, model=m.model, score=m.score) for m in wire.model_make or ()
            ),
            color=tuple(Prediction(value=c.color, score=c.score) for c in wire.color or ()),
            orientation=tuple(
                Prediction(value=o.orientation, score=o.score) for o in wire.orientation or ()
            ),
            raw=raw,
        )

    @classmethod
    def from_vehicle_mode(cls, wire: WireVehicleModeResult, raw: dict[str, Any]) -> Self:
        plate = wire.plate
        texts = plate.props.plate if plate else ()
        regions = plate.props.region if plate else ()
        vehicle = wire.vehicle
        props = vehicle.props if vehicle else None
        return cls(
            plate=texts[0].value if texts else None,
            box=plate.box if plate else None,
            score=texts[0].score if texts else None,
            dscore=plate.score if plate else None,
            candidates=tuple(Candidate(plate=t.value, score=t.score) for t in texts),
            region=Region(code=regions[0].value, score=regions[0].score) if regions else None,
            vehicle=(
                Vehicle(
                    type=vehicle.type,
                    score=vehicle.score,
                    box=vehicle.box,
                )
                if vehicle
                else None
            ),
            make_model=tuple(
                MakeModel(make=m.make, model=m.model, score=m.score)
                for m in (props.make_model if props else ())
            ),
            color=tuple(
                Prediction(value=c.value, score=c.score) for c in (props.color if props else ())
            ),
            orientation=tuple(
                Prediction(value=o.value, score=o.score)
                for o in (props.orientation if props else ())
            ),
            raw=raw,
        )

    def scaled(self, factor: float) -> PlateResult:
        """Boxes mapped back to an image `factor` times larger than the one uploaded."""
        if factor == 1.0:
            return self
        vehicle = self.vehicle
        return self.model_copy(
            update={
                "box": self.box.scaled(factor) if self.box else None,
                "vehicle": (
                    vehicle.model_copy(update={"box": vehicle.box.scaled(factor)})
                    if vehicle
                    else None
                ),
            }
        )


class Usage(_Model):
    """On-premise usage counters sent with every lookup and by `/info/`."""

    calls: int
    max_calls: int | None = None


class ReadResponse(_Model):
    """The answer to one lookup."""

    results: tuple[PlateResult, ...]
    processing_time: float | None = None
    filename: str | None = None
    version: int | str | None = None
    camera_id: str | None = None
    timestamp: str | None = None
    usage: Usage | None = Field(default=None, description="On-premise only.")
    vehicle_mode: bool = Field(default=False, description="Answered in the nested shape.")
    scale: float = Field(
        default=1.0,
        description="Boxes were multiplied by this to map them onto the original image "
        "(it was downscaled before upload).",
    )
    raw: dict[str, Any] = Field(default_factory=dict, repr=False)

    @property
    def plates(self) -> tuple[PlateResult, ...]:
        """Results that carry a plate (vehicle mode may return vehicles without one)."""
        return tuple(r for r in self.results if r.plate is not None)

    @property
    def best(self) -> PlateResult | None:
        """The plate read with the highest score, if any."""
        return max(self.plates, key=lambda r: r.score or 0.0, default=None)

    @property
    def parsed_timestamp(self) -> datetime | None:
        """`timestamp` as an aware UTC datetime (cloud and on-premise formats)."""
        return parse_timestamp(self.timestamp)

    @classmethod
    def from_api(cls, data: dict[str, Any], *, scale: float = 1.0) -> Self:
        wire = WireReadResponse.model_validate(data)
        raw_results: list[dict[str, Any]] = data.get("results") or []
        results: list[PlateResult] = []
        vehicle_mode = False
        for item, raw in zip(wire.results, raw_results, strict=True):
            if isinstance(item, WireVehicleModeResult):
                vehicle_mode = True
                result = PlateResult.from_vehicle_mode(item, raw)
            else:
                result = PlateResult.from_plate_mode(item, raw)
            results.append(result.scaled(scale))
        camera_id = wire.camera_id
        # The on-premise SDK sends the string "null" when no camera id was given.
        if camera_id in ("null", ""):
            camera_id = None
        return cls(
            results=tuple(results),
            processing_time=wire.processing_time,
            filename=wire.filename,
            version=wire.version,
            camera_id=camera_id,
            timestamp=wire.timestamp,
            usage=Usage(calls=wire.usage.calls, max_calls=wire.usage.max_calls)
            if wire.usage
            else None,
            vehicle_mode=vehicle_mode,
            scale=scale,
            raw=data,
        )


class Statistics(_Model):
    """Cloud usage for the current period (`/v1/statistics/`)."""

    calls: int
    total_calls: int
    month: int
    year: int
    resets_on: datetime

    @property
    def remaining(self) -> int:
        return max(self.total_calls - self.calls, 0)

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Self:
        wire = WireStatistics.model_validate(data)
        return cls(
            calls=wire.usage.calls,
            total_calls=wire.total_calls,
            month=wire.usage.month,
            year=wire.usage.year,
            resets_on=wire.usage.resets_on,
        )


class ServerInfo(_Model):
    """On-premise SDK version and usage (`/info/`). The licence key is not kept."""

    version: str
    calls: int
    total_calls: int | None = None
    webhooks: tuple[dict[str, Any], ...] = ()

    @property
    def remaining(self) -> int | None:
        return None if self.total_calls is None else max(self.total_calls - self.calls, 0)

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Self:
        wire = WireInfo.model_validate(data)
        return cls(
            version=wire.version,
            calls=wire.usage.calls if wire.usage else 0,
            total_calls=wire.total_calls,
            webhooks=tuple(wire.webhooks or ()),
        )


def parse_timestamp(value: str | None) -> datetime | None:
    """Parse "2020-10-12T16:17:27.574008Z" or "2020-01-16 17:00:00" (UTC) leniently."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
