"""`plate-bridge demo [FOLDER]`: engine, broker, bridge and a live view, on embedded defaults.

No API key and no broker to configure: the local engine reads the plates, a private
broker (mosquitto, or an embedded Python one) carries the results, the bridge watches a
folder, and the live view prints one line per plate read. Ctrl-C stops it all.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bridge.cli import EXIT_OK, EXIT_USAGE


def _interval(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"must be between 0 and 3600 seconds, got {text}")
    return value


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the whole chain on embedded defaults (local engine, private broker)",
        description=(
            "Start the local engine, an MQTT broker on 127.0.0.1 (mosquitto when installed "
            "- scripts/demo installs it - else an embedded Python broker), the "
            "bridge watching <output>/inbox, and a live view of the MQTT results. Sample "
            "pictures (two real photos then synthetic ones, or FOLDER's) are copied into "
            "the inbox one by one. "
            "Ctrl-C stops everything and says where the annotated images and the history are."
        ),
    )
    parser.add_argument(
        "folder",
        nargs="?",
        type=Path,
        metavar="FOLDER",
        help="your own pictures (.jpg .jpeg .png .bmp .webp, searched recursively); "
        "default: two real photos, then synthetic pictures drawn at start-up",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=Path("demo-output"),
        metavar="DIR",
        help="where the inbox, annotated images, history and config go (%(default)s)",
    )
    parser.add_argument(
        "--broker",
        choices=("auto", "mosquitto", "embedded"),
        default="auto",
        help="auto: mosquitto when installed, else the embedded broker",
    )
    # Accepted for older scripts: the command itself never installs anything any more.
    parser.add_argument("--no-broker-install", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--interval",
        type=_interval,
        default=1.0,
        metavar="SECONDS",
        help="pause between two pictures (%(default)g)",
    )
    parser.add_argument(
        "--once",
        action="store_true",
        help="stop by itself once every picture has been read (exit 1 if some never were)",
    )
    parser.add_argument(
        "--api-url",
        metavar="URL",
        help="use this on-premise server instead of starting the local engine",
    )


def run(args: argparse.Namespace) -> int:
    from bridge.demo.runner import DemoError, DemoOptions, run_demo

    options = DemoOptions(
        folder=args.folder,
        output=args.output,
        broker=args.broker,
        once=args.once,
        interval=args.interval,
        api_url=args.api_url,
    )
    try:
        code = asyncio.run(run_demo(options, sys.stdout))
    except DemoError as err:
        print(f"plate-bridge demo: {err}", file=sys.stderr)
        return EXIT_USAGE
    return code if code else EXIT_OK
