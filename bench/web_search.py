"""History search speed on 1,000,000 reads (bridge/history_search.py, the web page's searches).

Usage (from the repository root):

    .venv/bin/python bench/web_search.py [--path /tmp/plate-bridge-bench/history.sqlite3]
        [--reads 1000000] [--queries 60] [--rebuild]

Builds once (cached at --path) a history in the real writer's row format
(`bridge.history.row_from_event` of real plate events): 5 cameras, ~50,000 distinct
plates with a skewed (Zipf-like) share of the reads, 3 % of reads misread by one or two
look-alikes, ~2 % of reads watched, spread over a year. It is written with the schema
of a bridge before the search columns and then opened by `bridge.history.connect`, so
the build also measures the in-place upgrade (back-fill + indexes) of a 1M-read file.

Then times, over --queries queries of each kind picked from the data, the wall clock
of one call (open, query, close), and prints p50/p95/max with the CPU yardstick of
this run. Goal (issue 13): a look-alike plate search answers in < 100 ms (p50).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import sys
import time
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._stats import percentile
from bench._yardstick import measure as measure_yardstick
from bridge.events import ReadContext, SnapshotRef, plate_event, utc_iso
from bridge.history import COLUMN_NAMES, COLUMNS, connect, index_for_search, row_from_event
from bridge.history_search import Search, cameras, plate_summary, read_by_id, search
from platereader import PlateResult
from platereader.watchlist import LOOKALIKE_PAIRS, WatchEntry, WatchList

CAMERAS = ("gate", "driveway", "street", "garage", "back")
START = datetime(2025, 6, 1, tzinfo=UTC)
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"
_SWAP = {a: b for pair in LOOKALIKE_PAIRS for a, b in (pair, pair[::-1])}


def make_plate(rng: random.Random) -> str:
    pick = rng.choice
    if rng.random() < 0.6:  # UK: AB12 CDE
        return (
            "".join(pick(LETTERS) for _ in range(2))
            + "".join(pick(DIGITS) for _ in range(2))
            + " "
            + "".join(pick(LETTERS) for _ in range(3))
        )
    # EU-like: AB-123-CD
    return (
        "".join(pick(LETTERS) for _ in range(2))
        + "-"
        + "".join(pick(DIGITS) for _ in range(3))
        + "-"
        + "".join(pick(LETTERS) for _ in range(2))
    )


def misread(plate: str, rng: random.Random, count: int) -> str:
    """`plate` with up to `count` characters swapped for their look-alike."""
    spots = [i for i, char in enumerate(plate) if char in _SWAP]
    chars = list(plate)
    for i in rng.sample(spots, min(count, len(spots))):
        chars[i] = _SWAP[chars[i]]
    return "".join(chars)


def build(path: Path, reads: int, rng: random.Random) -> dict[str, Any]:
    """Write an old-schema history of `reads` rows, then upgrade it; build figures."""
    started = time.perf_counter()
    distinct = max(reads // 20, 10)
    plates = list({make_plate(rng) for _ in range(distinct)})
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(plates))]  # skewed, long tail
    total = sum(weights)
    watched: set[int] = set()
    share = 0.0
    for index in rng.sample(range(len(plates)), len(plates)):
        if share >= 0.02:
            break
        if weights[index] / total < 0.002:  # no single plate is most of the watched reads
            watched.add(index)
            share += weights[index] / total
    watchlist = WatchList(WatchEntry(name=f"car {i}", plate=plates[i]) for i in sorted(watched))
    templates: dict[str, tuple[Any, ...]] = {}

    def template(text: str) -> tuple[Any, ...]:
        row = templates.get(text)
        if row is None:
            context = ReadContext(
                camera="gate",
                source="frigate",
                source_event_id="x",
                time=START,
                snapshot=SnapshotRef(kind="frigate", saved="/data/snapshots/x.jpg"),
            )
            result = PlateResult(plate=text, score=0.91)
            event = plate_event(context, result, watchlist.match(result), read_time=START)
            row = templates[text] = row_from_event(event)
        return row

    at = {name: i for i, name in enumerate(COLUMN_NAMES)}
    span = 365 * 86400.0
    times = sorted(rng.random() * span for _ in range(reads))
    chosen = rng.choices(range(len(plates)), weights=weights, k=reads)
    old_columns = [(n, t) for n, t in COLUMNS if n not in ("read_by", "watchlist_kind")]
    names = [n for n, _ in old_columns]
    keep = [at[n] for n in names]
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"CREATE TABLE reads ({', '.join(f'{n} {t}' for n, t in old_columns)})")
        db.execute("CREATE INDEX reads_time ON reads (time)")
        db.execute("CREATE INDEX reads_plate ON reads (plate_normalized, time)")
        db.execute("CREATE INDEX reads_camera ON reads (camera, time)")
        db.execute("CREATE INDEX reads_read_time ON reads (read_time)")
        insert = f"INSERT INTO reads ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        batch: list[list[Any]] = []
        for n, (offset, index) in enumerate(zip(times, chosen, strict=True)):
            roll = rng.random()
            text = plates[index]
            if roll < 0.03:
                text = misread(text, rng, 1 if roll < 0.02 else 2)
            row = list(template(text))
            moment = utc_iso(START + timedelta(seconds=offset))
            row[at["id"]] = f"{n:012x}"
            row[at["time"]] = row[at["read_time"]] = moment
            row[at["camera"]] = CAMERAS[index % 5 if rng.random() < 0.8 else rng.randrange(5)]
            row[at["source_event_id"]] = f"ev{n}"
            row[at["snapshot"]] = f"/data/snapshots/{n}.jpg"
            batch.append([row[i] for i in keep])
            if len(batch) == 50_000:
                db.executemany(insert, batch)
                batch.clear()
        db.executemany(insert, batch)
    db.close()
    written = time.perf_counter() - started
    started = time.perf_counter()
    with closing(connect(path)) as upgraded:  # as the writer does when the bridge starts
        index_for_search(upgraded)
    upgrade = time.perf_counter() - started
    with sqlite3.connect(path) as db:
        watched_reads = db.execute(
            "SELECT count(*) FROM reads WHERE watchlist_name IS NOT NULL"
        ).fetchone()[0]
        keys = db.execute("SELECT count(*) FROM plate_keys").fetchone()[0]
    db.close()
    return {
        "reads": reads,
        "distinct_plates": len(plates),
        "watched_share": round(watched_reads / reads, 4),
        "plate_keys_rows": keys,
        "write_s": round(written, 1),
        "upgrade_s": round(upgrade, 1),
        "file_mb": round(path.stat().st_size / 1e6),
        "built": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def sample_plates(path: Path, count: int, rng: random.Random) -> list[str]:
    """Plates of random reads (so popular plates come up as often as they are read)."""
    with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as db:
        top = db.execute("SELECT max(rowid) FROM reads").fetchone()[0]
        found = [
            db.execute("SELECT plate FROM reads WHERE rowid = ?", (rng.randint(1, top),)).fetchone()
            for _ in range(count * 2)
        ]
    db.close()
    return [row[0] for row in found if row][:count]


def timed(calls: list[Callable[[], Any]]) -> tuple[list[float], list[int]]:
    times, sizes = [], []
    for call in calls:
        started = time.perf_counter()
        result = call()
        times.append((time.perf_counter() - started) * 1000)
        sizes.append(len(result) if isinstance(result, list) else int(result is not None))
    return times, sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--path", type=Path, default=Path("/tmp/plate-bridge-bench/history.sqlite3")
    )
    parser.add_argument("--reads", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument(
        "--no-http", action="store_true", help="skip the searches through the web page"
    )
    args = parser.parse_args()
    print("command: .venv/bin/python bench/" + " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]))
    print(measure_yardstick().line())
    rng = random.Random(13)
    sidecar = args.path.with_suffix(".build.json")
    if args.rebuild or not args.path.exists() or not sidecar.exists():
        figures = build(args.path, args.reads, rng)
        sidecar.write_text(json.dumps(figures))
        print(f"built now: {json.dumps(figures)}")
    else:
        figures = json.loads(sidecar.read_text())
        print(f"cached (--rebuild to measure the build again): {json.dumps(figures)}")
    print(
        f"upgrade of a {figures['reads']:,}-read file from the old schema (back-fill "
        f"plate_folded + plate_keys, 4 new indexes): {figures['upgrade_s']} s"
    )

    path, n = args.path, args.queries
    plates = sample_plates(path, n, rng)
    lookalike = [misread(p, rng, 1) for p in plates if any(c in _SWAP for c in p)][:n]
    days = [START + timedelta(days=rng.randrange(365)) for _ in range(n)]
    with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as db:
        pages = [
            row[0]
            for row in db.execute(
                "SELECT time FROM reads WHERE watchlist_name IS NOT NULL ORDER BY random() LIMIT ?",
                (n,),
            )
        ]
        ids = [row[0] for row in db.execute("SELECT id FROM reads ORDER BY random() LIMIT ?", (n,))]
        top = db.execute(  # the most read plate: its reads are the most to count and sort
            "SELECT plate_normalized FROM reads GROUP BY plate_normalized "
            "ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()[0]
    db.close()
    few = max(n // 6, 5)
    kinds: dict[str, list[Callable[[], Any]]] = {
        "exact plate": [lambda p=p: search(path, Search(plate=p)) for p in plates],
        "look-alike plate": [lambda p=p: search(path, Search(plate=p)) for p in lookalike],
        "wildcard prefix (3 chars + *)": [
            lambda p=p: search(path, Search(plate=p.replace(" ", "")[:3] + "*")) for p in plates
        ],
        "camera + 1 day": [
            lambda d=d, i=i: search(
                path, Search(camera=CAMERAS[i % 5], since=d, until=d + timedelta(days=1))
            )
            for i, d in enumerate(days)
        ],
        "watched only (paged)": [
            lambda b=b: search(path, Search(watched_only=True, before=b)) for b in pages
        ],
        "watched + camera (paged)": [
            lambda b=b, i=i: search(
                path, Search(watched_only=True, camera=CAMERAS[i % 5], before=b)
            )
            for i, b in enumerate(pages)
        ],
        "latest 50 (no filter)": [lambda: search(path, Search()) for _ in range(n)],
        "plate_summary": [lambda p=p: plate_summary(path, p) for p in plates],
        "tolerance 1": [lambda p=p: search(path, Search(plate=p, tolerance=1)) for p in lookalike],
        "tolerance 2": [lambda p=p: search(path, Search(plate=p, tolerance=2)) for p in lookalike],
        "cameras()": [lambda: cameras(path) for _ in range(n)],
        "read_by_id": [lambda i=i: read_by_id(path, i) for i in ids],
        # Worst cases: a pattern the index cannot narrow that matches nothing walks
        # every read (bounded by SEARCH_DEADLINE_S); the most read plate.
        "worst: '*' + 4 chars, no match": [
            lambda i=i: search(path, Search(plate=f"*Q{i % 10}Q{i % 7}")) for i in range(few)
        ],
        "worst: most read plate summary": [lambda: plate_summary(path, top)] * few,
        "worst: most read plate, tol 2": [lambda: search(path, Search(plate=top, tolerance=2))]
        * few,
        "worst: most read plate, watched": [
            lambda: search(path, Search(plate=top, watched_only=True))
        ]
        * few,
    }
    print(f"{'query':32} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'rows p50':>9}")
    for name, calls in kinds.items():
        times, sizes = timed(calls)
        print(
            f"{name:32} {len(times):>4} {percentile(times, 0.5):8.1f} "
            f"{percentile(times, 0.95):8.1f} {max(times):8.1f} {percentile(sizes, 0.5):9.0f}"
        )
    if not args.no_http:
        asyncio.run(through_the_page(path, plates, lookalike))
    print(f"load after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


async def through_the_page(path: Path, plates: list[str], lookalike: list[str]) -> None:
    """The same searches as a user makes them: a real bridge serving its page on this
    history (no broker and no API needed for that), timed from request to whole page."""
    import httpx
    import yaml

    from bridge.config import parse_config
    from bridge.service import BridgeService
    from tests.mosquitto import free_port

    inbox = path.parent / "bench-inbox"
    inbox.mkdir(exist_ok=True)
    port = free_port()
    config = parse_config(
        yaml.safe_dump(
            {
                "mqtt": {"host": "127.0.0.1", "port": free_port()},  # nobody there: fine
                "api": {"url": "http://127.0.0.1:9"},
                "sources": {"folders": [{"path": str(inbox)}]},
                # The bench's reads are a year old: never prune them.
                "storage": {"path": str(path.parent), "history_max_age_days": 0},
                "web": {"port": port},
            }
        ),
        "bench",
        env={},
    )
    if path.name != "history.sqlite3":
        raise SystemExit("--path must name a file history.sqlite3 for the page to find it")
    service = BridgeService(config)
    task = asyncio.create_task(service.run(install_signals=False))
    await service.started.wait()
    base = f"http://127.0.0.1:{port}/"
    pages: dict[str, list[str]] = {
        "page: look-alike plate search": [f"history?plate={p}" for p in lookalike],
        "page: plate summary": [f"plate/{p.replace(' ', '')}" for p in plates],
        "page: latest reads": ["history"] * len(plates),
    }
    try:
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            await http.get("history")  # the first request opens the file
            for name, addresses in pages.items():
                times = []
                for address in addresses:
                    started = time.perf_counter()
                    answer = await http.get(address)
                    answer.raise_for_status()
                    times.append((time.perf_counter() - started) * 1000)
                print(
                    f"{name:32} {len(times):>4} {percentile(times, 0.5):8.1f} "
                    f"{percentile(times, 0.95):8.1f} {max(times):8.1f} {'':>9}"
                )
    finally:
        service.stop()
        await task


if __name__ == "__main__":
    main()
