"""`plate-bridge check-config -c config.yaml`: validate the file, report every problem."""

from __future__ import annotations

import argparse

from bridge.cli import EXIT_OK, EXIT_USAGE
from bridge.commands.config_file import add_config_argument, load_or_report
from platereader.redact import redact


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "check-config",
        help="validate a bridge configuration file",
        description=(
            "Check the configuration (after ${VAR} substitution and PLATE_BRIDGE_* "
            "environment overrides). Every problem is printed as 'file: key.path: message'; "
            "the exit code is 0 when the file is valid, 2 otherwise. Secrets are never printed."
        ),
    )
    add_config_argument(parser)


def run(args: argparse.Namespace) -> int:
    config = load_or_report(args.config, count=True)
    if config is None:
        return EXIT_USAGE
    sources = config.sources
    parts = []
    if sources.frigate is not None:
        parts.append(f"frigate at {sources.frigate.url}")
    if sources.snapshot_topics:
        parts.append(f"{len(sources.snapshot_topics)} snapshot topic(s)")
    if sources.folders:
        parts.append(f"{len(sources.folders)} folder(s)")
    mode = "cloud" if config.api.is_cloud else "on-premise/local"
    # Cameras can be named under `cameras:` or only by a source (Frigate's camera
    # list, a topic or folder bound to one camera): count them all, once.
    cameras = config.known_cameras()
    summary = (
        f"{args.config}: OK — broker {config.mqtt.host}:{config.mqtt.port}, "
        f"API {config.api.url} ({mode}), {', '.join(parts)}, "
        f"{len(cameras)} camera(s) configured, {len(config.watchlist)} watch-list entries"
    )
    if config.web is not None:
        access = "token required" if config.web.token else "no token"
        if config.web.ingress:
            access += ", Home Assistant ingress"
        summary += f", web page {config.web.url} ({access})"
    # URLs may carry user:password@ or a token in their query.
    print(redact(summary, config.secrets()))
    return EXIT_OK
