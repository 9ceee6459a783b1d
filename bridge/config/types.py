"""The base of every section and the value types several sections share.

Each check is written once, as an `Annotated` type, so a field gets it by its type
(`prefix: MqttTopic`) rather than by one more copy of a validator.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict

from platereader import EngineConfig, normalize_regions
from platereader.exceptions import PlateReaderConfigError

_TOPIC_CHARS = re.compile(r"^[^#+\x00]+$")
_NAME = re.compile(r"^[A-Za-z0-9_\-]+$")
_HTTP_URL = re.compile(r"^https?://[^/\s]+")


class Section(BaseModel):
    """A configuration section: unknown keys are errors, values never change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def check_name(value: str) -> str:
    """Camera names and discovery ids end up in topics and entity ids."""
    if not _NAME.match(value):
        raise ValueError("use letters, digits, '_' and '-'")
    return value


def _mqtt_topic(value: str) -> str:
    value = value.strip("/")
    # '$' topics ($SYS, $share) belong to the broker, not to a prefix of ours.
    if not value or not _TOPIC_CHARS.match(value) or value.startswith("$"):
        raise ValueError("must be a topic without wildcards ('#', '+') or a leading '$'")
    return value


def _http_url(value: str) -> str:
    if not _HTTP_URL.match(value):
        raise ValueError("must be an http(s) URL")
    return value.rstrip("/")


def _regions(value: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(normalize_regions(value))  # its PlateReaderConfigError is a ValueError


def _engine_config(value: dict[str, Any]) -> dict[str, Any]:
    try:
        EngineConfig.parse(value)
    except PlateReaderConfigError as err:
        raise ValueError(str(err)) from err
    return value


MqttTopic = Annotated[str, AfterValidator(_mqtt_topic)]
"""A topic (or topic prefix) without wildcards; surrounding '/' are dropped."""

HttpUrl = Annotated[str, AfterValidator(_http_url)]
"""An http(s) address without its trailing '/'."""

Name = Annotated[str, AfterValidator(check_name)]
"""Letters, digits, '_' and '-'."""

Regions = Annotated[tuple[str, ...], AfterValidator(_regions)]
"""Region codes ('gb', 'us-ca'), lower-cased."""

EngineConfigMapping = Annotated[dict[str, Any], AfterValidator(_engine_config)]
"""The API's `config` parameter, checked as `platereader.EngineConfig` checks it."""
