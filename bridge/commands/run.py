"""`plate-bridge run -c config.yaml`: the MQTT bridge service (runs until SIGINT/SIGTERM)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bridge.cli import EXIT_OK, EXIT_USAGE
from bridge.config import ConfigError, load_config
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
    parser.add_argument(
        "-c", "--config", required=True, metavar="FILE", help="configuration file (YAML)"
    )


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as err:
        for problem in err.problems:
            print(problem, file=sys.stderr)
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
