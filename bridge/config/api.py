"""`api:` the Plate Recognizer server (cloud, on-premise SDK or local engine)."""

from __future__ import annotations

from pydantic import Field

from platereader import CLOUD_URL

from .types import EngineConfigMapping, EnvSecret, HttpUrl, Regions, Section


class ApiConfig(Section):
    url: HttpUrl = Field(
        default=CLOUD_URL, description="Cloud API, on-premise SDK or local engine."
    )
    token: EnvSecret | None = Field(default=None, description="Cloud API token (secret).")
    regions: Regions = ()
    mmc: bool | None = None
    engine_config: EngineConfigMapping | None = None
    lookups_per_second: float | None = Field(
        default=None,
        gt=0,
        description="Shared by every camera; default 1 with a token (Free plan), "
        "unlimited without.",
    )
    monthly_budget: int | None = Field(
        default=None,
        ge=1,
        description="Cloud lookups this bridge may spend per month; default the plan's quota.",
    )
    budget_reserve: int = Field(
        default=0, ge=0, description="Lookups to leave unused before pausing."
    )
    budget_check_interval: float = Field(default=600.0, ge=10)
    timeout: float = Field(default=30.0, gt=0)
    retries: int = Field(default=3, ge=0, le=10)
    concurrency: int = Field(default=4, ge=1, le=64, description="Lookups in flight at once.")
    forbidden_pause: float = Field(
        default=300.0, ge=1, description="After a 403, seconds before reads are tried again."
    )

    @property
    def is_cloud(self) -> bool:
        return self.token is not None
