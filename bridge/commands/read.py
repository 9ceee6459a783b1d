"""`plate-bridge read PATH...`: read plates from image files and folders.

Files are read concurrently under the client's rate limiter. Results go to
stdout (JSON Lines by default, in input order as soon as each is known);
progress and errors go to stderr. A failed file is reported and the run goes
on; the exit code says whether every file succeeded.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from bridge.cli import EXIT_FAILURES, EXIT_OK, EXIT_USAGE
from bridge.progress import Progress
from platereader import (
    CLOUD_URL,
    EngineConfig,
    PlateReader,
    PlateReaderConfigError,
    PlateReaderError,
    ReadResponse,
    normalize_regions,
)
from platereader.annotate import annotate

TOKEN_ENV = "PLATE_RECOGNIZER_TOKEN"  # noqa: S105 - the variable name, not a secret
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp"})
CSV_COLUMNS = (
    "file",
    "plate",
    "score",
    "dscore",
    "region",
    "region_score",
    "xmin",
    "ymin",
    "xmax",
    "ymax",
    "vehicle_type",
    "vehicle_score",
    "make",
    "model",
    "color",
    "orientation",
    "candidates",
    "error",
)


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "read",
        help="read plates from image files or folders",
        description=(
            "Read licence plates from images with the Plate Recognizer cloud API "
            f"(token from --token or ${TOKEN_ENV}) or an on-premise server / the local "
            "engine (--api-url, no token)."
        ),
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders")
    parser.add_argument(
        "--api-url",
        help=f"server base URL (default: {CLOUD_URL} with a token; "
        "e.g. http://localhost:8080 for on-premise)",
    )
    parser.add_argument("--token", help=f"cloud API token (better: set ${TOKEN_ENV})")
    parser.add_argument(
        "--regions",
        action="append",
        default=[],
        metavar="CODES",
        help="region codes, repeated or comma-separated: --regions gb,fr --regions us-ca",
    )
    parser.add_argument("--mmc", action="store_true", help="ask for make, model, colour")
    parser.add_argument("--config", metavar="JSON", help='engine config, e.g. \'{"mode":"fast"}\'')
    parser.add_argument("--camera-id", help="camera identifier sent with every lookup")
    parser.add_argument(
        "--format", choices=("jsonl", "json", "csv"), default="jsonl", help="output format"
    )
    parser.add_argument(
        "--annotate", metavar="DIR", type=Path, help="write copies with plates drawn into DIR"
    )
    parser.add_argument(
        "--rate",
        type=float,
        metavar="N",
        help="lookups per second (default: 1 for the cloud Free plan, unlimited on-premise)",
    )
    parser.add_argument(
        "--concurrency", type=int, default=4, metavar="N", help="lookups in flight (default 4)"
    )
    parser.add_argument("--raw", action="store_true", help="include the API's raw JSON")
    parser.add_argument(
        "--progress",
        choices=("auto", "always", "never"),
        default="auto",
        help="progress bar on stderr (auto: only on a terminal)",
    )


@dataclass
class FileOutcome:
    path: Path
    response: ReadResponse | None = None
    error: str | None = None
    annotated: Path | None = None
    record: dict[str, Any] = field(default_factory=dict)


def run(args: argparse.Namespace) -> int:
    try:
        options = _Options.from_args(args)
    except PlateReaderConfigError as err:
        print(f"plate-bridge read: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    files, missing = collect_images(args.paths)
    for path in missing:
        print(f"plate-bridge read: error: {path}: no such file or folder", file=sys.stderr)
    if not files:
        print("plate-bridge read: error: no image files found", file=sys.stderr)
        return EXIT_USAGE if not missing else EXIT_FAILURES
    outcomes = asyncio.run(_read_all(files, options, sys.stdout))
    failed = sum(1 for outcome in outcomes if outcome.error) + len(missing)
    if failed:
        print(f"plate-bridge read: {failed} of {len(files) + len(missing)} failed", file=sys.stderr)
    return EXIT_FAILURES if failed else EXIT_OK


@dataclass
class _Options:
    api_url: str
    token: str | None
    regions: list[str]
    mmc: bool | None
    config: EngineConfig | None
    camera_id: str | None
    format: str
    annotate: Path | None
    rate: float | None
    concurrency: int
    raw: bool
    progress: str

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> _Options:
        token = args.token or os.environ.get(TOKEN_ENV) or None
        api_url = args.api_url or (CLOUD_URL if token else None)
        if api_url is None:
            raise PlateReaderConfigError(
                f"no server: give --token (or set ${TOKEN_ENV}) for the cloud API, "
                "or --api-url for an on-premise server or the local engine"
            )
        if args.concurrency < 1:
            raise PlateReaderConfigError("--concurrency must be at least 1")
        if args.rate is not None and args.rate <= 0:
            raise PlateReaderConfigError("--rate must be positive")
        regions = normalize_regions(
            [code.strip() for item in args.regions for code in item.split(",") if code.strip()]
        )
        config = EngineConfig.parse(args.config) if args.config else None
        if config and config.region == "strict" and not regions:
            raise PlateReaderConfigError("--config 'region: strict' needs --regions")
        return cls(
            api_url=api_url,
            token=token,
            regions=regions,
            mmc=True if args.mmc else None,
            config=config,
            camera_id=args.camera_id,
            format=args.format,
            annotate=args.annotate,
            rate=args.rate,
            concurrency=args.concurrency,
            raw=args.raw,
            progress=args.progress,
        )


def collect_images(paths: Sequence[str]) -> tuple[list[Path], list[Path]]:
    """Image files named or found (recursively, sorted) in folders; and the missing paths."""
    files: list[Path] = []
    missing: list[Path] = []
    seen: set[Path] = set()
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found: Iterator[Path] = (
                p for p in sorted(path.rglob("*")) if p.suffix.lower() in IMAGE_SUFFIXES
            )
        elif path.is_file():
            found = iter([path])
        else:
            missing.append(path)
            continue
        for file in found:
            if file.is_file() and file.resolve() not in seen:
                seen.add(file.resolve())
                files.append(file)
    return files, missing


async def _read_all(files: list[Path], options: _Options, out: TextIO) -> list[FileOutcome]:
    kwargs: dict[str, Any] = {}
    if options.rate is not None:
        kwargs["rate_limit"] = options.rate
    progress = Progress(len(files), enabled=_progress_enabled(options.progress))
    writer = _Writer(options.format, out)
    semaphore = asyncio.Semaphore(options.concurrency)
    async with PlateReader(options.api_url, options.token, **kwargs) as reader:

        async def one(path: Path) -> FileOutcome:
            async with semaphore:
                outcome = await _read_one(reader, path, options)
            progress.advance(failed=outcome.error is not None)
            return outcome

        tasks = [asyncio.create_task(one(path)) for path in files]
        outcomes: list[FileOutcome] = []
        try:
            # Emit in input order, each as soon as it and all before it are done.
            for task in tasks:
                outcome = await task
                if outcome.error:
                    progress.message(f"{outcome.path}: {outcome.error}")
                writer.write(outcome, raw=options.raw)
                outcomes.append(outcome)
        finally:
            for task in tasks:
                task.cancel()
            progress.close()
    writer.close()
    return outcomes


async def _read_one(reader: PlateReader, path: Path, options: _Options) -> FileOutcome:
    outcome = FileOutcome(path=path)
    try:
        outcome.response = await reader.read(
            path,
            regions=options.regions,
            mmc=options.mmc,
            config=options.config,
            camera_id=options.camera_id,
        )
    except PlateReaderError as err:
        outcome.error = str(err)
        return outcome
    if options.annotate is not None:
        try:
            outcome.annotated = await asyncio.to_thread(
                _write_annotated, path, outcome.response, options.annotate
            )
        except (PlateReaderError, OSError) as err:
            outcome.error = f"annotating failed: {err}"
    return outcome


def _write_annotated(path: Path, response: ReadResponse, folder: Path) -> Path:
    target = folder / _relative_name(path).with_suffix(".jpg")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(annotate(path.read_bytes(), response.results))
    return target


def _relative_name(path: Path) -> Path:
    """Keep the folder structure below the working directory so names cannot collide."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(Path.cwd())
    except ValueError:
        return Path(*resolved.parts[1:])


def _progress_enabled(mode: str) -> bool:
    if mode == "always":
        return True
    if mode == "never":
        return False
    return sys.stderr.isatty()


def outcome_record(outcome: FileOutcome, *, raw: bool = False) -> dict[str, Any]:
    """The JSON object printed for one file."""
    record: dict[str, Any] = {"file": str(outcome.path)}
    if outcome.response is not None:
        response = outcome.response
        exclude = None if raw else {"raw"}
        record["results"] = [
            result.model_dump(mode="json", exclude=exclude) for result in response.results
        ]
        record["processing_time"] = response.processing_time
        record["timestamp"] = response.timestamp
        record["camera_id"] = response.camera_id
        if response.usage is not None:
            record["usage"] = response.usage.model_dump()
        if response.scale != 1.0:
            record["scale"] = response.scale
        if raw:
            record["raw"] = response.raw
    if outcome.annotated is not None:
        record["annotated"] = str(outcome.annotated)
    record["error"] = outcome.error
    return record


class _Writer:
    def __init__(self, fmt: str, out: TextIO) -> None:
        self._format = fmt
        self._out = out
        self._json_items: list[dict[str, Any]] = []
        self._csv: Any = None
        if fmt == "csv":
            self._csv = csv.writer(out, lineterminator="\n")
            self._csv.writerow(CSV_COLUMNS)

    def write(self, outcome: FileOutcome, *, raw: bool) -> None:
        if self._format == "jsonl":
            self._out.write(json.dumps(outcome_record(outcome, raw=raw)) + "\n")
            self._out.flush()
        elif self._format == "json":
            self._json_items.append(outcome_record(outcome, raw=raw))
        else:
            for row in _csv_rows(outcome):
                self._csv.writerow(row)
            self._out.flush()

    def close(self) -> None:
        if self._format == "json":
            json.dump(self._json_items, self._out, indent=2)
            self._out.write("\n")
        self._out.flush()


def _csv_rows(outcome: FileOutcome) -> list[list[Any]]:
    """One row per plate; a file with no plate or an error still gets one row."""
    rows: list[list[Any]] = []
    results = outcome.response.results if outcome.response else ()
    for result in results:
        box = result.box
        vehicle = result.vehicle
        make_model = result.make_model[0] if result.make_model else None
        rows.append(
            [
                str(outcome.path),
                result.plate or "",
                _num(result.score),
                _num(result.dscore),
                result.region.code if result.region else "",
                _num(result.region.score if result.region else None),
                *(("", "", "", "") if box is None else (box.xmin, box.ymin, box.xmax, box.ymax)),
                vehicle.type if vehicle else "",
                _num(vehicle.score if vehicle else None),
                make_model.make if make_model else "",
                make_model.model if make_model else "",
                result.color[0].value if result.color else "",
                result.orientation[0].value if result.orientation else "",
                " ".join(f"{c.plate}:{c.score:.3f}" for c in result.candidates),
                "",
            ]
        )
    if not rows:
        rows.append([str(outcome.path), *[""] * (len(CSV_COLUMNS) - 2), outcome.error or ""])
    return rows


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


__all__ = ["add_parser", "collect_images", "outcome_record", "run"]
