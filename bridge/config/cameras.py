"""`cameras:` per-camera settings: regions, zones, thresholds."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from .types import EngineConfigMapping, Regions, Section

Point = tuple[float, float]


class ZoneConfig(Section):
    name: str | None = None
    points: Annotated[list[Point], Field(min_length=3)]


def _zones(value: Any) -> Any:
    """A zone is `{name, points}` or just its list of points."""
    if isinstance(value, list):
        return [{"points": item} if isinstance(item, list) else item for item in value]
    return value


Zones = Annotated[list[ZoneConfig], BeforeValidator(_zones)]


class CameraConfig(Section):
    enabled: bool = True
    regions: Regions | None = None
    mmc: bool | None = None
    engine_config: EngineConfigMapping | None = None
    zones: Zones = Field(
        default_factory=list,
        description="Keep reads whose box centre is inside one of these (all when empty).",
    )
    ignore_zones: Zones = Field(
        default_factory=list, description="Discard reads whose box centre is inside one of these."
    )
    min_score: float = Field(default=0.0, ge=0, le=1, description="Discard weaker plate reads.")
    cooldown: float | None = Field(default=None, ge=0)


DEFAULT_CAMERA = CameraConfig()
