"""Snapshot topics: a picture published on MQTT is read.

Accepted payloads:

* raw JPEG or PNG bytes (Frigate's `frigate/<camera>/<label>/snapshot`, or any
  camera publishing to `<base>/<camera>/snapshot`);
* JSON `{"image": "<base64>"}` (a `data:` URI works too), or
  `{"url": "http://host/pic.jpg"}` where the host is in the topic's
  `allowed_hosts`; optional keys: `"camera"` (overrides the topic's camera),
  `"id"` (echoed as `source_event_id`), `"time"` (ISO 8601).

Anything else is an error event on `<base>/errors` and the service goes on.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from bridge.config import SnapshotTopicConfig
from bridge.events import ReadContext, SnapshotRef
from bridge.jobs import Job, Picture, PictureBytes, UrlRequest
from bridge.metrics import Metrics
from bridge.mqtt import InMessage, MqttLink
from bridge.pipeline import Pipeline

_LOGGER = logging.getLogger(__name__)

_CAMERA = re.compile(r"^[A-Za-z0-9_\-]+$")
_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")


class PayloadError(ValueError):
    pass


class SnapshotTopicSource:
    def __init__(
        self,
        configs: list[SnapshotTopicConfig],
        pipeline: Pipeline,
        link: MqttLink,
        metrics: Metrics,
    ) -> None:
        self._configs = configs
        self._pipeline = pipeline
        self._link = link
        self._metrics = metrics

    def start(self) -> None:
        for config in self._configs:
            levels = config.topic.split("/")
            index = levels.index("{camera}") if "{camera}" in levels else None
            pattern = "/".join("+" if level == "{camera}" else level for level in levels)
            self._link.subscribe(pattern, self._handler(config, index), shared=True)

    def _handler(
        self, config: SnapshotTopicConfig, index: int | None
    ) -> Callable[[InMessage], None]:
        def handle(message: InMessage) -> None:
            camera = config.camera or message.topic.split("/")[index or 0]
            try:
                self._submit(config, _camera(camera), message)
            except PayloadError as err:
                self._metrics.inc("payload_errors")
                self._pipeline.error(
                    "payload", f"{message.topic}: {err}", camera=camera, source="mqtt"
                )

        return handle

    def _submit(self, config: SnapshotTopicConfig, camera: str, message: InMessage) -> None:
        payload = message.payload
        if len(payload) > config.max_bytes:
            raise PayloadError(
                f"payload of {len(payload)} bytes is over max_bytes {config.max_bytes}"
            )
        source_id: str | None = None
        moment = datetime.now(UTC)
        picture: Picture
        if payload.startswith(_IMAGE_MAGIC):
            picture = PictureBytes(payload)
        elif payload.lstrip()[:1] == b"{":
            data = _json(payload)
            camera = _camera(data.get("camera", camera))
            source_id = _text(data.get("id"), "id")
            if data.get("time") is not None:
                moment = _time(data["time"])
            picture = _json_picture(config, data)
        else:
            raise PayloadError("neither a JPEG/PNG image nor a JSON object")
        context = ReadContext(
            camera=camera,
            source="mqtt",
            source_event_id=source_id or uuid.uuid4().hex[:12],
            time=moment,
            snapshot=SnapshotRef(kind="mqtt", topic=message.topic),
        )
        self._pipeline.submit(
            Job(
                camera=camera,
                key=None,
                context=context,
                picture=picture,
                received=message.received,
            )
        )


def _json_picture(config: SnapshotTopicConfig, data: dict[str, Any]) -> Picture:
    """`{"image": base64}` or `{"url": ...}` (a host in the topic's `allowed_hosts`)."""
    if isinstance(data.get("image"), str):
        text = data["image"].strip()
        if text.startswith("data:"):
            text = text.partition(",")[2]
        try:
            return PictureBytes(base64.b64decode("".join(text.split()), validate=True))
        except (binascii.Error, ValueError) as err:
            raise PayloadError(f"'image' is not base64: {err}") from None
    if isinstance(data.get("url"), str):
        url = data["url"]
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PayloadError("'url' must be an http(s) URL")
        if parts.hostname not in config.allowed_hosts:
            raise PayloadError(
                f"'url' host {parts.hostname!r} is not in allowed_hosts of {config.topic!r}"
            )
        return UrlRequest(url, config.max_bytes)
    raise PayloadError("JSON payload needs 'image' (base64) or 'url'")


def _json(payload: bytes) -> dict[str, Any]:
    try:
        data = json.loads(payload)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise PayloadError(f"invalid JSON: {err}") from None
    if not isinstance(data, dict):
        raise PayloadError("JSON payload must be an object")
    return data


def _camera(value: Any) -> str:
    if not isinstance(value, str) or not _CAMERA.match(value):
        raise PayloadError(f"'camera' must be a name of letters, digits, '_' or '-', not {value!r}")
    return value


def _text(value: Any, key: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str | int):
        return str(value)[:200]
    raise PayloadError(f"'{key}' must be a string")


def _time(value: Any) -> datetime:
    try:
        if isinstance(value, int | float):
            return datetime.fromtimestamp(value, UTC)
        if isinstance(value, str):
            moment = datetime.fromisoformat(value)
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        pass
    raise PayloadError(f"'time' must be ISO 8601 or a Unix timestamp, not {value!r}")
