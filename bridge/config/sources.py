"""`sources:` where pictures come from: Frigate, MQTT snapshot topics, folders."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator

from platereader.frigate_policy import DEFAULT_MIN_SCORE as DEFAULT_LPR_MIN_SCORE
from platereader.frigate_policy import DEFAULT_WAIT as DEFAULT_LPR_WAIT
from platereader.frigate_policy import MAX_WAIT as MAX_LPR_WAIT
from platereader.frigate_policy import LprOptions

from .types import EnvPath, EnvSecret, EnvStr, HttpUrl, MqttTopic, Section


class FrigateSnapshotConfig(Section):
    crop: bool = True
    quality: int = Field(default=95, ge=1, le=100)
    height: int | None = Field(default=None, ge=16)


class FrigateWriteBackConfig(Section):
    sub_label: Literal["auto", "plate", "name", "off"] = Field(
        default="auto",
        description="What to write as the event's sub label: 'auto' = the watch-list "
        "entry's name when matched, else the plate; 'plate' = always the plate; 'name' = "
        "only watched plates, as their name; 'off' = never.",
    )
    recognized_license_plate: bool = Field(
        default=True,
        description="Also set the event's recognized licence plate (Frigate 0.16+ only).",
    )
    min_score: float = Field(
        default=0.0, ge=0, le=1, description="Write back only reads this good."
    )


class FrigateLprConfig(Section):
    """Frigate's own plate reads (0.16+ LPR), see docs/bridge.md "Frigate's own plate reads"."""

    mode: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="'auto' = publish Frigate's confident reads without a lookup, and hold a "
        "lookup for one only on cameras Frigate reads plates on (its config says so, or it sent "
        "a plate); 'on' = hold it on every camera; 'off' = ignore Frigate's reads.",
    )
    min_score: float = Field(
        default=DEFAULT_LPR_MIN_SCORE,
        ge=0,
        le=1,
        description="Frigate reads scoring this are published as they are; weaker ones are "
        "looked up after the wait.",
    )
    wait: float = Field(
        default=DEFAULT_LPR_WAIT,
        ge=0,
        le=MAX_LPR_WAIT,
        description="Seconds a lookup waits for Frigate's read of a car (0 = never wait).",
    )
    confirm_watched: bool = Field(
        default=False,
        description="A Frigate read of a watched plate counts only once a lookup agrees.",
    )

    def options(self) -> LprOptions:
        return LprOptions(self.mode, self.min_score, self.wait, self.confirm_watched)


class FrigateConfig(Section):
    url: HttpUrl = Field(description="Frigate's HTTP address, e.g. http://frigate:5000")
    topic_prefix: MqttTopic = "frigate"
    version: str | None = Field(
        default=None, description="Frigate version ('0.14', '0.15', '0.16'); asked when unset."
    )
    username: EnvStr | None = None
    password: EnvSecret | None = None
    token: EnvSecret | None = Field(default=None, description="Bearer token (Frigate 0.14+ auth).")
    verify_tls: bool = True
    cameras: list[str] = Field(default_factory=list, description="All cameras when empty.")
    labels: list[str] = Field(default_factory=lambda: ["car", "motorcycle", "bus", "truck"])
    zones: list[str] = Field(default_factory=list, description="Any zone when empty.")
    min_score: float = Field(default=0.0, ge=0, le=1)
    min_area: int = Field(default=0, ge=0)
    max_attempts: int = Field(default=3, ge=1, le=50, description="Lookups per Frigate event.")
    stop_score: float = Field(
        default=0.9, ge=0, le=1, description="Stop reading an event once a plate scores this."
    )
    snapshot: FrigateSnapshotConfig = Field(default_factory=FrigateSnapshotConfig)
    write_back: FrigateWriteBackConfig = Field(default_factory=FrigateWriteBackConfig)
    lpr: FrigateLprConfig = Field(default_factory=FrigateLprConfig)


class SnapshotTopicConfig(Section):
    topic: str = Field(
        description="Topic with an optional {camera} placeholder (one whole level), "
        "e.g. 'plate_bridge/{camera}/snapshot' or 'frigate/{camera}/car/snapshot'."
    )
    camera: str | None = Field(default=None, description="Camera name when the topic has none.")
    allowed_hosts: list[EnvStr] = Field(
        default_factory=list, description="Hosts JSON payloads may point at with 'url'."
    )
    max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)

    @model_validator(mode="after")
    def _camera(self) -> Self:
        levels = self.topic.split("/")
        if not self.topic or any(level in ("#", "+") for level in levels):
            raise ValueError("topic: use {camera} rather than MQTT wildcards")
        placeholders = sum(level == "{camera}" for level in levels)
        if "{camera}" in self.topic and placeholders != 1:
            raise ValueError("topic: {camera} must be a whole topic level, once")
        if placeholders == 0 and self.camera is None:
            raise ValueError("camera: needed when the topic has no {camera} level")
        if placeholders and self.camera is not None:
            raise ValueError("camera: give either a {camera} level or a fixed camera, not both")
        return self


class FolderConfig(Section):
    path: EnvPath
    camera: str | None = Field(
        default=None, description="Camera name; when unset, the first sub-folder's name."
    )
    after: Literal["delete", "move"] = "delete"
    move_to: EnvPath | None = None
    failed_to: EnvPath | None = Field(
        default=None, description="Unreadable images go here (default <path>/.failed)."
    )
    patterns: list[str] = Field(default_factory=lambda: ["*.jpg", "*.jpeg", "*.png"])
    recursive: bool | None = Field(default=None, description="Default: when camera is unset.")
    poll_interval: float = Field(default=1.0, gt=0)
    settle: float = Field(
        default=1.0, ge=0, description="A file must be unchanged this long (upload finished)."
    )

    @model_validator(mode="after")
    def _move(self) -> Self:
        if self.after == "move" and self.move_to is None:
            raise ValueError("move_to: needed when after is 'move'")
        return self


class SourcesConfig(Section):
    frigate: FrigateConfig | None = None
    snapshot_topics: list[SnapshotTopicConfig] = Field(default_factory=list)
    folders: list[FolderConfig] = Field(default_factory=list)
