"""The Home Assistant add-on's glue: add-on options -> a bridge configuration, and its launcher.

The Supervisor writes the options the user set in the UI to `/data/options.json` and
offers the MQTT broker's credentials (the Mosquitto add-on's) through its services API
(`services: mqtt:need` in addon/config.yaml). `python -m bridge.addon` turns both into
`/data/config.yaml`, validates it with `bridge.config`, starts the local engine when the
options ask for it, and runs the bridge until the Supervisor stops the add-on.

`options_to_config(options, mqtt_service)` is the pure mapping (tested in
tests/test_addon.py, which also checks options against the add-on schema the way the
Supervisor does: tests/addon_schema.py).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from .config import BridgeConfig, ConfigError, parse_config

OPTIONS_FILE = Path("/data/options.json")
CONFIG_FILE = Path("/data/config.yaml")
STORAGE = "/data"
INGRESS_PORT = 8099  # addon/config.yaml `ingress_port`
SUPERVISOR_MQTT = "http://supervisor/services/mqtt"
LOCAL_ENGINE_PORT = 8080
API_MODES = ("local", "cloud", "server")


class AddonError(Exception):
    """The add-on's options cannot make a configuration; `problems` says why, per option."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


# -- options -> configuration --------------------------------------------------------------


def _words(value: Any) -> list[str]:
    """A list option, or a comma-separated text option, as a list of words."""
    if value is None:
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    return [str(item).strip() for item in items if str(item).strip()]


def _api(options: Mapping[str, Any], problems: list[str]) -> dict[str, Any]:
    mode = options.get("api", "local")
    url = (options.get("api_url") or "").strip()
    token = (options.get("api_token") or "").strip()
    api: dict[str, Any] = {}
    if mode == "local":
        api["url"] = f"http://127.0.0.1:{LOCAL_ENGINE_PORT}"
    elif mode == "cloud":
        if not token:
            problems.append("api_token: needed when api is 'cloud' (your Plate Recognizer token)")
        api["token"] = token
        if url:
            api["url"] = url
    elif mode == "server":
        if not url:
            problems.append("api_url: needed when api is 'server' (e.g. http://192.168.1.20:8080)")
        api["url"] = url
        if token:
            api["token"] = token
    else:
        problems.append(f"api: must be one of {', '.join(API_MODES)}, not {mode!r}")
    regions = _words(options.get("regions"))
    if regions:
        api["regions"] = regions
    if options.get("mmc"):
        api["mmc"] = True
    if options.get("lookups_per_second"):
        api["lookups_per_second"] = options["lookups_per_second"]
    return api


def _mqtt(options: Mapping[str, Any], service: Mapping[str, Any] | None) -> dict[str, Any]:
    mqtt: dict[str, Any] = {
        "client_id": "plate-bridge-addon",
        "base_topic": options.get("base_topic") or "plate_bridge",
    }
    if service:
        mqtt["host"] = service.get("host", "core-mosquitto")
        mqtt["port"] = int(service.get("port", 1883))
        if service.get("username"):
            mqtt["username"] = str(service["username"])
        if service.get("password"):
            mqtt["password"] = str(service["password"])
        if service.get("ssl"):
            mqtt["tls"] = {"enabled": True}
    else:
        mqtt["host"] = "core-mosquitto"
        mqtt["port"] = 1883
    return mqtt


def _cameras(options: Mapping[str, Any]) -> dict[str, Any]:
    cameras: dict[str, Any] = {}
    for entry in options.get("cameras") or []:
        camera: dict[str, Any] = {}
        regions = _words(entry.get("regions"))
        if regions:
            camera["regions"] = regions
        if entry.get("min_score") is not None:
            camera["min_score"] = entry["min_score"]
        if entry.get("enabled") is False:
            camera["enabled"] = False
        cameras[str(entry.get("name", ""))] = camera
    return cameras


def _sources(options: Mapping[str, Any], problems: list[str]) -> dict[str, Any]:
    sources: dict[str, Any] = {}
    frigate_url = (options.get("frigate_url") or "").strip()
    if frigate_url:
        frigate: dict[str, Any] = {"url": frigate_url}
        cameras = _words(options.get("frigate_cameras"))
        if cameras:
            frigate["cameras"] = cameras
        sources["frigate"] = frigate
    topic = (options.get("snapshot_topic") or "").strip()
    if topic:
        sources["snapshot_topics"] = [{"topic": topic}]
    folder = (options.get("folder") or "").strip()
    if folder:
        if not folder.startswith(("/share/", "/media/")):
            problems.append(f"folder: must be under /share/ or /media/, not {folder!r}")
        sources["folders"] = [{"path": folder}]
    if not sources:
        problems.append(
            "frigate_url, snapshot_topic, folder: set at least one, or the bridge has "
            "no pictures to read"
        )
    return sources


def _watchlist(options: Mapping[str, Any]) -> list[dict[str, Any]]:
    entries = []
    for entry in options.get("watchlist") or []:
        item: dict[str, Any] = {"name": entry.get("name"), "plate": entry.get("plate")}
        if entry.get("owner"):
            item["owner"] = entry["owner"]
        tags = _words(entry.get("tags"))
        if tags:
            item["tags"] = tags
        if entry.get("tolerance") is not None:
            item["tolerance"] = entry["tolerance"]
        entries.append(item)
    return entries


def options_to_config(
    options: Mapping[str, Any], mqtt_service: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The bridge configuration (as a mapping) for these add-on options.

    `mqtt_service` is the Supervisor's answer for the MQTT service (`host`, `port`,
    `username`, `password`, `ssl`); without it, the Mosquitto add-on's address.
    Raises `AddonError` naming the options at fault.
    """
    problems: list[str] = []
    config: dict[str, Any] = {
        "mqtt": _mqtt(options, mqtt_service),
        "api": _api(options, problems),
        "cameras": _cameras(options),
        "sources": _sources(options, problems),
        "watchlist": _watchlist(options),
        "storage": {
            "path": STORAGE,
            "save_snapshots": bool(options.get("save_snapshots", True)),
        },
        "homeassistant": {"hold_time": options.get("hold_time", 30)},
        # The page behind Home Assistant's ingress (config.yaml: ingress_port): the
        # Supervisor is its only peer, and the bridge takes it without a token.
        "web": {"host": "0.0.0.0", "port": INGRESS_PORT, "ingress": True},  # noqa: S104
    }
    if problems:
        raise AddonError(problems)
    return config


def validate(config: Mapping[str, Any]) -> BridgeConfig:
    """Validate a mapped configuration with `bridge.config`; problems name the bridge keys."""
    text = yaml.safe_dump(dict(config), sort_keys=False)
    try:
        return parse_config(text, "add-on options", env={})
    except ConfigError as err:
        raise AddonError(err.problems) from None


def build_config(
    options: Mapping[str, Any], mqtt_service: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], BridgeConfig]:
    data = options_to_config(options, mqtt_service)
    return data, validate(data)


# -- the launcher ----------------------------------------------------------------------------


def supervisor_mqtt() -> dict[str, Any] | None:
    """The MQTT service's credentials from the Supervisor, or None outside an add-on."""
    token = os.environ.get("SUPERVISOR_TOKEN")
    if not token:
        return None
    request = urllib.request.Request(SUPERVISOR_MQTT, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            data = json.load(answer).get("data")
    except (OSError, ValueError) as err:
        print(f"plate-bridge add-on: no MQTT service from the Supervisor: {err}", file=sys.stderr)
        return None
    return data if isinstance(data, dict) else None


def _wait_engine(process: subprocess.Popen[bytes], timeout: float = 120.0) -> bool:
    url = f"http://127.0.0.1:{LOCAL_ENGINE_PORT}/info/"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except (OSError, urllib.error.URLError):
            time.sleep(0.5)
    return False


def main(argv: list[str] | None = None) -> int:
    """Read the options, write and validate the config, run the engine (if local) and bridge."""
    argv = sys.argv[1:] if argv is None else argv
    options_file = Path(argv[0]) if argv else OPTIONS_FILE
    try:
        options = json.loads(options_file.read_text(encoding="utf-8"))
        data, _ = build_config(options, supervisor_mqtt())
    except (OSError, ValueError) as err:
        print(f"plate-bridge add-on: cannot read {options_file}: {err}", file=sys.stderr)
        return 2
    except AddonError as err:
        for problem in err.problems:
            print(f"plate-bridge add-on: {problem}", file=sys.stderr)
        return 2
    CONFIG_FILE.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    CONFIG_FILE.chmod(0o600)  # it holds the MQTT password and maybe the API token
    verbosity = {"debug": ["-vv"], "info": ["-v"]}.get(str(options.get("log_level")), [])
    command = [sys.executable, "-m", "bridge"]
    engine = None
    if options.get("api", "local") == "local":
        engine = subprocess.Popen(  # noqa: S603 - our own command, fixed arguments
            [*command, *verbosity, "engine", "--port", str(LOCAL_ENGINE_PORT)]
        )
        if not _wait_engine(engine):
            print("plate-bridge add-on: the local engine did not start", file=sys.stderr)
            engine.terminate()
            return 1
    bridge = subprocess.Popen(  # noqa: S603 - our own command, fixed arguments
        [*command, *verbosity, "run", "-c", str(CONFIG_FILE)]
    )

    def forward(signum: int, _frame: object) -> None:
        bridge.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    code = bridge.wait()
    if engine is not None:
        engine.terminate()
        try:
            engine.wait(timeout=15)
        except subprocess.TimeoutExpired:
            engine.kill()
    return code


if __name__ == "__main__":
    sys.exit(main())
