"""`plate-bridge engine`: serve the offline plate reader as the on-premise Snapshot API.

Loads the recogniser once, prints the URL it listens on, and serves until SIGINT or
SIGTERM, then stops cleanly: no new connections, running reads finish, pending webhooks
get a few seconds, the worker threads are joined.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import signal
import sys
import time
from pathlib import Path

from bridge.cli import EXIT_OK, EXIT_USAGE


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _megabytes(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def _blank_png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (128, 128, 128)).save(buffer, "PNG")
    return buffer.getvalue()


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from plate_engine.settings import EngineSettings  # light: no model import

    defaults = EngineSettings()
    parser = subparsers.add_parser(
        "engine",
        help="serve the offline plate reader (on-premise API)",
        description=(
            "Serve the offline plate reader over HTTP with the Plate Recognizer "
            "on-premise SDK's API: POST /v1/plate-reader/ and GET /info/. "
            "Stops cleanly on Ctrl-C / SIGTERM."
        ),
    )
    parser.add_argument("--host", default=defaults.host, help="address to listen on (%(default)s)")
    parser.add_argument(
        "--port", type=_non_negative, default=defaults.port, help="port (%(default)s; 0: any free)"
    )
    parser.add_argument(
        "--workers",
        type=_positive,
        default=defaults.workers,
        help="reads running at once (default: 2 per core, max 4: %(default)s)",
    )
    parser.add_argument(
        "--queue",
        type=_non_negative,
        default=defaults.queue,
        help="reads waiting for a worker before 429 (%(default)s)",
    )
    parser.add_argument(
        "--threads",
        type=_positive,
        default=defaults.threads,
        help="onnxruntime threads per read (%(default)s)",
    )
    parser.add_argument(
        "--max-upload-mb",
        type=_megabytes,
        default=defaults.max_upload_bytes / 1024 / 1024,
        help="largest request body / upload_url download, MiB (%(default)g)",
    )
    parser.add_argument(
        "--max-megapixels",
        type=_megabytes,
        default=defaults.max_pixels / 1e6,
        help="largest image (width x height) and decoded pixels read at once, MP (%(default)g)",
    )
    parser.add_argument(
        "--max-inflight-mb",
        type=_megabytes,
        default=None,
        help="request bodies and upload_url downloads held at once, MiB; then 429 "
        "(default: 4 x --max-upload-mb)",
    )
    parser.add_argument(
        "--body-timeout",
        type=_megabytes,  # any positive number
        default=defaults.body_timeout,
        help="seconds for a request body to arrive; then 408 (%(default)g)",
    )
    parser.add_argument(
        "--upload-url-allow",
        action="append",
        default=[],
        metavar="CIDR|HOST",
        help="also let upload_url reach this network or host name (repeatable), e.g. "
        "192.168.1.0/24 for LAN cameras; by default only public addresses are fetched",
    )
    parser.add_argument(
        "--total-calls",
        type=_non_negative,
        default=None,
        help="quota reported as total_calls / max_calls; 403 once used (default: unlimited)",
    )
    parser.add_argument(
        "--no-upload-url",
        action="store_true",
        help="refuse upload_url (the engine would fetch URLs on behalf of any client)",
    )
    parser.add_argument("--webhooks", type=Path, metavar="FILE", help="webhook targets (YAML/JSON)")


def run(args: argparse.Namespace) -> int:
    from plate_engine.settings import MIB, EngineSettings, SettingsError, load_webhooks

    try:
        settings = EngineSettings(
            host=args.host,
            port=args.port,
            workers=args.workers,
            queue=args.queue,
            max_upload_bytes=int(args.max_upload_mb * MIB),
            threads=args.threads,
            total_calls=args.total_calls,
            allow_upload_url=not args.no_upload_url,
            upload_url_allow=tuple(args.upload_url_allow),
            max_pixels=int(args.max_megapixels * 1e6),
            max_inflight_bytes=(
                int(args.max_inflight_mb * MIB) if args.max_inflight_mb is not None else None
            ),
            body_timeout=args.body_timeout,
        )
        webhooks = load_webhooks(args.webhooks) if args.webhooks else None
    except (SettingsError, ValueError) as err:
        print(f"plate-bridge engine: {err}", file=sys.stderr)
        return EXIT_USAGE

    # The models are imported and loaded only now: `--help` stays fast.
    from plate_engine.recognizer import Recognizer
    from plate_engine.server import EngineServer
    from plate_engine.types import ReadOptions

    started = time.perf_counter()
    recognizer = Recognizer(threads=settings.threads)
    loaded = time.perf_counter()
    # One read of a blank image, so lazy initialisation (if any) is paid now and not
    # by the first request.
    recognizer.read(_blank_png(), ReadOptions())
    print(
        f"plate engine: recogniser loaded in {loaded - started:.2f} s, first read "
        f"{time.perf_counter() - loaded:.2f} s (threads per read: {settings.threads})",
        flush=True,
    )

    async def serve() -> None:
        server = EngineServer(recognizer, settings, webhooks)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):  # Windows: Ctrl-C raises instead
                loop.add_signal_handler(signum, stop.set)
        await server.start()
        hooks = len(server.webhooks.targets)
        print(
            f"plate engine listening on {server.url} "
            f"(workers {settings.workers}, queue {settings.queue}, "
            f"max upload {settings.max_upload_bytes / MIB:g} MiB, webhooks {hooks}); "
            "Ctrl-C to stop",
            flush=True,
        )
        try:
            await stop.wait()
        finally:
            print("plate engine: stopping", flush=True)
            await server.stop()

    try:
        asyncio.run(serve())
    except OSError as err:  # e.g. the port is taken
        print(
            f"plate-bridge engine: cannot listen on {args.host}:{args.port}: {err}", file=sys.stderr
        )
        return EXIT_USAGE
    return EXIT_OK
