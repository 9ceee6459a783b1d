"""`plate-bridge run -c config.yaml`: the MQTT bridge service (runs until SIGINT/SIGTERM)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bridge.cli import EXIT_OK, EXIT_USAGE
from bridge.commands.config_file import add_config_argument, load_or_report
from platereader.redact import remember_secrets


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run the MQTT bridge service",
        description=(
            "Take camera snapshot events from MQTT (Frigate, snapshot topics) and watched "
            "folders, read the plates, publish the results to MQTT. Stops gracefully on "
            "SIGINT/SIGTERM, finishing the reads in flight."
        ),
    )
    add_config_argument(parser)


def run(args: argparse.Namespace) -> int:
    config = load_or_report(args.config)
    if config is None:
        return EXIT_USAGE
    remember_secrets(*config.secrets())  # redacted from every log line from now on
    from bridge.service import BridgeService  # imports paho and httpx: only when running

    async def main() -> None:
        service = BridgeService(config)
        await service.run()

    from bridge.watchlist_store import WatchListError

    try:
        asyncio.run(main())
    except WatchListError as err:  # the page's watchlist.yaml is unreadable or invalid
        print(err, file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK
