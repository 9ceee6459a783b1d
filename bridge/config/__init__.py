"""The bridge's configuration: one YAML file, validated by pydantic, one module per section.

Secrets stay out of the file in one of two ways:

* `${NAME}` (or `${NAME:-default}`) in a host, port, user name, secret, URL or
  path is replaced by the environment variable `NAME` (the field's type does it:
  `types.EnvStr`, `EnvSecret` ...);
* `PLATE_BRIDGE_<SECTION>__<KEY>[__<KEY>...]` environment variables override
  (or add) any key, e.g. `PLATE_BRIDGE_API__TOKEN`, `PLATE_BRIDGE_MQTT__PASSWORD`.
  Their values are parsed as YAML scalars (`8` is a number, `true` a boolean).

Every problem is reported as `file: key.path: message` (with the line when the
key is in the file); unknown keys are errors.

Layout: `types` (the section base and shared `Annotated` value types), one module
per section (`mqtt`, `api`, `cameras`, `sources`, `watchlist`, `storage`,
`pipeline`, `homeassistant`, `web`), `root` (`BridgeConfig`), `loading` (file -> config)
and `errors`.
"""

from __future__ import annotations

from .api import ApiConfig
from .cameras import CameraConfig, Point, ZoneConfig
from .errors import ConfigError
from .homeassistant import HomeAssistantConfig
from .loading import ENV_PREFIX, TOKEN_ENV, load_config, parse_config
from .mqtt import MqttConfig, TlsConfig
from .pipeline import PipelineConfig
from .root import BridgeConfig
from .sources import (
    FolderConfig,
    FrigateConfig,
    FrigateLprConfig,
    FrigateSnapshotConfig,
    FrigateWriteBackConfig,
    SnapshotTopicConfig,
    SourcesConfig,
)
from .storage import StorageConfig
from .types import HttpUrl, MqttTopic, Name, Regions
from .watchlist import WatchEntryConfig
from .web import WebConfig

__all__ = [
    "ENV_PREFIX",
    "TOKEN_ENV",
    "ApiConfig",
    "BridgeConfig",
    "CameraConfig",
    "ConfigError",
    "FolderConfig",
    "FrigateConfig",
    "FrigateLprConfig",
    "FrigateSnapshotConfig",
    "FrigateWriteBackConfig",
    "HomeAssistantConfig",
    "HttpUrl",
    "MqttConfig",
    "MqttTopic",
    "Name",
    "PipelineConfig",
    "Point",
    "Regions",
    "SnapshotTopicConfig",
    "SourcesConfig",
    "StorageConfig",
    "TlsConfig",
    "WatchEntryConfig",
    "WebConfig",
    "ZoneConfig",
    "load_config",
    "parse_config",
]
