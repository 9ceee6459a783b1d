"""Strict parsers of the JSON the Snapshot API sends (internal).

Unknown extra keys are tolerated (the API grows); missing or mistyped
documented keys are not, so a wrong shape fails loudly instead of yielding
half-empty results.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Discriminator, Tag, model_validator


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Box(_Wire):
    """Pixel box: top-left (xmin, ymin) and bottom-right (xmax, ymax) corners.

    The one box type: parsed from the API as it is, and public as `platereader.Box`.
    """

    xmin: int
    ymin: int
    xmax: int
    ymax: int

    @property
    def is_empty(self) -> bool:
        """The API sends an all-zero box when it found no vehicle."""
        return self.xmax <= self.xmin or self.ymax <= self.ymin

    @property
    def center(self) -> tuple[float, float]:
        return ((self.xmin + self.xmax) / 2, (self.ymin + self.ymax) / 2)

    def scaled(self, factor: float) -> Box:
        """This box in an image `factor` times larger (undoes a downscale before upload)."""
        if factor == 1.0:
            return self
        return Box(
            xmin=round(self.xmin * factor),
            ymin=round(self.ymin * factor),
            xmax=round(self.xmax * factor),
            ymax=round(self.ymax * factor),
        )


class WireCandidate(_Wire):
    plate: str
    score: float


class WireRegion(_Wire):
    code: str
    score: float


class WireVehicle(_Wire):
    type: str
    score: float
    box: Box


class WireMakeModel(_Wire):
    make: str
    model: str
    score: float


class WireColor(_Wire):
    color: str
    score: float


class WireOrientation(_Wire):
    orientation: str
    score: float


class WirePlateModeResult(_Wire):
    plate: str
    box: Box
    score: float
    dscore: float
    candidates: tuple[WireCandidate, ...] = ()
    region: WireRegion | None = None
    vehicle: WireVehicle | None = None
    model_make: tuple[WireMakeModel, ...] | None = None
    color: tuple[WireColor, ...] | None = None
    orientation: tuple[WireOrientation, ...] | None = None


class WireValue(_Wire):
    value: str
    score: float


class WirePlateProps(_Wire):
    plate: tuple[WireValue, ...] = ()
    region: tuple[WireValue, ...] = ()


class WireNestedPlate(_Wire):
    type: str = "Plate"
    score: float
    box: Box
    props: WirePlateProps


class WireVehicleProps(_Wire):
    make_model: tuple[WireMakeModel, ...] = ()
    orientation: tuple[WireValue, ...] = ()
    color: tuple[WireValue, ...] = ()


class WireNestedVehicle(_Wire):
    type: str
    score: float
    box: Box
    props: WireVehicleProps | None = None


class WireVehicleModeResult(_Wire):
    plate: WireNestedPlate | None = None
    vehicle: WireNestedVehicle | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> WireVehicleModeResult:
        if self.plate is None and self.vehicle is None:
            raise ValueError("a vehicle-mode result has neither plate nor vehicle")
        return self


def _result_shape(item: Any) -> str:
    """Vehicle mode nests objects under `plate` (or has only `vehicle`); plate mode has text."""
    if isinstance(item, dict) and (
        isinstance(item.get("plate"), dict) or ("plate" not in item and "vehicle" in item)
    ):
        return "vehicle"
    if isinstance(item, WireVehicleModeResult):
        return "vehicle"
    return "plate"


# Each result's shape is chosen explicitly: a plain union would report
# confusing errors for both shapes when one field is wrong.
WireResult = Annotated[
    Annotated[WirePlateModeResult, Tag("plate")] | Annotated[WireVehicleModeResult, Tag("vehicle")],
    Discriminator(_result_shape),
]


class WireUsage(_Wire):
    calls: int
    max_calls: int | None = None


class WireReadResponse(_Wire):
    results: tuple[WireResult, ...]
    processing_time: float | None = None
    filename: str | None = None
    version: int | str | None = None
    camera_id: str | None = None
    timestamp: str | None = None
    usage: WireUsage | None = None


class WireStatisticsUsage(_Wire):
    month: int
    calls: int
    year: int
    resets_on: datetime


class WireStatistics(_Wire):
    usage: WireStatisticsUsage
    total_calls: int


class WireInfoUsage(_Wire):
    calls: int


class WireInfo(_Wire):
    version: str
    total_calls: int | None = None
    usage: WireInfoUsage | None = None
    webhooks: list[dict[str, Any]] | None = None
