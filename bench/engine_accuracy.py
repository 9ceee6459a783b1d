"""Accuracy of the offline engine on the labelled ALPR photos (in-process).

Usage (from the repository root):

    .venv/bin/python bench/engine_accuracy.py [--data ../shared/alpr-bench/dev] [--fast]
        [--regions] [--threads 2] [--verbose] [--subset us]

Per subset (us, eu, br, all) it prints: images, plates found (a read whose box has
IoU > 0.3 with the labelled box), exact reads (the best-IoU read equals the label,
ignoring case, spaces and dashes), within one character (Levenshtein <= 1), false
positives per image (reads overlapping the labelled plate by IoU <= 0.3 - other cars'
real plates count too: --verbose lists them for a human to check), p50/p95 latency of
Recognizer.read and the process's peak RSS (VmHWM). --regions passes each subset's
regions (us -> us; eu -> it, cz, pl, de, fr, nl, gb, es; br -> br) as a caller would.

The dev photos are split in two halves by a hash of their name (bench/_halves.py): "a" is
the half the engine may be tuned on, "b" stays untouched; every figure is printed for
each half (--half a / b for one). `vehicle` is the share of labelled plates found on a
vehicle (the read's vehicle box, plate_engine/vehicles.py).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._halves import Half, half_of  # noqa: E402
from bench._stats import percentile  # noqa: E402
from plate_engine.recognizer import Recognizer  # noqa: E402
from plate_engine.types import Box, PlateRead, ReadOptions  # noqa: E402

SUBSETS = ("us", "eu", "br")
REGIONS = {
    "us": ("us",),
    "eu": ("it", "cz", "pl", "de", "fr", "nl", "gb", "es"),
    "br": ("br",),
}


@dataclass
class Label:
    image: Path
    box: Box
    plate: str


@dataclass
class Tally:
    images: int = 0
    found: int = 0
    exact: int = 0
    within1: int = 0
    false_pos: int = 0
    vehicle: int = 0
    latencies: list[float] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        self.images += other.images
        self.found += other.found
        self.exact += other.exact
        self.within1 += other.within1
        self.false_pos += other.false_pos
        self.vehicle += other.vehicle
        self.latencies += other.latencies


def normalise(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def levenshtein(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def iou(a: Box, b: Box) -> float:
    ix = max(0, min(a.xmax, b.xmax) - max(a.xmin, b.xmin))
    iy = max(0, min(a.ymax, b.ymax) - max(a.ymin, b.ymin))
    inter = ix * iy
    union = (a.xmax - a.xmin) * (a.ymax - a.ymin) + (b.xmax - b.xmin) * (b.ymax - b.ymin) - inter
    return inter / union if union > 0 else 0.0


def load_labels(folder: Path) -> list[Label]:
    labels = []
    for txt in sorted(folder.glob("*.txt")):
        name, x, y, w, h, plate = txt.read_text().strip().split("\t")[:6]
        x0, y0 = int(x), int(y)
        box = Box(xmin=x0, ymin=y0, xmax=x0 + int(w), ymax=y0 + int(h))
        labels.append(Label(folder / name, box, normalise(plate)))
    return labels


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_subset(
    rec: Recognizer, name: str, labels: list[Label], options: ReadOptions, verbose: bool
) -> Tally:
    t = Tally()
    for label in labels:
        data = label.image.read_bytes()
        start = time.perf_counter()
        reads: list[PlateRead] = rec.read(data, options)
        t.latencies.append((time.perf_counter() - start) * 1000)
        t.images += 1
        scored = sorted(((iou(r.box, label.box), r) for r in reads), key=lambda s: -s[0])
        best = scored[0] if scored and scored[0][0] > 0.3 else None
        extra = [r for v, r in scored if v <= 0.3]
        t.false_pos += len(extra)
        status = "MISS"
        if best is not None:
            t.found += 1
            dist = levenshtein(best[1].plate, label.plate)
            t.exact += dist == 0
            t.within1 += dist <= 1
            t.vehicle += best[1].vehicle is not None
            status = "ok" if dist == 0 else f"d={dist}"
        if verbose:
            got = f"{best[1].plate} ({best[1].score:.2f}, iou {best[0]:.2f})" if best else "-"
            near = (
                f" nearest iou {scored[0][0]:.2f} {scored[0][1].plate}"
                if scored and not best
                else ""
            )
            print(f"{name}/{label.image.name}\t{label.plate}\t{status}\t{got}{near}")
            for r in extra:
                b = r.box
                print(
                    f"    FP {r.plate} score {r.score:.2f} d {r.dscore:.2f} "
                    f"box {b.xmin},{b.ymin},{b.xmax},{b.ymax} {r.region_code}"
                )
    return t


def report(name: str, t: Tally) -> str:
    n = max(1, t.images)
    return (
        f"{name:<4} {t.images:>6} {t.found / n:>7.1%} {t.exact / n:>7.1%} {t.within1 / n:>8.1%}"
        f" {t.false_pos / n:>7.2f} {t.vehicle / n:>8.1%} {percentile(t.latencies, 0.5):>7.0f}"
        f" {percentile(t.latencies, 0.95):>7.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/alpr-bench/dev")
    parser.add_argument("--fast", action="store_true")
    parser.add_argument("--regions", action="store_true", help="pass each subset's regions")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--subset", choices=SUBSETS, action="append")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--half", choices=("a", "b"), action="append", help="default: both")
    args = parser.parse_args()
    halves: tuple[Half, ...] = tuple(args.half or ("a", "b"))

    rec = Recognizer(threads=args.threads)
    totals: dict[tuple[Half, str], Tally] = {}
    for name in args.subset or SUBSETS:
        folder = args.data / name
        if not folder.is_dir():
            sys.exit(f"no such folder: {folder}")
        options = ReadOptions(fast=args.fast, regions=REGIONS[name] if args.regions else ())
        labels = load_labels(folder)
        for half in halves:
            mine = [lb for lb in labels if half_of(f"{name}/{lb.image.name}") == half]
            totals[(half, name)] = run_subset(rec, name, mine, options, args.verbose)

    mode = "fast" if args.fast else "regular"
    print(
        f"mode {mode}, threads {args.threads}, regions {'per subset' if args.regions else 'none'}"
    )
    every = Tally()
    for half in halves:
        print(
            f"half {half}\n{'set':<4} {'images':>6} {'found':>7} {'exact':>7} {'within1':>8}"
            f" {'FP/img':>7} {'vehicle':>8} {'p50 ms':>7} {'p95 ms':>7}"
        )
        both = Tally()
        for (h, name), t in totals.items():
            if h == half:
                print(report(name, t))
                both.add(t)
        print(report("all", both))
        every.add(both)
    print(
        f"peak RSS {peak_rss_mb():.0f} MB; mean latency {statistics.fmean(every.latencies):.0f} ms"
    )


if __name__ == "__main__":
    main()
