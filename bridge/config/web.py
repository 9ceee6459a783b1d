"""`web:` the bridge's own web page (live reads, history, watch list, health)."""

from __future__ import annotations

import ipaddress
from typing import Self

from pydantic import Field, SecretStr, field_validator, model_validator

from .types import EnvPort, EnvSecret, EnvStr, Section

# The Home Assistant supervisor: the only peer that may skip the token with `ingress`.
INGRESS_PEER = "172.30.32.2"
MIN_TOKEN_LENGTH = 16


def is_loopback(host: str) -> bool:
    """Only this machine can reach an address bound to `host`."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve to anything


class WebConfig(Section):
    host: EnvStr = Field(
        default="127.0.0.1",
        min_length=1,
        description="Address to listen on; another than loopback needs a token.",
    )
    port: EnvPort = Field(default=8380, description="TCP port.")
    token: EnvSecret | None = Field(
        default=None,
        description="Access token (secret): every request must carry it. Required when "
        "the page listens on another address than loopback.",
    )
    ingress: bool = Field(
        default=False,
        description="Home Assistant add-on: requests from the supervisor (ingress) are "
        "trusted without the token.",
    )

    @field_validator("token")
    @classmethod
    def _token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if len(value.get_secret_value()) < MIN_TOKEN_LENGTH:
            raise ValueError(
                f"use at least {MIN_TOKEN_LENGTH} random characters, e.g. the output of "
                "python3 -c 'import secrets; print(secrets.token_urlsafe(24))'"
            )
        return value

    @model_validator(mode="after")
    def _exposed(self) -> Self:
        if not is_loopback(self.host) and self.token is None and not self.ingress:
            raise ValueError(
                f"host {self.host!r} lets other machines open the page: set web.token "
                "(e.g. PLATE_BRIDGE_WEB__TOKEN or token: ${WEB_TOKEN}) or listen on "
                "host: 127.0.0.1"
            )
        return self

    @property
    def url(self) -> str:
        """The page's address as a person on this machine would type it."""
        host = self.host
        if host in ("0.0.0.0", "::", ""):  # noqa: S104 - describing, not binding
            host = "127.0.0.1"
        elif ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"http://{host}:{self.port}/"
