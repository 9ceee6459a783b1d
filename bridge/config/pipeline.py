"""`pipeline:` queues, de-duplication and metrics between sources and outputs."""

from __future__ import annotations

from pydantic import Field

from .types import Section


class PipelineConfig(Section):
    queue_per_camera: int = Field(
        default=4, ge=1, description="Pending reads per camera; the oldest is dropped."
    )
    queue_max: int = Field(default=256, ge=1, description="Pending reads over all cameras.")
    cooldown: float = Field(
        default=60.0, ge=0, description="Same plate on the same camera within this = one passage."
    )
    shutdown_timeout: float = Field(default=15.0, ge=0)
    metrics_interval: float = Field(default=60.0, ge=0, description="0 = never publish metrics.")
    publish_no_plate: bool = Field(
        default=False, description="Publish an event for a lookup that found no plate."
    )
