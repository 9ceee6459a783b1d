"""`BridgeConfig`: the whole file, one field per section, and what needs several sections."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from pydantic import Field, field_validator

from .api import ApiConfig
from .cameras import DEFAULT_CAMERA, CameraConfig
from .homeassistant import HomeAssistantConfig
from .mqtt import MqttConfig
from .pipeline import PipelineConfig
from .sources import SourcesConfig
from .storage import StorageConfig
from .types import Section, check_name
from .watchlist import WatchEntryConfig
from .web import WebConfig


class BridgeConfig(Section):
    mqtt: MqttConfig = Field(default_factory=MqttConfig)
    api: ApiConfig = Field(default_factory=ApiConfig)
    cameras: dict[str, CameraConfig] = Field(default_factory=dict)
    sources: SourcesConfig = Field(default_factory=SourcesConfig)
    watchlist: list[WatchEntryConfig] = Field(default_factory=list)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    pipeline: PipelineConfig = Field(default_factory=PipelineConfig)
    homeassistant: HomeAssistantConfig = Field(default_factory=HomeAssistantConfig)
    web: WebConfig | None = None  # the web page; off unless configured

    @field_validator("cameras")
    @classmethod
    def _camera_names(cls, value: dict[str, CameraConfig]) -> dict[str, CameraConfig]:
        for name in value:
            try:
                check_name(name)
            except ValueError as err:
                raise ValueError(f"camera name {name!r}: {err}") from None
        return value

    def camera(self, name: str) -> CameraConfig:
        """The camera's settings (defaults for a camera not listed)."""
        return self.cameras.get(name) or DEFAULT_CAMERA

    def known_cameras(self) -> list[str]:
        """Cameras named in the configuration (and not disabled), sorted."""
        names = set(self.cameras)
        if self.sources.frigate is not None:
            names.update(self.sources.frigate.cameras)
        names.update(t.camera for t in self.sources.snapshot_topics if t.camera)
        names.update(f.camera for f in self.sources.folders if f.camera)
        return sorted(name for name in names if self.camera(name).enabled)

    def camera_may_appear(self, name: str) -> bool:
        """Could pictures of `name` still arrive (a configured camera, or a source
        that takes its camera from the message: a `{camera}` topic, Frigate without a
        camera list, a folder without a camera)?"""
        if not self.camera(name).enabled:
            return False
        if name in self.known_cameras():
            return True
        sources = self.sources
        return (
            any(t.camera is None for t in sources.snapshot_topics)
            or any(f.camera is None for f in sources.folders)
            or (sources.frigate is not None and not sources.frigate.cameras)
        )

    @property
    def node_id(self) -> str:
        """Home Assistant discovery node id."""
        if self.homeassistant.node_id:
            return self.homeassistant.node_id
        return re.sub(r"[^A-Za-z0-9_-]", "_", self.mqtt.base_topic)

    def secrets(self) -> list[str]:
        """Every secret value, so logs and payloads can be checked or scrubbed."""
        values = [self.api.token, self.mqtt.password]
        if self.web is not None:
            values.append(self.web.token)
        urls = [self.api.url]
        if self.sources.frigate:
            values += [self.sources.frigate.password, self.sources.frigate.token]
            urls.append(self.sources.frigate.url)
        found = [v.get_secret_value() for v in values if v is not None and v.get_secret_value()]
        # A password may also come as http://user:password@host.
        return found + [unquote(p) for p in (urlsplit(url).password for url in urls) if p]
