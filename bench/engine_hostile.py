"""Peak memory of the engine under hostile requests (issue 10), and under normal work.

Usage (from the repository root):

    .venv/bin/python bench/engine_hostile.py [--fresh] [--only NAME ...] [--concurrency 100]

It starts `plate-bridge engine --port 0 --upload-url-allow 127.0.0.1` (the allow-list
lets the engine fetch from this script's own server on 127.0.0.1, as it would from a
LAN camera), then runs each case in turn and prints the statuses it got and the
engine's peak RSS during the case (VmHWM from /proc, reset between cases through
/proc/PID/clear_refs where the kernel allows it, else the running peak; the reset is to
the current RSS, which keeps what earlier cases left allocated: --fresh starts a new
engine for each case instead). The goals:
under 1 GB whatever a client sends, at most 700 MB for normal work. Every case is
bounded in time; the whole run takes a few minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gzip
import io
import json
import os
import re
import signal
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import numpy as np
from aiohttp import web
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.engine.hostile_images import BOMBS  # noqa: E402

READ = "/v1/plate-reader/"
SAMPLE = ROOT.parent / "shared" / "samples" / "cars-4k.jpg"


def jpeg(size: tuple[int, int]) -> bytes:
    if SAMPLE.is_file():
        with Image.open(SAMPLE) as img:
            picture = img.convert("RGB").resize(size)
    else:
        picture = Image.new("RGB", size, (90, 110, 120))
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def png(size: tuple[int, int], sixteen_bit: bool = False) -> bytes:
    """A large but legal PNG (noise in a corner so it is not all one colour)."""
    if sixteen_bit:
        import cv2

        pixels = np.full((size[1], size[0], 4), 30000, dtype=np.uint16)
        pixels[:64, :64] = np.random.default_rng(0).integers(0, 65535, (64, 64, 4))
        return bytes(cv2.imencode(".png", pixels)[1])
    picture = Image.new("RGB", size, (90, 110, 120))
    buffer = io.BytesIO()
    picture.save(buffer, "PNG", compress_level=9)
    return buffer.getvalue()


def peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(match.group(1)) / 1024 if match else float("nan")


def reset_peak(pid: int) -> bool:
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


class EndlessSite:
    """Serves /endless: an image header, then zeros until the engine hangs up."""

    def __init__(self) -> None:
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def start(self, head: bytes) -> None:
        async def endless(request: web.Request) -> web.StreamResponse:
            response = web.StreamResponse(headers={"Content-Type": "image/jpeg"})
            response.enable_chunked_encoding()
            await response.prepare(request)
            await response.write(head)
            chunk = b"\x00" * 65536
            try:
                while True:
                    await response.write(chunk)
            except (ConnectionError, RuntimeError):
                pass
            return response

        app = web.Application()
        app.router.add_get("/endless", endless)
        self.runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}/endless"

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


type Case = Callable[[httpx.AsyncClient, str], Awaitable[Counter[object]]]


async def gather_statuses(calls: list[Awaitable[httpx.Response]]) -> Counter[object]:
    results = await asyncio.gather(*calls, return_exceptions=True)
    return Counter(
        r.status_code if isinstance(r, httpx.Response) else type(r).__name__ for r in results
    )


def post(client: httpx.AsyncClient, url: str, **kw: object) -> Awaitable[httpx.Response]:
    return client.post(url + READ, **kw)  # type: ignore[arg-type]


def cases(concurrency: int, site: EndlessSite) -> dict[str, Case]:
    photo_720 = jpeg((1280, 720))
    padded = photo_720 + b"\x00" * (9 * 1024 * 1024)  # a 9 MB upload that still reads
    big_png = png((7000, 7000))  # 49 MP: the largest image the default settings take
    deep_png = png((7000, 7000), sixteen_bit=True)

    async def normal(client: httpx.AsyncClient, url: str) -> Counter[object]:
        # 4 concurrent 720p reads, 40 calls: the SDK benchmark's shape.
        total: Counter[object] = Counter()
        for _ in range(10):
            total += await gather_statuses(
                [post(client, url, files={"upload": ("a.jpg", photo_720)}) for _ in range(4)]
            )
        return total

    async def bombs(client: httpx.AsyncClient, url: str) -> Counter[object]:
        calls = []
        for bomb, _ in BOMBS.values():
            calls.append(post(client, url, files={"upload": ("b", bomb)}))
            calls.append(post(client, url, data={"upload": base64.b64encode(bomb).decode()}))
        return await gather_statuses(calls * 4)

    async def largest_images(client: httpx.AsyncClient, url: str) -> Counter[object]:
        calls = [post(client, url, files={"upload": ("p.png", big_png)}) for _ in range(3)]
        calls += [post(client, url, files={"upload": ("d.png", deep_png)}) for _ in range(2)]
        return await gather_statuses(calls)

    async def uploads(client: httpx.AsyncClient, url: str) -> Counter[object]:
        return await gather_statuses(
            [post(client, url, files={"upload": ("a.jpg", padded)}) for _ in range(concurrency)]
        )

    async def upload_urls(client: httpx.AsyncClient, url: str) -> Counter[object]:
        return await gather_statuses(
            [post(client, url, data={"upload_url": site.url}) for _ in range(concurrency)]
        )

    async def configs(client: httpx.AsyncClient, url: str) -> Counter[object]:
        hostile = json.dumps({"text_formats": ["(.*)" * 42 + "#"] * 16})
        names = json.dumps({f"k{i}-" + "x" * 8000: 1 for i in range(1)})
        calls = [
            post(client, url, files={"upload": ("a.jpg", photo_720)}, data={"config": cfg})
            for cfg in (hostile, names, "[" * 100_000 + "]" * 100_000)
        ]
        fields = {f"f{i}-" + "n" * 8000: "1" for i in range(60)}
        calls.append(post(client, url, files={"upload": ("a.jpg", photo_720)}, data=fields))
        form = httpx.Request("POST", url, files={"upload": ("a.jpg", photo_720)})
        bomb_body = gzip.compress(form.read() + b"\x00" * (200 * 1024 * 1024))
        headers = {"Content-Type": form.headers["Content-Type"], "Content-Encoding": "gzip"}
        calls += [post(client, url, content=bomb_body, headers=headers) for _ in range(4)]
        return await gather_statuses(calls * 4)

    async def header_floods(client: httpx.AsyncClient, url: str) -> Counter[object]:
        # Connections sending header lines without end (aiohttp counts no headers).
        host, port = url.removeprefix("http://").split(":")
        line = b"X-Padding: " + b"a" * 8000 + b"\r\n"

        async def flood() -> str:
            reader, writer = await asyncio.open_connection(host, int(port))
            writer.write(b"GET /info/ HTTP/1.1\r\nHost: x\r\n")
            try:
                for _ in range(50 * 1024 * 1024 // (len(line) * 64)):  # up to 50 MB
                    writer.write(line * 64)
                    await writer.drain()
                    if reader.at_eof():
                        return "cut off"
            except ConnectionError:
                return "cut off"
            finally:
                writer.close()
            return "50 MB accepted"

        return Counter(await asyncio.gather(*(flood() for _ in range(20))))

    return {
        "normal-720p-x4": normal,
        "header-floods-x20": header_floods,
        "bombs-x4": bombs,
        "49MP-png-8-and-16-bit": largest_images,
        f"uploads-9MB-x{concurrency}": uploads,
        f"upload_url-endless-x{concurrency}": upload_urls,
        "configs-and-gzip": configs,
    }


async def start_engine(command: list[str]) -> tuple[asyncio.subprocess.Process, str]:
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    async with asyncio.timeout(120):
        while True:
            line = (await process.stdout.readline()).decode()
            if not line:
                sys.exit("the engine exited before listening")
            print(f"  engine: {line.rstrip()}")
            if match := re.search(r"listening on (http://\S+)", line):
                return process, match.group(1)


async def run_cases(
    command: list[str], names: list[str], site: EndlessSite, concurrency: int
) -> list[tuple[str, str, float, float]]:
    """Run `names` against one engine process; (case, statuses, seconds, peak MB) each."""
    process, url = await start_engine(command)
    limits = httpx.Limits(max_connections=concurrency + 10)
    rows: list[tuple[str, str, float, float]] = []
    try:
        async with httpx.AsyncClient(timeout=120, limits=limits, trust_env=False) as client:
            print(f"  engine pid {process.pid}, after start-up: {peak_rss_mb(process.pid):.0f} MB")
            for name, case in cases(concurrency, site).items():
                if name not in names:
                    continue
                resettable = reset_peak(process.pid)
                started = time.perf_counter()
                statuses = await asyncio.wait_for(case(client, url), 300)
                elapsed = time.perf_counter() - started
                info = await client.get(url + "/info/", timeout=10)
                assert info.status_code == 200, "the engine stopped answering"
                peak = peak_rss_mb(process.pid)
                shown = ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items(), key=str))
                rows.append((name, shown, elapsed, peak))
                scope = "" if resettable else " (running peak)"
                print(f"{name:32} {elapsed:6.1f} s  peak RSS {peak:6.0f} MB{scope}  [{shown}]")
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:
            process.kill()
        print(f"  SIGTERM: exit code {process.returncode}")
    return rows


async def run(args: argparse.Namespace) -> None:
    site = EndlessSite()
    await site.start(jpeg((640, 360)))
    command = [sys.executable, "-m", "bridge", "engine", "--port", "0"]
    command += ["--upload-url-allow", "127.0.0.1"]
    print("engine command:", " ".join(["python", *command[1:]]))
    names = args.only or list(cases(args.concurrency, site))
    rows: list[tuple[str, str, float, float]] = []
    try:
        if args.fresh:  # one engine per case: each peak is that case's alone
            for name in names:
                rows += await run_cases(command, [name], site, args.concurrency)
        else:  # one engine for all: peaks include what earlier cases left allocated
            rows = await run_cases(command, names, site, args.concurrency)
    finally:
        await site.stop()
    print()
    print("| case | statuses | seconds | engine peak RSS |")
    print("|---|---|---|---|")
    for name, shown, elapsed, peak in rows:
        print(f"| {name} | {shown} | {elapsed:.1f} | {peak:.0f} MB |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--only", nargs="*", help="run only these cases")
    parser.add_argument("--fresh", action="store_true", help="a new engine for each case")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
