"""Serve the fake from the command line: ``python -m tests.fake_api --mode onprem``.

Prints the base URL on the first line of stdout (so a parent process can read it), then
serves until interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from .constants import DEFAULT_TOKEN, DEFAULT_TOTAL_CALLS
from .server import FakePlateRecognizer


async def _serve(args: argparse.Namespace) -> None:
    fake = FakePlateRecognizer(
        mode=args.mode,
        tokens=args.token or [DEFAULT_TOKEN],
        rate_limit=args.rate_limit,
        max_upload_bytes=args.max_upload_bytes,
        delay=args.delay,
        total_calls=args.total_calls,
    )
    await fake.start(args.port)
    try:
        print(fake.url, flush=True)
        while True:
            await asyncio.sleep(0.5)
            if args.forget_requests:
                # Benchmarks: the request log (uploads included) would grow to hundreds
                # of MB and its garbage-collection pauses would show up as latency.
                fake.requests.clear()
    finally:
        await fake.stop()


def main() -> None:
    """Parse arguments and serve forever."""
    parser = argparse.ArgumentParser(prog="python -m tests.fake_api", description=__doc__)
    parser.add_argument("--mode", choices=["cloud", "onprem"], default="cloud")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", action="append", help="accepted token (repeatable)")
    parser.add_argument("--rate-limit", type=float, default=None)
    parser.add_argument("--max-upload-bytes", type=int, default=None)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--total-calls", type=int, default=DEFAULT_TOTAL_CALLS, help="quota")
    parser.add_argument(
        "--forget-requests", action="store_true", help="keep no request log (benchmarks)"
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(parser.parse_args()))


if __name__ == "__main__":
    main()
