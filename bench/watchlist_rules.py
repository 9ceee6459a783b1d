"""Evidence for the watch-list rules (platereader/watchlist.py), from the offline engine.

Usage (from the repository root; reading the photos takes a few minutes):

    .venv/bin/python bench/watchlist_rules.py [--data ../shared/alpr-bench/dev]
        [--save reads.json | --load reads.json]

For the best read of each labelled plate it prints the character confusions
of wrong top reads, how often the engine's alternatives offer D/G for a round
0/O or 6/G glyph, how far its alternatives are from the top read and its
score; then, with the label as a tolerance-0 watch-list entry, how many plates
each rule recognises (recall) and, with every plate one real character away
from the label as the entry (a neighbour's car), how many it wrongly watches:
top plate only, candidates admitted by score alone, and the rules as shipped.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from platereader import Candidate, PlateResult  # noqa: E402
from platereader.watchlist import (  # noqa: E402
    LOOKALIKE_PAIRS,
    ReadText,
    WatchEntry,
    WatchList,
    normalize_plate,
    plausible_texts,
)

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
PAIRED = {(p[0], p[1]) for p in LOOKALIKE_PAIRS} | {(p[1], p[0]) for p in LOOKALIKE_PAIRS}


def read_photos(data: Path) -> list[dict[str, Any]]:
    from bench.engine_accuracy import SUBSETS, iou, load_labels
    from plate_engine.recognizer import Recognizer
    from plate_engine.types import ReadOptions

    recognizer = Recognizer(threads=2)
    rows = []
    for subset in SUBSETS:
        for label in load_labels(data / subset):
            reads = recognizer.read(label.image.read_bytes(), ReadOptions())
            scored = sorted(((iou(r.box, label.box), r) for r in reads), key=lambda s: -s[0])
            if not scored or scored[0][0] <= 0.3:
                continue
            best = scored[0][1]
            rows.append(
                {
                    "label": normalize_plate(label.plate),
                    "plate": best.plate.upper(),
                    "score": best.score,
                    "candidates": [[c.plate.upper(), c.score] for c in best.candidates],
                }
            )
    return rows


def result(row: dict[str, Any]) -> PlateResult:
    return PlateResult(
        plate=row["plate"],
        score=row["score"],
        candidates=tuple(Candidate(plate=p, score=s) for p, s in row["candidates"]),
    )


def neighbours(plate: str) -> list[str]:
    """Plates one real character away: a non-look-alike substitution, or a deletion."""
    out = []
    for i, char in enumerate(plate):
        out.append(plate[:i] + plate[i + 1 :])
        out.extend(
            plate[:i] + other + plate[i + 1 :]
            for other in ALPHABET
            if other != char and (char, other) not in PAIRED
        )
    return out


def rules(entry: str, read: PlateResult) -> dict[str, bool]:
    watch = WatchList([WatchEntry("x", entry)])
    texts = plausible_texts(read.plate, read.score, read.candidates)
    return {
        "top plate only": watch.match_texts(texts[:1]) is not None,
        "candidates by score": any(
            watch.match_texts([ReadText(t.text, t.score, 0)]) is not None for t in texts
        ),
        "as shipped": watch.match(read) is not None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/alpr-bench/dev")
    parser.add_argument("--save", type=Path)
    parser.add_argument("--load", type=Path)
    args = parser.parse_args()
    rows = json.loads(args.load.read_text()) if args.load else read_photos(args.data)
    if args.save:
        args.save.write_text(json.dumps(rows))

    confusions: Counter[str] = Counter()
    offered: Counter[str] = Counter()
    wrong = 0
    for row in rows:
        label, plate = row["label"], normalize_plate(row["plate"])
        if plate == label:
            continue
        wrong += 1
        if len(plate) == len(label):
            for a, b in zip(label, plate, strict=True):
                if a != b:
                    confusions["/".join(sorted((a, b)))] += 1
        alternatives = [normalize_plate(p) for p, _ in row["candidates"][1:]]
        for name, (mine, theirs) in {"D for 0/O": ("0O", "D"), "G/6": ("G6", "6G")}.items():
            if any(
                len(alt) == len(label)
                and any(
                    a in mine and b in theirs and (name != "G/6" or a != b)
                    for a, b in zip(label, alt, strict=True)
                )
                for alt in alternatives
            ):
                offered[name] += 1
    print(f"{len(rows)} plates found, {wrong} read wrong at the top")
    print(
        "confusions of wrong top reads:", ", ".join(f"{k} {v}" for k, v in confusions.most_common())
    )
    print("wrong top reads whose alternatives offer:", dict(offered))

    gaps: dict[int, list[float]] = {}
    for row in rows:
        top = normalize_plate(row["plate"])
        for plate, score in row["candidates"][1:]:
            distance = abs(len(top) - len(normalize_plate(plate))) or sum(
                a != b for a, b in zip(top, normalize_plate(plate), strict=True)
            )
            gaps.setdefault(min(distance, 3), []).append(row["score"] - score)
    for distance, values in sorted(gaps.items()):
        values.sort()
        print(
            f"alternatives {distance}{'+' if distance == 3 else ''} character(s) from the top: "
            f"{len(values)}, score gap to the top p10/p50/p90 "
            f"{values[len(values) // 10]:.3f}/{values[len(values) // 2]:.3f}/"
            f"{values[9 * len(values) // 10]:.3f}"
        )

    recall: Counter[str] = Counter()
    false_watch: Counter[str] = Counter()
    reads_with_false: Counter[str] = Counter()
    tried = 0
    for row in rows:
        read = result(row)
        for name, hit in rules(row["label"], read).items():
            recall[name] += hit
        hits: Counter[str] = Counter()
        for plate in neighbours(row["label"]):
            tried += 1
            for name, hit in rules(plate, read).items():
                hits[name] += hit
        false_watch.update(hits)
        reads_with_false.update(name for name, count in hits.items() if count)
    print(f"\n{'rule':<22} {'recall':>8} {'neighbours watched':>19} {'reads with one':>15}")
    for name in ("top plate only", "candidates by score", "as shipped"):
        print(
            f"{name:<22} {recall[name] / len(rows):>8.1%} {false_watch[name] / tried:>19.2%}"
            f" {reads_with_false[name] / len(rows):>15.1%}"
        )


if __name__ == "__main__":
    main()
