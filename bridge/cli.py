"""The `plate-bridge` command line: one module per subcommand under `bridge.commands`."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from typing import Protocol, cast

from platereader.redact import install_log_redaction

from . import __version__

# Subcommand name -> module in bridge.commands. Each module has
# `add_parser(subparsers)` and `run(args) -> int`.
COMMANDS: dict[str, str] = {
    "read": "read",
    "run": "run",
    "check-config": "check_config",
    "engine": "engine",
    "history": "history",
    "demo": "demo",
    "health": "health",
}

# Exit codes shared by every subcommand.
EXIT_OK = 0
EXIT_FAILURES = 1  # the command ran, but some work failed (e.g. a file could not be read)
EXIT_USAGE = 2  # bad arguments or configuration: nothing was done


class _Command(Protocol):
    def add_parser(self, subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        """Register the subcommand's parser."""

    def run(self, args: argparse.Namespace) -> int:
        """Run it; return the exit code."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="plate-bridge",
        description="Licence-plate recognition for home automation.",
    )
    parser.add_argument("--version", action="version", version=f"plate-bridge {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMANDS.values():
        _load(module_name).add_parser(subparsers)
    return parser


def _load(module_name: str) -> _Command:
    return cast(_Command, importlib.import_module(f"{__package__}.commands.{module_name}"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    logging.basicConfig(
        level=(logging.WARNING, logging.INFO, logging.DEBUG)[min(args.verbose, 2)],
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Every record of every logger (httpx's Set-Cookie at -vv, paho, aiohttp) passes a
    # root handler: redact credentials there. Commands register the config's secrets.
    install_log_redaction()
    try:
        return _load(COMMANDS[args.command]).run(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
