"""One camera read, normalised: what entities show, events carry and the action returns.

Everything here is plain data built from platereader's `ReadResponse`, so the
sensor attributes, the event payloads and the `read_plate` response share
one shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .platereader import Box, PlateResult, ReadResponse
from .platereader.frigate_policy import READ_BY_API, ReadBy
from .platereader.watchlist import WatchList, WatchMatch


def _box(box: Box | None) -> dict[str, int] | None:
    return box.model_dump() if box is not None else None


@dataclass(frozen=True, slots=True)
class PlateRead:
    """One plate (or plateless vehicle) of a read, with its watch-list verdict."""

    result: PlateResult
    match: WatchMatch | None

    @property
    def plate(self) -> str | None:
        return self.result.plate.upper() if self.result.plate else None

    @property
    def watched(self) -> bool:
        return self.match is not None

    @property
    def vehicle_type(self) -> str | None:
        vehicle = self.result.vehicle
        return vehicle.type if vehicle is not None and vehicle.detected else None

    @property
    def make_model(self) -> dict[str, Any] | None:
        if not self.result.make_model:
            return None
        top = self.result.make_model[0]
        return {"make": top.make, "model": top.model, "score": top.score}

    @property
    def color(self) -> str | None:
        return self.result.color[0].value if self.result.color else None

    @property
    def orientation(self) -> str | None:
        return self.result.orientation[0].value if self.result.orientation else None

    def as_dict(self) -> dict[str, Any]:
        result = self.result
        vehicle = result.vehicle
        return {
            "plate": self.plate,
            "score": result.score,
            "dscore": result.dscore,
            "candidates": [{"plate": c.plate.upper(), "score": c.score} for c in result.candidates],
            "region": result.region.code if result.region else None,
            "region_score": result.region.score if result.region else None,
            "box": _box(result.box),
            "watched": self.watched,
            "match": self.match.as_dict() if self.match else None,
            "vehicle": (
                {"type": vehicle.type, "score": vehicle.score, "box": _box(vehicle.box)}
                if vehicle is not None and vehicle.detected
                else None
            ),
            "make_model": self.make_model,
            "color": self.color,
            "orientation": self.orientation,
        }


@dataclass(frozen=True, slots=True)
class CameraRead:
    """The outcome of reading one snapshot of one camera."""

    camera: str
    trigger: str
    time: datetime
    plates: tuple[PlateRead, ...]
    vehicles: tuple[PlateRead, ...] = field(default=())
    processing_time: float | None = None
    read_by: ReadBy = READ_BY_API  # Frigate's own LPR, the cloud API or a local engine

    @classmethod
    def build(
        cls,
        response: ReadResponse,
        watchlist: WatchList,
        *,
        camera: str,
        trigger: str,
        time: datetime,
        read_by: ReadBy = READ_BY_API,
    ) -> CameraRead:
        reads = []
        for result in response.results:
            reads.append(PlateRead(result, watchlist.match(result)))
        # The picture's headline plate first: `plates[0]` is what "Last plate" shows
        # and the action returns on top. A watched plate comes before any unknown one
        # (a gate camera must not hide the resident behind a passing car), then by score.
        with_plate = sorted(
            (r for r in reads if r.result.plate is not None),
            key=lambda r: (r.watched, r.result.score or 0.0),
            reverse=True,
        )
        return cls(
            camera=camera,
            trigger=trigger,
            time=time,
            plates=tuple(with_plate),
            vehicles=tuple(reads),
            processing_time=response.processing_time,
            read_by=read_by,
        )

    @property
    def best(self) -> PlateRead | None:
        return self.plates[0] if self.plates else None

    @property
    def watched(self) -> tuple[PlateRead, ...]:
        return tuple(r for r in self.plates if r.watched)

    def vehicle_list(self) -> list[dict[str, Any]]:
        """Every vehicle found in the image, with its plate when it has one."""
        vehicles = []
        for read in self.vehicles:
            vehicle = read.result.vehicle
            if vehicle is None or not vehicle.detected:
                continue
            vehicles.append(
                {
                    "type": vehicle.type,
                    "score": vehicle.score,
                    "box": _box(vehicle.box),
                    "plate": read.plate,
                    "make_model": read.make_model,
                    "color": read.color,
                    "orientation": read.orientation,
                }
            )
        return vehicles

    def as_dict(self) -> dict[str, Any]:
        """The `read_plate` response: the best plate's fields at the top level."""
        best = self.best
        data: dict[str, Any] = {
            "camera": self.camera,
            "trigger": self.trigger,
            "read_by": self.read_by,
            "time": self.time.isoformat(),
            "found": best is not None,
            "watched": bool(self.watched),
        }
        if best is not None:
            data.update({k: v for k, v in best.as_dict().items() if k != "watched"})
        else:
            data.update({"plate": None, "score": None, "match": None})
        data["plates"] = [r.as_dict() for r in self.plates]
        data["vehicles"] = self.vehicle_list()
        data["processing_time"] = self.processing_time
        return data
