"""The demo's live view: an MQTT subscriber printing one line per plate event.

It listens exactly as any other subscriber would (Home Assistant, Node-RED): on
`<base>/plates` and `<base>/errors`. Each plate event is also appended to a JSON Lines
history file, so the demo leaves a record of what it saw.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

HEADER = (
    f"{'time':<8}  {'camera':<10}  {'plate':<10}  {'score':>5}  {'vehicle':<18}  "
    f"{'watch list':<34}  annotated file"
)


def _short_path(path: str | None) -> str:
    if not path:
        return "-"
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return path
    return path if relative.startswith("..") else relative


def _local_time(stamp: Any) -> str:
    if not isinstance(stamp, str):
        return "--:--:--"
    try:
        return (
            datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone().strftime("%H:%M:%S")
        )
    except ValueError:
        return stamp[:8]


def format_event(event: dict[str, Any]) -> str:
    """One line of the live view for a plate event (see docs/bridge.md, "Plate event")."""
    plate = event.get("plate")
    score = event.get("score")
    match = event.get("watchlist")
    if isinstance(match, dict):
        how = _why(match)
        owner = f", {match['owner']}" if match.get("owner") else ""
        listed = f"MATCH {match.get('name')}{owner} ({how})"
    else:
        listed = "-"
    snapshot = event.get("snapshot") or {}
    file = snapshot.get("saved") or snapshot.get("path") or snapshot.get("url")
    return (
        f"{_local_time(event.get('read_time') or event.get('time')):<8}  "
        f"{event.get('camera')!s:<10}  "
        f"{(plate.upper() if isinstance(plate, str) else 'no plate'):<10}  "
        f"{(f'{score:.2f}' if isinstance(score, int | float) else '-'):>5}  "
        f"{_vehicle(event):<18}  {listed:<34}  {_short_path(file)}"
    )


def _why(match: dict[str, Any]) -> str:
    """Why the watch list matched, in words (the event's `watchlist.kind`)."""
    kind = match.get("kind") or ("exact" if match.get("exact") else None)
    if kind == "lookalike":
        return f"look-alike x{match.get('lookalikes')}"
    if kind == "tolerance":
        return f"{match.get('differences')} character(s) differ"
    return str(kind or "match")


def _vehicle(event: dict[str, Any]) -> str:
    """Vehicle type and colour, when the reader found them ("-" otherwise)."""
    vehicle = event.get("vehicle")
    kind = vehicle.get("type") if isinstance(vehicle, dict) else None
    colour = event.get("color")
    parts = [str(p) for p in (colour, kind) if p and p not in ("unknown", "Unknown")]
    return " ".join(parts) or "-"


def format_error(error: dict[str, Any]) -> str:
    return (
        f"{_local_time(error.get('time')):<8}  {error.get('camera') or '-'!s:<10}  "
        f"error ({error.get('kind')}): {error.get('message')}"
    )


@dataclass
class Seen:
    """What the live view has seen, for the summary and for `--once`."""

    events: int = 0
    plates: int = 0
    matches: int = 0
    errors: int = 0
    files: set[str] = field(default_factory=set)  # source_event_id of events and errors
    saved: list[str] = field(default_factory=list)


class LiveView:
    """Subscribes, prints, records. `start()`/`stop()` on the event loop."""

    def __init__(
        self,
        host: str,
        port: int,
        base_topic: str,
        history: Path,
        out: TextIO,
        on_update: Callable[[], None] | None = None,
    ) -> None:
        self.base = base_topic
        self.history = history
        self.out = out
        self.on_update = on_update
        self.seen = Seen()
        self._host, self._port = host, port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._subscribed = asyncio.Event()
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"plate-bridge-demo-view-{os.getpid()}",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message

    async def start(self, within: float = 10.0) -> None:
        self._loop = asyncio.get_running_loop()
        self._client.connect_async(self._host, self._port, keepalive=30)
        self._client.loop_start()
        await asyncio.wait_for(self._subscribed.wait(), within)

    async def stop(self) -> None:
        self._client.disconnect()
        await asyncio.to_thread(self._client.loop_stop)

    # -- paho's thread -------------------------------------------------------------------

    def _on_connect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: ReasonCode, props: Any
    ) -> None:
        if reason.is_failure:
            return
        options = SubscribeOptions(qos=1, retainHandling=SubscribeOptions.RETAIN_DO_NOT_SEND)
        client.subscribe([(f"{self.base}/plates", options), (f"{self.base}/errors", options)])

    def _on_subscribe(
        self, client: paho.Client, userdata: Any, mid: int, reasons: Any, props: Any
    ) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._subscribed.set)

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._handle, message.topic, message.payload)

    # -- the loop ------------------------------------------------------------------------

    def _handle(self, topic: str, payload: bytes) -> None:
        try:
            data = json.loads(payload)
        except ValueError:
            return
        if not isinstance(data, dict):
            return
        seen = self.seen
        if topic.endswith("/errors"):
            seen.errors += 1
            if data.get("source_event_id"):
                seen.files.add(str(data["source_event_id"]))
            self._print(format_error(data))
        else:
            seen.events += 1
            if data.get("plate"):
                seen.plates += 1
            if data.get("watchlist"):
                seen.matches += 1
            if data.get("source_event_id"):
                seen.files.add(str(data["source_event_id"]))
            saved = (data.get("snapshot") or {}).get("saved")
            if saved:
                seen.saved.append(str(saved))
            with self.history.open("a", encoding="utf-8") as history:
                history.write(json.dumps(data, separators=(",", ":")) + "\n")
            self._print(format_event(data))
        if self.on_update is not None:
            self.on_update()

    def _print(self, line: str) -> None:
        print(line, file=self.out, flush=True)
