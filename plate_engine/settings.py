"""Settings of the engine's HTTP server and its webhooks file."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

MIB = 1024 * 1024

# Images: the declared width x height an upload may have. 50 MP takes a 48 MP phone
# photo and an 8K frame; a read holds ~9 bytes per decoded pixel, so the same number
# also bounds the pixels being read at once (see EngineSettings.max_pixels).
DEFAULT_MAX_PIXELS = 50_000_000
MAX_PIXELS_CEILING = 100_000_000


def default_workers() -> int:
    # Two reads per core: the recogniser lets only one model run per core at a time, and
    # a second read per core overlaps its decoding, cropping and post-processing with
    # the other's model run (about 1.4-2x the throughput of one per core in
    # bench/engine_http_speed.py on 2 cores). Capped at 4: more only holds more images.
    return max(1, min(4, 2 * (os.cpu_count() or 1)))


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """How the server listens, how much it accepts and how it limits its work."""

    host: str = "127.0.0.1"
    port: int = 8080  # 0 picks a free port (tests, benchmarks)
    workers: int = field(default_factory=default_workers)  # reads running at once
    queue: int = 8  # reads waiting for a worker; one more answers 429
    max_upload_bytes: int = 10 * MIB  # whole request body, and an upload_url download
    threads: int = 1  # onnxruntime intra-op threads per read
    total_calls: int | None = None  # quota reported by /info/; None: unlimited
    fetch_timeout: float = 10.0  # seconds for a whole upload_url download
    allow_upload_url: bool = True
    # Networks (CIDR or address) and host names upload_url may reach besides public
    # addresses, e.g. ("192.168.1.0/24", "camera.lan"). See plate_engine.fetch.
    upload_url_allow: tuple[str, ...] = ()
    # Largest image (declared width x height), and the decoded pixels being read at
    # once: a read waits until its pixels fit. Up to MAX_PIXELS_CEILING.
    max_pixels: int = DEFAULT_MAX_PIXELS
    # Request bodies and upload_url downloads held at once, in bytes; None: 4 x
    # max_upload_bytes. Over it, a request is answered 429 (retry later).
    max_inflight_bytes: int | None = None
    body_timeout: float = 30.0  # seconds for a request body to arrive; then 408

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError("workers must be at least 1")
        if self.queue < 0:
            raise ValueError("queue must be 0 or more")
        if self.max_upload_bytes < 1024:
            raise ValueError("max_upload_bytes must be at least 1 KiB")
        if self.threads < 1:
            raise ValueError("threads must be at least 1")
        if self.total_calls is not None and self.total_calls < 0:
            raise ValueError("total_calls must be 0 or more")
        if self.fetch_timeout <= 0:
            raise ValueError("fetch_timeout must be positive")
        if self.body_timeout <= 0:
            raise ValueError("body_timeout must be positive")
        if not 1 <= self.max_pixels <= MAX_PIXELS_CEILING:
            raise ValueError(f"max_pixels must be between 1 and {MAX_PIXELS_CEILING}")
        if self.inflight_bytes < self.max_upload_bytes:
            raise ValueError("max_inflight_bytes must be at least max_upload_bytes")
        from .fetch import UrlPolicy  # here: fetch imports this module

        UrlPolicy.parse(self.upload_url_allow)  # ValueError naming a bad entry

    @property
    def inflight_bytes(self) -> int:
        """The budget of body and download bytes held at once."""
        return self.max_inflight_bytes or 4 * self.max_upload_bytes


class SettingsError(ValueError):
    """A settings file is missing, unreadable or invalid; the message names the key."""


@dataclass(frozen=True, slots=True)
class WebhookTarget:
    id: int
    url: str
    image: bool = False  # multipart with the image, else JSON only
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def safe_url(self) -> str:
        """The URL without credentials or query values: safe for logs, /info/ and payloads."""
        return redact_url(self.url)


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    targets: tuple[WebhookTarget, ...] = ()
    retries: int = 3  # after the first attempt
    backoff: float = 1.0  # seconds before the first retry, doubled for each next one
    timeout: float = 10.0  # seconds per POST
    queue: int = 100  # deliveries waiting per target; more are dropped (and logged)
    drain_timeout: float = 3.0  # seconds given to pending deliveries at shutdown
    queue_image_bytes: int = 64 * MIB  # image bytes waiting, all targets; more are dropped


def redact_url(url: str) -> str:
    """Drop user:password and hide query values (tokens often travel there)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    query = "&".join(
        f"{pair.split('=', 1)[0]}=***" if "=" in pair else pair
        for pair in parts.query.split("&")
        if pair
    )
    return f"{parts.scheme}://{host}{parts.path}" + (f"?{query}" if query else "")


# --- the webhooks file ----------------------------------------------------------------


class _TargetModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str
    image: bool = False
    headers: dict[str, str] = Field(default_factory=dict)
    id: int | None = Field(default=None, ge=1)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"must be an http(s) URL, got {redact_url(value)!r}")
        return value


class _FileModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    webhooks: list[_TargetModel] = Field(default_factory=list)
    retries: int = Field(default=3, ge=0, le=20)
    backoff: float = Field(default=1.0, ge=0.0, le=600.0)
    timeout: float = Field(default=10.0, gt=0.0, le=600.0)
    queue: int = Field(default=100, ge=1, le=100_000)
    drain_timeout: float = Field(default=3.0, ge=0.0, le=600.0)
    queue_image_mb: float = Field(default=64.0, gt=0.0, le=4096.0)


def parse_webhooks(data: Any, source: str = "webhooks") -> WebhookSettings:
    """Build webhook settings from parsed JSON/YAML: a mapping, or a bare list of targets."""
    if data is None:
        data = {}
    if isinstance(data, list):
        data = {"webhooks": data}
    if not isinstance(data, dict):
        raise SettingsError(f"{source}: expected a mapping or a list of targets")
    try:
        model = _FileModel.model_validate(data)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in err.errors()
        )
        raise SettingsError(f"{source}: {problems}") from None
    targets: list[WebhookTarget] = []
    used: set[int] = {t.id for t in model.webhooks if t.id is not None}
    next_id = 1
    for target in model.webhooks:
        target_id = target.id
        if target_id is None:  # number the rest 1, 2, ... skipping explicit ids
            while next_id in used:
                next_id += 1
            target_id = next_id
            used.add(target_id)
        targets.append(
            WebhookTarget(target_id, target.url, target.image, tuple(target.headers.items()))
        )
    if len({t.id for t in targets}) != len(targets):
        raise SettingsError(f"{source}: two targets share an id")
    return WebhookSettings(
        targets=tuple(targets),
        retries=model.retries,
        backoff=model.backoff,
        timeout=model.timeout,
        queue=model.queue,
        drain_timeout=model.drain_timeout,
        queue_image_bytes=int(model.queue_image_mb * MIB),
    )


def load_webhooks(path: Path) -> WebhookSettings:
    """Read a webhooks file: JSON when it ends in .json, YAML otherwise."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise SettingsError(f"{path}: cannot read: {err.strerror or err}") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as err:
        raise SettingsError(f"{path}: not valid {path.suffix[1:] or 'YAML'}: {err}") from None
    return parse_webhooks(data, str(path))
