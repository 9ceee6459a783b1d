"""A small stand-in for Frigate's HTTP API (snapshots, latest frame, version)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Self

from aiohttp import web

from tests.fake_api.images import jpeg_bytes

PAYLOADS = Path(__file__).parent / "frigate_payloads"


class FakeFrigate:
    def __init__(self, version: str = "0.15.1-abc") -> None:
        self.version = version
        self.requests: list[tuple[str, dict[str, str]]] = []  # (path, query)
        self.missing_events: set[str] = set()
        # Write-backs: (event id, "sub_label" | "recognized_license_plate", JSON body)
        self.write_backs: list[tuple[str, str, Any]] = []
        self.write_back_status = 200
        # Cameras whose `lpr.enabled` /api/config reports (0.16+; older versions have no `lpr`).
        self.lpr_cameras: set[str] = set()
        self.config_requests = 0
        self.image = jpeg_bytes()
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/api/version", self._version)
        app.router.add_get("/api/config", self._config)
        app.router.add_get("/api/events/{id}/snapshot.jpg", self._snapshot)
        app.router.add_get("/api/{camera}/latest.jpg", self._latest)
        app.router.add_post("/api/events/{id}/sub_label", self._write_back)
        app.router.add_post("/api/events/{id}/recognized_license_plate", self._write_back)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def snapshot_requests(self) -> list[str]:
        return [path for path, _ in self.requests if path.endswith("snapshot.jpg")]

    async def _version(self, request: web.Request) -> web.Response:
        return web.Response(text=self.version)

    async def _config(self, request: web.Request) -> web.Response:
        self.config_requests += 1
        has_lpr = not self.version.startswith(("0.14", "0.15"))
        cameras = {
            name: {"name": name, **({"lpr": {"enabled": True}} if has_lpr else {})}
            for name in sorted(self.lpr_cameras)
        }
        return web.json_response({"cameras": cameras, "mqtt": {"topic_prefix": "frigate"}})

    async def _snapshot(self, request: web.Request) -> web.Response:
        self.requests.append((request.path, dict(request.query)))
        if request.match_info["id"] in self.missing_events:
            return web.json_response({"message": "Event not found"}, status=404)
        return web.Response(body=self.image, content_type="image/jpeg")

    async def _write_back(self, request: web.Request) -> web.Response:
        what = request.path.rsplit("/", 1)[-1]
        body = await request.json()
        self.write_backs.append((request.match_info["id"], what, body))
        if self.write_back_status != 200:
            return web.json_response(
                {"success": False, "message": "nope"}, status=self.write_back_status
            )
        if what == "recognized_license_plate" and self.version.startswith(("0.14", "0.15")):
            return web.json_response({"detail": "Not Found"}, status=404)
        return web.json_response({"success": True, "message": "ok"})

    def bodies(self, what: str) -> list[Any]:
        return [body for _, kind, body in self.write_backs if kind == what]

    async def _latest(self, request: web.Request) -> web.Response:
        self.requests.append((request.path, dict(request.query)))
        return web.Response(body=self.image, content_type="image/jpeg")


def frigate_event(
    kind: str,
    event_id: str,
    *,
    camera: str = "driveway",
    label: str = "car",
    snapshot_time: float | None = 100.0,
    box: tuple[int, int, int, int] = (100, 100, 400, 300),
    stationary: bool = False,
    top_score: float = 0.8,
    sub_label: Any = None,
    has_snapshot: bool = True,
    plate: str | bool | None = False,
    plate_score: float | None = None,
) -> bytes:
    """A Frigate 0.15 `frigate/events` message built from the recorded fixture.

    With `plate` (a string, or None for "none yet") it is a 0.16 message:
    `recognized_license_plate` and its score are set.
    """
    base = json.loads((PAYLOADS / "v0.15_car_new.json").read_text())
    after = copy.deepcopy(base["after"])
    after.update(
        id=event_id,
        camera=camera,
        label=label,
        top_score=top_score,
        score=top_score,
        false_positive=False,
        stationary=stationary,
        has_snapshot=has_snapshot,
        sub_label=sub_label,
        box=list(box),
        end_time=snapshot_time if kind == "end" else None,
        current_zones=[],
        entered_zones=[],
    )
    if snapshot_time is None:
        after["snapshot"] = None
    else:
        after["snapshot"] = {
            **(after.get("snapshot") or {}),
            "frame_time": snapshot_time,
            "box": list(box),
            "score": top_score,
        }
    if plate is not False:
        after["recognized_license_plate"] = plate
        after["recognized_license_plate_score"] = plate_score
    before = copy.deepcopy(after)
    return json.dumps({"type": kind, "before": before, "after": after}).encode()


def lpr_update(
    event_id: str,
    plate: str,
    score: float,
    *,
    camera: str = "driveway",
    name: str | None = None,
) -> bytes:
    """A Frigate 0.16+ `frigate/tracked_object_update` message of type `lpr`."""
    return json.dumps(
        {
            "type": "lpr",
            "id": event_id,
            "name": name,
            "plate": plate,
            "score": score,
            "camera": camera,
            "timestamp": 1752332042.5,
            "plate_box": [917, 487, 1029, 529],
        }
    ).encode()
