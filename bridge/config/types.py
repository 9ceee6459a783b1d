"""The base of every section and the value types several sections share.

Each check is written once, as an `Annotated` type, so a field gets it by its type
(`prefix: MqttTopic`) rather than by one more copy of a validator.

Values that usually differ per installation or are secret (hosts, ports, user
names, passwords and tokens, URLs, paths) may name environment variables:
`${NAME}` or `${NAME:-default}` (`EnvStr`, `EnvSecret`, `EnvPath`, `EnvPort`,
`HttpUrl`). The environment is the validation context's `env` (`load_config`
passes the one it was given), else the process's. An unset variable without a
default is an error naming the variable, never a value.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
)

from platereader import EngineConfig, normalize_regions
from platereader.exceptions import PlateReaderConfigError

_TOPIC_CHARS = re.compile(r"^[^#+\x00]+$")
_NAME = re.compile(r"^[A-Za-z0-9_\-]+$")
_HTTP_URL = re.compile(r"^https?://[^/\s]+")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
ENV_CONTEXT = "env"  # the validation context's key for the environment to read


def expand_env(text: str, env: Mapping[str, str]) -> str:
    """`text` with each `${NAME}` / `${NAME:-default}` replaced from `env`.

    Raises `ValueError` naming the first variable that is unset and has no default.
    """
    missing: list[str] = []

    def replace(match: re.Match[str]) -> str:
        var, default = match.group(1), match.group(2)
        if var in env:
            return env[var]
        if default is not None:
            return default
        missing.append(var)
        return ""

    expanded = _ENV_REF.sub(replace, text)
    if missing:
        raise ValueError(f"environment variable {missing[0]} is not set")
    return expanded


def _from_env(value: Any, info: ValidationInfo) -> Any:
    if not isinstance(value, str) or "${" not in value:
        return value
    context = info.context if isinstance(info.context, Mapping) else {}
    env = context.get(ENV_CONTEXT)
    return expand_env(value, env if isinstance(env, Mapping) else os.environ)


_FROM_ENV = BeforeValidator(_from_env)


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

EnvStr = Annotated[str, _FROM_ENV]
"""Text that may name environment variables (a host, a user name)."""

EnvSecret = Annotated[SecretStr, _FROM_ENV]
"""A secret (password, token), typically `${NAME}`: never printed."""

EnvPath = Annotated[Path, _FROM_ENV]
"""A file or directory that may name environment variables."""

EnvPort = Annotated[int, _FROM_ENV, Field(ge=1, le=65535)]
"""A TCP port, which may come from the environment (`port: ${MQTT_PORT}`)."""

HttpUrl = Annotated[str, _FROM_ENV, AfterValidator(_http_url)]
"""An http(s) address without its trailing '/'; may name environment variables."""

Name = Annotated[str, AfterValidator(check_name)]
"""Letters, digits, '_' and '-'."""

Regions = Annotated[tuple[str, ...], AfterValidator(_regions)]
"""Region codes ('gb', 'us-ca'), lower-cased."""

EngineConfigMapping = Annotated[dict[str, Any], AfterValidator(_engine_config)]
"""The API's `config` parameter, checked as `platereader.EngineConfig` checks it."""
