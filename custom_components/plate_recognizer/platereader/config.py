"""`EngineConfig`: the `config` parameter of a lookup, validated before it is sent."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .exceptions import PlateReaderConfigError

# A country code, optionally with a state or province: "gb", "us-ca", "mx". The one
# definition for the client, the bridge, the integration and the engine.
REGION_CODE: Final = re.compile(r"^[a-z]{2}(-[a-z0-9]{1,3})?$")


def is_region_code(code: str) -> bool:
    """True for a lower-case region code such as "gb" or "us-ca"."""
    return REGION_CODE.match(code) is not None


class EngineConfig(BaseModel):
    """Every engine configuration key of the Snapshot API reference.

    Unset keys are not sent, so the server's own defaults apply.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    detection_rule: Literal["strict"] | None = Field(
        default=None, description="Discard plates detected outside a vehicle."
    )
    detection_mode: Literal["vehicle"] | None = Field(
        default=None, description="Also return vehicles without a plate (nested response shape)."
    )
    region: Literal["strict"] | None = Field(
        default=None,
        description="Only accept plates matching the templates of the request's regions.",
    )
    threshold_d: float | None = Field(
        default=None, ge=0.0, le=1.0, description="Minimum detection score."
    )
    threshold_o: float | None = Field(
        default=None, ge=0.0, le=1.0, description="Minimum OCR score."
    )
    mode: Literal["fast", "redaction"] | None = Field(
        default=None, description="fast: one detection step; redaction: more plate candidates."
    )
    text_formats: tuple[str, ...] | None = Field(
        default=None, description="Regular expressions guiding the plate text."
    )

    @field_validator("text_formats")
    @classmethod
    def _formats_compile(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        for pattern in value or ():
            try:
                re.compile(pattern)
            except re.error as err:
                raise ValueError(f"{pattern!r} is not a regular expression: {err}") from err
        return value

    @classmethod
    def parse(cls, value: EngineConfig | Mapping[str, Any] | str | None) -> Self | None:
        """Build from a mapping or JSON text; raise `PlateReaderConfigError` naming the key."""
        if value is None:
            return None
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as err:
                raise PlateReaderConfigError(f"engine config is not valid JSON: {err}") from err
        if not isinstance(value, Mapping):
            raise PlateReaderConfigError(
                f"engine config must be a JSON object, not {type(value).__name__}"
            )
        try:
            return cls.model_validate(dict(value))
        except ValidationError as err:
            raise PlateReaderConfigError(describe_validation_error(err, "engine config")) from err

    @property
    def is_vehicle_mode(self) -> bool:
        return self.detection_mode == "vehicle"

    def to_api(self) -> dict[str, Any]:
        """The JSON object sent as `config` (only the keys that are set)."""
        data = self.model_dump(exclude_none=True)
        if "text_formats" in data:
            data["text_formats"] = list(data["text_formats"])
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_api(), separators=(",", ":"))


def describe_validation_error(err: ValidationError, what: str) -> str:
    """One line per problem, each naming the key: "engine config key 'mode': ..."."""
    lines = []
    for problem in err.errors():
        key = ".".join(str(part) for part in problem["loc"]) or "(root)"
        if problem["type"] == "extra_forbidden":
            lines.append(f"{what}: unknown key {key!r}")
        else:
            lines.append(f"{what} key {key!r}: {problem['msg']}")
    return "; ".join(lines)


def require_regions(config: EngineConfig | None, regions: Sequence[str]) -> None:
    """Raise `PlateReaderConfigError` for `region: strict` without any region to be strict to."""
    if config is not None and config.region == "strict" and not regions:
        raise PlateReaderConfigError(
            "engine config 'region: strict' needs at least one region in `regions`"
        )


def normalize_regions(regions: Iterable[Any] | str) -> list[str]:
    """Lower-case region codes, checked, without duplicates.

    Raise `PlateReaderConfigError` (a ValueError) naming a bad one. A YAML boolean
    `False` is the unquoted Norway code `no` read by a YAML 1.1 parser (HA scripts and
    automations): it can only have meant Norway here.
    """
    if isinstance(regions, str):  # a lone "gb" would otherwise become "g", "b"
        regions = [regions]
    codes: list[str] = []
    for region in regions:
        if region is False:
            region = "no"
        code = str(region).strip().lower()
        if not is_region_code(code):
            raise PlateReaderConfigError(
                f"region {region!r} is not a region code like 'gb', 'us-ca' or 'mx'"
            )
        if code not in codes:
            codes.append(code)
    return codes
