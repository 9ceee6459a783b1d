"""`plate-bridge health`: the container's health check (the image's HEALTHCHECK).

Exit 0 (healthy) when everything that runs in this container answers, else 1 with one
line per problem (Docker keeps the output in `docker inspect`):

* the engine, when something listens on its address (`--engine`, default
  `$PLATE_BRIDGE_ENGINE_URL` or http://127.0.0.1:8080): `GET /info/` answers 200 with
  JSON;
* the bridge, when its configuration exists (`-c`, default `$PLATE_BRIDGE_CONFIG`, else
  /config/config.yaml, else the add-on's /data/config.yaml): its status topic on the
  broker says `online`. The bridge publishes that (retained) on every connection and its
  last will is `offline`, so it is `online` only while the bridge is connected.

With neither, nothing runs that could be checked: unhealthy.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from bridge.cli import EXIT_FAILURES, EXIT_OK

DEFAULT_ENGINE = "http://127.0.0.1:8080"
CONFIG_CANDIDATES = (Path("/config/config.yaml"), Path("/data/config.yaml"))
TIMEOUT = 10.0  # seconds per check; the HEALTHCHECK's own timeout is 20 s
RETAINED_GRACE = 2.0  # seconds for the retained status after the subscription is acknowledged


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "health",
        help="check that the engine and the bridge in this container answer",
        description=(
            "The container health check: the engine's GET /info/ when something listens "
            "on its address, the bridge's MQTT status when its configuration exists. "
            "Exit 0 when healthy, 1 otherwise."
        ),
    )
    parser.add_argument(
        "--engine",
        metavar="URL",
        default=os.environ.get("PLATE_BRIDGE_ENGINE_URL", DEFAULT_ENGINE),
        help="the engine's address (%(default)s)",
    )
    parser.add_argument(
        "-c",
        "--config",
        metavar="FILE",
        default=os.environ.get("PLATE_BRIDGE_CONFIG"),
        help="the bridge's configuration (default: the first of "
        + ", ".join(str(path) for path in CONFIG_CANDIDATES)
        + " that exists)",
    )


def _listening(url: str) -> bool:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", port), timeout=TIMEOUT):
            return True
    except OSError:
        return False


def check_engine(url: str) -> str | None:
    """None when GET <url>/info/ answers 200 with JSON, else the problem."""
    info = url.rstrip("/") + "/info/"
    try:
        with urllib.request.urlopen(info, timeout=TIMEOUT) as answer:  # noqa: S310 - http(s) only
            json.loads(answer.read(65536))
    except urllib.error.HTTPError as err:
        return f"engine: GET {info} answered HTTP {err.code}"
    except (OSError, ValueError) as err:
        return f"engine: GET {info} failed: {err}"
    return None


def check_bridge(config_file: Path) -> str | None:
    """None when the bridge's status topic says `online`, else the problem."""
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

    from bridge.config import ConfigError, load_config
    from bridge.events import Topics
    from bridge.mqtt import STATUS_ONLINE, set_credentials

    try:
        config = load_config(config_file)
    except ConfigError as err:
        return f"bridge: {config_file} is invalid: {err.problems[0]}"
    topic = Topics(config.mqtt.base_topic).status
    received: list[bytes] = []
    done = threading.Event()  # the status arrived, or the broker refused us
    subscribed = threading.Event()
    refused: list[str] = []

    def on_connect(client: paho.Client, _u: object, _f: object, reason: object, _p: object) -> None:
        if getattr(reason, "is_failure", False):
            refused.append(str(reason))
            done.set()
        else:
            client.subscribe(topic, qos=0)

    def on_subscribe(_c: paho.Client, _u: object, _m: object, _r: object, _p: object) -> None:
        subscribed.set()

    def on_message(_c: paho.Client, _u: object, message: paho.MQTTMessage) -> None:
        received.append(message.payload)
        done.set()

    client = paho.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"plate-bridge-health-{os.getpid()}",
        protocol=MQTTProtocolVersion.MQTTv5,
    )
    set_credentials(client, config.mqtt)
    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    where = f"{config.mqtt.host}:{config.mqtt.port}"
    try:
        client.connect(config.mqtt.host, config.mqtt.port, keepalive=30)
    except (OSError, ValueError) as err:
        return f"bridge: cannot connect to the broker at {where}: {err}"
    client.loop_start()
    try:
        deadline = time.monotonic() + TIMEOUT
        while not done.is_set() and not subscribed.is_set() and time.monotonic() < deadline:
            done.wait(0.05)
        # A retained status comes right behind the subscription's acknowledgement.
        done.wait(min(RETAINED_GRACE, max(0.0, deadline - time.monotonic())))
    finally:
        client.disconnect()
        client.loop_stop()
    if refused:
        return f"bridge: the broker at {where} refused the connection: {refused[0]}"
    if not received:
        return f"bridge: no status on {topic} at {where} (has the bridge ever connected?)"
    if received[0] != STATUS_ONLINE:
        return f"bridge: {topic} is {received[0].decode(errors='replace')!r}, not 'online'"
    return None


def _config_file(given: str | None) -> Path | None:
    if given:
        return Path(given)
    return next((path for path in CONFIG_CANDIDATES if path.is_file()), None)


def run(args: argparse.Namespace) -> int:
    problems: list[str] = []
    checked: list[str] = []
    if _listening(args.engine):
        checked.append(f"engine at {args.engine}")
        problem = check_engine(args.engine)
        if problem:
            problems.append(problem)
    config_file = _config_file(args.config)
    if config_file is not None:
        checked.append(f"bridge of {config_file}")
        problem = check_bridge(config_file)
        if problem:
            problems.append(problem)
    if not checked:
        problems.append(
            f"nothing to check: no engine listens at {args.engine} and no bridge "
            f"configuration ({', '.join(str(path) for path in CONFIG_CANDIDATES)})"
        )
    for problem in problems:
        print(f"unhealthy: {problem}", file=sys.stderr)
    if problems:
        return EXIT_FAILURES
    print(f"healthy: {', '.join(checked)}")
    return EXIT_OK
