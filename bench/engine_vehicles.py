"""Vehicles of the offline engine on the labelled dev photos: found, type shares, colour.

Usage (from the repository root):

    .venv/bin/python bench/engine_vehicles.py [--data ../shared/alpr-bench/dev] [--verbose]

Per half of the dev photos (bench/_halves.py: "a" is the half tuned on, "b" is untouched)
it prints:

- vehicle found: the share of labelled plates that the engine puts on a vehicle
  (plate_engine.vehicles.owner with the labelled plate box);
- the types a person gave the vehicles COCO calls "car" / "truck" (bench/vehicle_labels.csv),
  the source of CAR_IS_SEDAN and TRUCK_TYPE_SHARE in plate_engine/vehicles.py;
- colour accuracy on the vehicles labelled with a colour (photos whose colour a person could
  not name - two-tone, champagne, teal, purple - are labelled with no colour and skipped),
  counting "unknown" answers apart (an abstention, not a wrong colour), and the confusions.

The labels were made by looking at the vehicle crops of the dev photos; the photos stay in
../shared (AGPL-3.0, never copied into this repository).
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._halves import half_of  # noqa: E402
from bench.engine_accuracy import load_labels  # noqa: E402
from plate_engine import vehicles  # noqa: E402
from plate_engine.colour import vehicle_colour  # noqa: E402
from plate_engine.decode import decode_image  # noqa: E402
from plate_engine.models import Gate, Model, default_slots  # noqa: E402

LABELS = ROOT / "bench" / "vehicle_labels.csv"


@dataclass
class Tally:
    plates: int = 0
    found: int = 0
    coloured: int = 0
    right: int = 0
    unknown: int = 0
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    types: Counter[tuple[int, str]] = field(default_factory=Counter)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/alpr-bench/dev")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()

    with LABELS.open(newline="") as f:
        labelled = {row["image"]: row for row in csv.DictReader(f)}
    detector = vehicles.VehicleDetector(Model(vehicles.MODEL_PATH, 2, Gate(default_slots())))
    tallies = {"a": Tally(), "b": Tally()}
    for subset in ("us", "eu", "br"):
        for label in load_labels(args.data / subset):
            key = f"{subset}/{label.image.name}"
            t = tallies[half_of(key)]
            decoded = decode_image(label.image.read_bytes())
            found = vehicles.owner(label.box, detector.detect(decoded.image), decoded.scale)
            t.plates += 1
            if found is None:
                if args.verbose:
                    print(f"{key}\tno vehicle")
                continue
            t.found += 1
            row = labelled.get(key)
            if row is None:
                continue
            t.types[(found.coco, row["type"])] += 1
            if not row["colour"]:
                continue
            s = decoded.scale
            rect = (int(found.x0), int(found.y0), int(found.x1), int(found.y1))
            box = label.box
            plate = (int(box.xmin / s), int(box.ymin / s), int(box.xmax / s), int(box.ymax / s))
            colour, score = vehicle_colour(decoded.image, rect, plate)
            t.coloured += 1
            t.right += colour == row["colour"]
            t.unknown += colour == "unknown"
            if colour != row["colour"]:
                t.confusion[(row["colour"], colour)] += 1
                if args.verbose:
                    print(f"{key}\tcolour {row['colour']} -> {colour} ({score:.2f})")

    print(
        f"{'half':<5} {'plates':>6} {'vehicle':>8} {'coloured':>8} {'colour ok':>9} {'unknown':>8}"
    )
    for name, t in tallies.items():
        print(
            f"{name:<5} {t.plates:>6} {t.found / max(1, t.plates):>8.1%} {t.coloured:>8}"
            f" {t.right / max(1, t.coloured):>9.1%} {t.unknown:>8}"
        )
    every = tallies["a"].types + tallies["b"].types
    for coco, name in ((vehicles.COCO_CAR, "car"), (vehicles.COCO_TRUCK, "truck")):
        kinds = {k: n for (c, k), n in every.items() if c == coco}
        total = max(1, sum(kinds.values()))
        shares = ", ".join(
            f"{k} {n / total:.0%}" for k, n in sorted(kinds.items(), key=lambda x: -x[1])
        )
        print(f"COCO {name} ({total} labelled): {shares}")
    for name, t in tallies.items():
        wrong = ", ".join(f"{a}->{b} {n}" for (a, b), n in t.confusion.most_common())
        print(f"half {name} confusions: {wrong or 'none'}")


if __name__ == "__main__":
    main()
