"""`plate-bridge history`: what came through the gate, from the bridge's history file."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

from bridge.cli import EXIT_OK, EXIT_USAGE
from bridge.commands.config_file import print_problems
from bridge.config import ConfigError, StorageConfig, load_config
from bridge.history import COLUMN_NAMES, FILE_NAME, Query, iter_rows, parse_since, query

TABLE_COLUMNS = (
    ("time", 24),
    ("camera", 12),
    ("plate", 10),
    ("score", 5),
    ("watch list", 20),
    ("vehicle", 24),
    ("source event", 28),
)


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "history",
        help="list the plates the bridge has read",
        description=(
            "Query the bridge's history (<storage.path>/history.sqlite3), newest first. "
            "The file is found from the configuration (-c) or given with --db; by default "
            f"./var/plate-bridge/{FILE_NAME}."
        ),
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("-c", "--config", metavar="FILE", help="the bridge's configuration")
    where.add_argument("--db", metavar="PATH", help="the history file itself")
    parser.add_argument(
        "--plate", help="plate, ignoring case, spaces and dashes; * and ? are wildcards"
    )
    parser.add_argument("--camera", help="only this camera")
    parser.add_argument(
        "--since", metavar="WHEN", help="2h, 7d, 1w ago, or a date/time (2024-12-06T19:00)"
    )
    parser.add_argument("--until", metavar="WHEN", help="same forms as --since")
    parser.add_argument(
        "--limit", type=int, default=100, metavar="N", help="at most N reads (0 = all; default 100)"
    )
    parser.add_argument(
        "--format", choices=("table", "json", "csv"), default="table", help="default: table"
    )


def _path(args: argparse.Namespace) -> Path:
    if args.db:
        return Path(args.db)
    if args.config:
        return load_config(args.config).storage.path / FILE_NAME
    return StorageConfig().path / FILE_NAME


def run(args: argparse.Namespace) -> int:
    try:
        path = _path(args)
    except ConfigError as err:
        print_problems(err)
        return EXIT_USAGE
    try:
        since = parse_since(args.since) if args.since else None
        until = parse_since(args.until) if args.until else None
    except ValueError as err:
        print(f"plate-bridge history: {err}", file=sys.stderr)
        return EXIT_USAGE
    if args.limit < 0:
        print("plate-bridge history: --limit must be 0 or more", file=sys.stderr)
        return EXIT_USAGE
    if not path.is_file():
        print(f"plate-bridge history: no history at {path}", file=sys.stderr)
        return EXIT_USAGE
    rows = query(
        path,
        Query(
            plate=args.plate,
            camera=args.camera,
            since=since,
            until=until,
            limit=args.limit or None,
        ),
    )
    out = sys.stdout
    if args.format == "json":
        json.dump(rows, out, ensure_ascii=False, indent=1)
        out.write("\n")
    elif args.format == "csv":
        writer = csv.writer(out)
        writer.writerow(COLUMN_NAMES)
        writer.writerows(iter_rows(rows))
    else:
        _table(rows, out)
    return EXIT_OK


def _cell(row: dict[str, Any], column: str) -> str:
    if column == "plate":
        return str(row["plate"] or "").upper()
    if column == "score":
        return f"{row['score']:.2f}" if row["score"] is not None else "-"
    if column == "watch list":
        return str(row["watchlist_name"] or "-")
    if column == "vehicle":
        parts = [row["vehicle_type"], row["color"], row["make"], row["model"]]
        return " ".join(str(p) for p in parts if p) or "-"
    if column == "source event":
        return str(row["source_event_id"] or "-")
    return str(row[column] if row[column] is not None else "-")


def _table(rows: list[dict[str, Any]], out: Any) -> None:
    header = "  ".join(f"{name:<{width}}" for name, width in TABLE_COLUMNS)
    out.write(header.rstrip() + "\n")
    for row in rows:
        line = "  ".join(f"{_cell(row, name)[:width]:<{width}}" for name, width in TABLE_COLUMNS)
        out.write(line.rstrip() + "\n")
    out.write(f"{len(rows)} read{'s' if len(rows) != 1 else ''}\n")
