"""The bridge's configuration: one YAML file, validated by pydantic.

Secrets stay out of the file in one of two ways:

* `${NAME}` (or `${NAME:-default}`) anywhere in a string value is replaced by
  the environment variable `NAME`;
* `PLATE_BRIDGE_<SECTION>__<KEY>[__<KEY>...]` environment variables override
  (or add) any key, e.g. `PLATE_BRIDGE_API__TOKEN`, `PLATE_BRIDGE_MQTT__PASSWORD`.
  Their values are parsed as YAML scalars (`8` is a number, `true` a boolean).

Every problem is reported as `file: key.path: message` (with the line when the
key is in the file); unknown keys are errors.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from urllib.parse import unquote, urlsplit

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from platereader import CLOUD_URL, EngineConfig
from platereader.exceptions import PlateReaderConfigError
from platereader.frigate_policy import DEFAULT_MIN_SCORE as DEFAULT_LPR_MIN_SCORE
from platereader.frigate_policy import DEFAULT_WAIT as DEFAULT_LPR_WAIT
from platereader.frigate_policy import MAX_WAIT as MAX_LPR_WAIT
from platereader.frigate_policy import LprOptions
from platereader.watchlist import MAX_TOLERANCE, WatchEntry, tolerance_from_config

ENV_PREFIX = "PLATE_BRIDGE_"
TOKEN_ENV = "PLATE_RECOGNIZER_TOKEN"  # noqa: S105 - the variable's name, as `read` uses
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_TOPIC_CHARS = re.compile(r"^[^#+\x00]+$")
_CAMERA_NAME = re.compile(r"^[A-Za-z0-9_\-]+$")
_REGION_CODE = re.compile(r"^[a-z]{2}(-[a-z0-9]{1,3})?$")


class ConfigError(Exception):
    """The configuration file is unusable; `problems` has one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- mqtt ---------------------------------------------------------------------------


class TlsConfig(_Section):
    enabled: bool = Field(default=True, description="Connect with TLS.")
    ca_file: Path | None = Field(default=None, description="CA bundle; system CAs when unset.")
    cert_file: Path | None = Field(default=None, description="Client certificate (mutual TLS).")
    key_file: Path | None = Field(default=None, description="Client key (mutual TLS).")
    insecure: bool = Field(default=False, description="Skip hostname verification (testing).")

    @model_validator(mode="after")
    def _pair(self) -> Self:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together")
        return self


class MqttConfig(_Section):
    host: str = "localhost"
    port: int = Field(default=1883, ge=1, le=65535)
    tls: TlsConfig | None = None
    username: str | None = None
    password: SecretStr | None = None
    client_id: str = Field(
        default_factory=lambda: f"plate-bridge-{socket.gethostname()}"[:64],
        description="Must be unique per instance; it names the persistent session.",
    )
    base_topic: str = "plate_bridge"
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

    @field_validator("base_topic")
    @classmethod
    def _base_topic(cls, value: str) -> str:
        value = value.strip("/")
        if not value or not _TOPIC_CHARS.match(value) or value.startswith("$"):
            raise ValueError("must be a topic without wildcards, e.g. 'plate_bridge'")
        return value

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


# -- api ----------------------------------------------------------------------------


def _check_regions(value: tuple[str, ...]) -> tuple[str, ...]:
    codes = tuple(code.strip().lower() for code in value)
    for code in codes:
        if not _REGION_CODE.match(code):
            raise ValueError(f"{code!r} is not a region code like 'gb', 'us-ca' or 'mx'")
    return codes


def _check_engine_config(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is not None:
        try:
            EngineConfig.parse(value)
        except PlateReaderConfigError as err:
            raise ValueError(str(err)) from err
    return value


class ApiConfig(_Section):
    url: str = Field(default=CLOUD_URL, description="Cloud API, on-premise SDK or local engine.")
    token: SecretStr | None = Field(default=None, description="Cloud API token (secret).")
    regions: tuple[str, ...] = ()
    mmc: bool | None = None
    engine_config: dict[str, Any] | None = None
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

    @field_validator("regions")
    @classmethod
    def _regions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _check_regions(value)

    @field_validator("engine_config")
    @classmethod
    def _engine(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return _check_engine_config(value)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/")

    @property
    def is_cloud(self) -> bool:
        return self.token is not None


# -- cameras --------------------------------------------------------------------------

Point = tuple[float, float]


class ZoneConfig(_Section):
    name: str | None = None
    points: Annotated[list[Point], Field(min_length=3)]


def _zone(value: Any) -> Any:
    """A zone is `{name, points}` or just its list of points."""
    if isinstance(value, list):
        return {"points": value}
    return value


class CameraConfig(_Section):
    enabled: bool = True
    regions: tuple[str, ...] | None = None
    mmc: bool | None = None
    engine_config: dict[str, Any] | None = None
    zones: list[ZoneConfig] = Field(
        default_factory=list,
        description="Keep reads whose box centre is inside one of these (all when empty).",
    )
    ignore_zones: list[ZoneConfig] = Field(
        default_factory=list, description="Discard reads whose box centre is inside one of these."
    )
    min_score: float = Field(default=0.0, ge=0, le=1, description="Discard weaker plate reads.")
    cooldown: float | None = Field(default=None, ge=0)

    @field_validator("regions")
    @classmethod
    def _regions(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        return None if value is None else _check_regions(value)

    @field_validator("engine_config")
    @classmethod
    def _engine(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return _check_engine_config(value)

    @field_validator("zones", "ignore_zones", mode="before")
    @classmethod
    def _zones(cls, value: Any) -> Any:
        return [_zone(item) for item in value] if isinstance(value, list) else value


# -- sources --------------------------------------------------------------------------


class FrigateSnapshotConfig(_Section):
    crop: bool = True
    quality: int = Field(default=95, ge=1, le=100)
    height: int | None = Field(default=None, ge=16)


class FrigateWriteBackConfig(_Section):
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


class FrigateLprConfig(_Section):
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


class FrigateConfig(_Section):
    url: str = Field(description="Frigate's HTTP address, e.g. http://frigate:5000")
    topic_prefix: str = "frigate"
    version: str | None = Field(
        default=None, description="Frigate version ('0.14', '0.15', '0.16'); asked when unset."
    )
    username: str | None = None
    password: SecretStr | None = None
    token: SecretStr | None = Field(default=None, description="Bearer token (Frigate 0.14+ auth).")
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

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/")

    @field_validator("topic_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        value = value.strip("/")
        if not value or not _TOPIC_CHARS.match(value):
            raise ValueError("must be a topic without wildcards")
        return value


class SnapshotTopicConfig(_Section):
    topic: str = Field(
        description="Topic with an optional {camera} placeholder (one whole level), "
        "e.g. 'plate_bridge/{camera}/snapshot' or 'frigate/{camera}/car/snapshot'."
    )
    camera: str | None = Field(default=None, description="Camera name when the topic has none.")
    allowed_hosts: list[str] = Field(
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


class FolderConfig(_Section):
    path: Path
    camera: str | None = Field(
        default=None, description="Camera name; when unset, the first sub-folder's name."
    )
    after: Literal["delete", "move"] = "delete"
    move_to: Path | None = None
    failed_to: Path | None = Field(
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


class SourcesConfig(_Section):
    frigate: FrigateConfig | None = None
    snapshot_topics: list[SnapshotTopicConfig] = Field(default_factory=list)
    folders: list[FolderConfig] = Field(default_factory=list)


# -- watch list, storage, pipeline ---------------------------------------------------------


class WatchEntryConfig(_Section):
    name: str
    plate: str = Field(min_length=1)
    owner: str | None = None
    tags: list[str] = Field(default_factory=list)
    tolerance: int = Field(
        default=0,
        description="Real characters that may differ (0-2; OCR look-alikes such as O/0 "
        "never count). 1 lets through any plate differing from this one in one character: "
        "a neighbour's car may open the gate. Older decimal values keep their whole part; "
        "values up to 4 are read as 2.",
    )

    @field_validator("tolerance", mode="before")
    @classmethod
    def _tolerance(cls, value: Any) -> int:
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 4:
            raise ValueError(f"must be 0 to {MAX_TOLERANCE} characters, got {value!r}")
        return tolerance_from_config(value)

    @model_validator(mode="after")
    def _entry(self) -> Self:
        self.to_entry()  # the plate's own checks (letters or digits, length)
        return self

    def to_entry(self) -> WatchEntry:
        return WatchEntry(
            name=self.name,
            plate=self.plate,
            owner=self.owner,
            tags=tuple(self.tags),
            tolerance=self.tolerance,
        )


class StorageConfig(_Section):
    path: Path = Field(default=Path("./var/plate-bridge"), description="State directory.")
    outbox_max: int = Field(
        default=10_000, ge=10, description="Results kept on disk while the broker is away."
    )
    save_snapshots: bool = Field(default=False, description="Keep annotated snapshots.")
    snapshots_keep: int = Field(default=500, ge=1, description="Snapshots kept per camera.")
    snapshots_max_age_days: float = Field(
        default=30.0, ge=0, description="Delete saved snapshots older than this (0 = never)."
    )
    snapshots_max_mb: float = Field(
        default=1024.0, ge=0, description="Total size of saved snapshots, all cameras (0 = no cap)."
    )
    save_raw: bool = Field(
        default=False, description="Also keep the picture as read, without the drawings."
    )
    history: bool = Field(default=True, description="Record every read in history.sqlite3.")
    history_max_age_days: float = Field(
        default=365.0, ge=0, description="Forget reads older than this (0 = never)."
    )


class PipelineConfig(_Section):
    queue_per_camera: int = Field(
        default=4, ge=1, description="Pending reads per camera; the oldest is dropped."
    )
    queue_max: int = Field(default=256, ge=1, description="Pending reads over all cameras.")
    cooldown: float = Field(
        default=60.0, ge=0, description="Same plate on the same camera within this = one passage."
    )
    shutdown_timeout: float = Field(default=15.0, ge=0)
    metrics_interval: float = Field(default=60.0, ge=0, description="0 = never publish metrics.")
    publish_no_plate: bool = Field(
        default=False, description="Publish an event for a lookup that found no plate."
    )


_NODE_ID = re.compile(r"^[A-Za-z0-9_-]+$")


class HomeAssistantConfig(_Section):
    enabled: bool = Field(default=True, description="Publish MQTT discovery messages.")
    prefix: str = Field(default="homeassistant", description="Home Assistant's discovery prefix.")
    node_id: str | None = Field(
        default=None,
        description="Discovery node id; default mqtt.base_topic with '/' replaced by '_'.",
    )
    hold_time: int = Field(
        default=30,
        ge=1,
        description="Seconds the 'watched vehicle present' binary sensor stays on after a read.",
    )
    plate_text: Literal["upper", "read", "watchlist", "name"] = Field(
        default="upper",
        description="Last plate sensor's state: the read in capitals, as read, the watch-list "
        "entry's plate when matched, or the entry's name when matched.",
    )
    image: bool = Field(
        default=True, description="Publish the last annotated snapshot for the image entity."
    )
    image_interval: float = Field(
        default=5.0,
        ge=0,
        description="At most one image per camera per this many seconds (the latest read wins).",
    )
    device_triggers: bool = Field(default=True, description="Publish device triggers.")

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        value = value.strip("/")
        if not value or not _TOPIC_CHARS.match(value):
            raise ValueError("must be a topic without wildcards, e.g. 'homeassistant'")
        return value

    @field_validator("node_id")
    @classmethod
    def _node(cls, value: str | None) -> str | None:
        if value is not None and not _NODE_ID.match(value):
            raise ValueError("use letters, digits, '_' and '-'")
        return value


class BridgeConfig(_Section):
    mqtt: MqttConfig = Field(default_factory=MqttConfig)
    api: ApiConfig = Field(default_factory=ApiConfig)
    cameras: dict[str, CameraConfig] = Field(default_factory=dict)
    sources: SourcesConfig = Field(default_factory=SourcesConfig)
    watchlist: list[WatchEntryConfig] = Field(default_factory=list)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    pipeline: PipelineConfig = Field(default_factory=PipelineConfig)
    homeassistant: HomeAssistantConfig = Field(default_factory=HomeAssistantConfig)

    @field_validator("cameras")
    @classmethod
    def _camera_names(cls, value: dict[str, CameraConfig]) -> dict[str, CameraConfig]:
        for name in value:
            if not _CAMERA_NAME.match(name):
                raise ValueError(f"camera name {name!r}: use letters, digits, '_' and '-'")
        return value

    def camera(self, name: str) -> CameraConfig:
        """The camera's settings (defaults for a camera not listed)."""
        return self.cameras.get(name) or _DEFAULT_CAMERA

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
        urls = [self.api.url]
        if self.sources.frigate:
            values += [self.sources.frigate.password, self.sources.frigate.token]
            urls.append(self.sources.frigate.url)
        found = [v.get_secret_value() for v in values if v is not None and v.get_secret_value()]
        # A password may also come as http://user:password@host.
        return found + [unquote(p) for p in (urlsplit(url).password for url in urls) if p]


_DEFAULT_CAMERA = CameraConfig()


# -- loading -----------------------------------------------------------------------------


def load_config(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> BridgeConfig:
    """Read, substitute, override and validate; raise `ConfigError` listing every problem."""
    env = os.environ if env is None else env
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError([f"{name}: cannot read: {err.strerror or err}"]) from err
    return parse_config(text, name, env)


def parse_config(text: str, name: str, env: Mapping[str, str]) -> BridgeConfig:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err)
        raise ConfigError([f"{name}: not valid YAML{where}: {problem}"]) from err
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([f"{name}: the top level must be a mapping of sections"])
    lines = dict(_key_lines(node, ())) if node is not None else {}
    problems: list[str] = []
    data = _substitute(data, env, (), problems, name)
    _apply_env_overrides(data, env, problems)
    api = data.get("api")
    if TOKEN_ENV in env and (api is None or (isinstance(api, dict) and not api.get("token"))):
        data.setdefault("api", {})["token"] = env[TOKEN_ENV]
    if problems:
        raise ConfigError(problems)
    problems = _file_checks(data, name, lines)
    try:
        config = BridgeConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_describe(err, name, lines) + problems) from None
    if problems:
        raise ConfigError(problems)
    return config


def _file_checks(data: dict[str, Any], name: str, lines: dict[tuple[str, ...], int]) -> list[str]:
    """Checks that need the whole file, made even when other keys are invalid."""
    problems = []

    def section(key: str) -> dict[str, Any]:
        value = data.get(key)
        return value if isinstance(value, dict) else {}

    sources = section("sources")
    if not any(sources.get(key) for key in ("frigate", "snapshot_topics", "folders")):
        line = lines.get(("sources",))
        where = f" (line {line})" if line else ""
        problems.append(
            f"{name}: sources: configure at least one of frigate, snapshot_topics, folders{where}"
        )
    api = section("api")
    if str(api.get("url", CLOUD_URL)).rstrip("/") == CLOUD_URL and not api.get("token"):
        line = lines.get(("api",))
        where = f" (line {line})" if line else ""
        problems.append(
            f"{name}: api.token: the cloud API needs a token (set PLATE_BRIDGE_API__TOKEN "
            f"or PLATE_RECOGNIZER_TOKEN, or use ${{VAR}} in the file){where}"
        )
    return problems


def _key_lines(node: yaml.Node, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], int]]:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = (*path, str(key_node.value))
            yield key, key_node.start_mark.line + 1
            yield from _key_lines(value_node, key)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            key = (*path, str(index))
            yield key, item.start_mark.line + 1
            yield from _key_lines(item, key)


def _substitute(
    value: Any, env: Mapping[str, str], path: tuple[str, ...], problems: list[str], name: str
) -> Any:
    if isinstance(value, dict):
        return {k: _substitute(v, env, (*path, str(k)), problems, name) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, env, (*path, str(i)), problems, name) for i, v in enumerate(value)]
    if isinstance(value, str) and "${" in value:

        def replace(match: re.Match[str]) -> str:
            var, default = match.group(1), match.group(2)
            if var in env:
                return env[var]
            if default is not None:
                return default
            problems.append(f"{name}: {'.'.join(path)}: environment variable {var} is not set")
            return ""

        return _ENV_REF.sub(replace, value)
    return value


def _apply_env_overrides(data: dict[str, Any], env: Mapping[str, str], problems: list[str]) -> None:
    for var in sorted(env):
        if not var.startswith(ENV_PREFIX) or "__" not in var:
            continue
        keys = [part.lower() for part in var[len(ENV_PREFIX) :].split("__")]
        if any(not key for key in keys):
            problems.append(f"{var}: empty key in the variable name")
            continue
        try:
            value = yaml.safe_load(env[var]) if env[var] else ""
        except yaml.YAMLError:
            value = env[var]
        if keys[-1] in ("token", "password") and value is not None:
            value = env[var]  # secrets are text as given, never numbers
        target = data
        for key in keys[:-1]:
            child = target.get(key)
            if child is None:
                child = target[key] = {}
            if not isinstance(child, dict):
                problems.append(f"{var}: {'.'.join(keys)}: {key} is not a mapping in the file")
                break
            target = child
        else:
            target[keys[-1]] = value


def _describe(err: ValidationError, name: str, lines: dict[tuple[str, ...], int]) -> list[str]:
    problems = []
    for problem in err.errors():
        loc = tuple(str(part) for part in problem["loc"])
        key = ".".join(loc) or "(top level)"
        line = None
        for end in range(len(loc), 0, -1):  # the nearest key that is in the file
            line = lines.get(loc[:end])
            if line is not None:
                break
        where = f" (line {line})" if line is not None else ""
        if problem["type"] == "extra_forbidden":
            message = "unknown key"
        elif problem["type"] == "missing":
            message = "required key is missing"
        else:
            message = problem["msg"]
            message = message.removeprefix("Value error, ")
        problems.append(f"{name}: {key}: {message}{where}")
    return problems
