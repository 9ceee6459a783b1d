"""The `-c/--config FILE` argument and its loading, shared by the commands that need it."""

from __future__ import annotations

import argparse
import os
import sys

from bridge.config import BridgeConfig, ConfigError, load_config


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-c", "--config", required=True, metavar="FILE", help="configuration file (YAML)"
    )


def print_problems(err: ConfigError, *, count: bool = False) -> None:
    """Every problem on stderr, one a line ('file: key.path: message'); `count` adds a total."""
    for problem in err.problems:
        print(problem, file=sys.stderr)
    if count:
        found = len(err.problems)
        print(f"{found} problem{'s' if found != 1 else ''} found", file=sys.stderr)


def load_or_report(path: str | os.PathLike[str], *, count: bool = False) -> BridgeConfig | None:
    """The configuration, or None once its problems are printed (see `print_problems`)."""
    try:
        return load_config(path)
    except ConfigError as err:
        print_problems(err, count=count)
        return None
