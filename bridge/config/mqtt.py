"""`mqtt:` the broker connection."""

from __future__ import annotations

import socket
from typing import Self

from pydantic import Field, field_validator, model_validator

from .types import EnvPath, EnvPort, EnvSecret, EnvStr, MqttTopic, Section


class TlsConfig(Section):
    enabled: bool = Field(default=True, description="Connect with TLS.")
    ca_file: EnvPath | None = Field(default=None, description="CA bundle; system CAs when unset.")
    cert_file: EnvPath | None = Field(default=None, description="Client certificate (mutual TLS).")
    key_file: EnvPath | None = Field(default=None, description="Client key (mutual TLS).")
    insecure: bool = Field(default=False, description="Skip hostname verification (testing).")

    @model_validator(mode="after")
    def _pair(self) -> Self:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together")
        return self


class MqttConfig(Section):
    host: EnvStr = "localhost"
    port: EnvPort = 1883
    tls: TlsConfig | None = None
    username: EnvStr | None = None
    password: EnvSecret | None = None
    client_id: str = Field(
        default_factory=lambda: f"plate-bridge-{socket.gethostname()}"[:64],
        description="Must be unique per instance; it names the persistent session.",
    )
    base_topic: MqttTopic = "plate_bridge"
    shared_group: str | None = Field(
        default=None,
        description="MQTT 5 shared subscription group: instances with the same group "
        "share the input messages ($share/<group>/<topic>).",
    )
    keepalive: int = Field(default=30, ge=5, le=3600)
    session_expiry: int = Field(
        default=3600,
        ge=0,
        description="Seconds the broker keeps our subscriptions and queued input "
        "messages while we are away (0 = clean session).",
    )
    reconnect_min_delay: float = Field(default=0.5, gt=0)
    reconnect_max_delay: float = Field(default=30.0, gt=0)

    @field_validator("shared_group")
    @classmethod
    def _group(cls, value: str | None) -> str | None:
        if value is not None and (not value or any(c in value for c in "/#+")):
            raise ValueError("must be a name without '/', '#' or '+'")
        return value

    @model_validator(mode="after")
    def _delays(self) -> Self:
        if self.reconnect_max_delay < self.reconnect_min_delay:
            raise ValueError("reconnect_max_delay must be at least reconnect_min_delay")
        return self
