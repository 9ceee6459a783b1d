"""One table of watch-list decisions, run through both products.

Each row is a watch list, one read (the top plate, its score and the reader's
candidates, the top plate first as the API lists it) and the decision: which
entry matched, of which kind, through which text (0 = the top plate, n = the
n-th candidate), or None. This file runs the table against the core
(`platereader.watchlist`); tests/bridge/test_watchlist.py runs it through the
bridge's pipeline and tests/ha/test_watchlist.py through the integration, so
the same plate can never again be watched in one product and not the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from platereader import Candidate, PlateResult
from platereader.watchlist import WatchList, WatchMatch

type Decision = tuple[str, str, int] | None  # entry name, kind, candidate index


@dataclass(frozen=True)
class Row:
    id: str
    entries: tuple[tuple[str, str, int], ...]  # name, plate, tolerance
    plate: str
    score: float
    candidates: tuple[tuple[str, float], ...] = ()  # after the top plate
    expected: Decision = None

    def watchlist_config(self) -> list[dict[str, Any]]:
        """The entries as both products store them."""
        return [
            {"name": name, "plate": plate, "tolerance": tolerance, "tags": []}
            for name, plate, tolerance in self.entries
        ]

    def api_result(self) -> dict[str, Any]:
        """The read as the Plate Recognizer API answers it (lower case, top plate first)."""
        return {
            "plate": self.plate.lower(),
            "score": self.score,
            "dscore": 0.9,
            "box": {"xmin": 10, "ymin": 10, "xmax": 110, "ymax": 40},
            "candidates": [
                {"plate": text.lower(), "score": score}
                for text, score in ((self.plate, self.score), *self.candidates)
            ],
        }

    def plate_result(self) -> PlateResult:
        data = self.api_result()
        return PlateResult(
            plate=data["plate"],
            score=data["score"],
            candidates=tuple(Candidate(**c) for c in data["candidates"]),
        )


FAMILY = ("Family car", "AB12 CDE", 0)
FAMILY_1 = ("Family car", "AB12 CDE", 1)

MATRIX: tuple[Row, ...] = (
    Row("exact", (FAMILY,), "AB12CDE", 0.9, expected=("Family car", "exact", 0)),
    Row("normalised read", (FAMILY,), "ab-12 cde", 0.9, expected=("Family car", "exact", 0)),
    Row(
        "normalised entry",
        (("Van", "xy 99-zz", 0),),
        "XY99ZZ",
        0.9,
        expected=("Van", "exact", 0),
    ),
    # One real character off: a neighbour's car, not ours, unless the user said so.
    Row("one letter off", (FAMILY,), "AB12CDF", 0.9),
    Row("one missing", (FAMILY,), "AB12CD", 0.9),
    Row("first letter off", (FAMILY,), "XB12CDE", 0.9),
    Row(
        "one letter off, tolerance 1",
        (FAMILY_1,),
        "AB12CDF",
        0.9,
        expected=("Family car", "tolerance", 0),
    ),
    Row(
        "one missing, tolerance 1",
        (FAMILY_1,),
        "AB12CD",
        0.9,
        expected=("Family car", "tolerance", 0),
    ),
    Row(
        "first letter off, tolerance 1",
        (FAMILY_1,),
        "XB12CDE",
        0.9,
        expected=("Family car", "tolerance", 0),
    ),
    Row("two off, tolerance 1", (FAMILY_1,), "XB12CDF", 0.9),
    # Look-alikes: the same car read by a camera that cannot tell B from 8.
    Row("look-alikes B/8 D/0", (FAMILY,), "A812C0E", 0.9, expected=("Family car", "lookalike", 0)),
    Row(
        "look-alikes, lower case",
        (FAMILY,),
        "a812 c0e",
        0.9,
        expected=("Family car", "lookalike", 0),
    ),
    Row(
        "look-alike G/6",
        (("Van", "G123 ABC", 0),),
        "6123ABC",
        0.9,
        expected=("Van", "lookalike", 0),
    ),
    Row("D/O is no look-alike", (FAMILY,), "AB12COE", 0.9),
    Row("three look-alikes are too many", (FAMILY,), "A8I2C0E", 0.9),
    Row("8S0Z does not match everything", (("Quad", "BSOZ", 0),), "8502", 0.9),
    # PB642 on the watch list: the bridge published "Family car" for all four.
    *(
        Row(f"PB642 is not {read}", (("Family car", "PB642", 0),), read, 0.9)
        for read in ("PB641", "PB643", "PB646", "PB647")
    ),
    # Candidates: only for a plausible read, close to its score, never excusing a real difference.
    Row(
        "faint third candidate",
        (FAMILY,),
        "ZZ99ZZZ",
        0.93,
        (("ZZ99ZZ2", 0.6), ("AB12CDE", 0.01)),
    ),
    Row("candidate of an implausible read", (FAMILY,), "A8I2C0E", 0.45, (("AB12C0E", 0.44),)),
    Row(
        "candidate fixes look-alikes",
        (FAMILY,),
        "A8I2C0E",
        0.9,
        (("AB12C0E", 0.88),),
        expected=("Family car", "lookalike", 2),
    ),
    Row("candidate far below the top", (FAMILY,), "A8I2C0E", 0.9, (("AB12C0E", 0.7),)),
    Row(
        "candidate cannot excuse a real difference",
        (FAMILY,),
        "AB12CDF",
        0.95,
        (("AB12CDE", 0.94),),
    ),
    Row(
        "with tolerance the exact candidate wins",
        (FAMILY_1,),
        "AB12CDF",
        0.95,
        (("AB12CDE", 0.94),),
        expected=("Family car", "exact", 2),
    ),
    # Several entries: fewest real differences first.
    Row(
        "the closer entry wins",
        (FAMILY_1, ("Neighbour", "AB12CDF", 0)),
        "AB12CDF",
        0.9,
        expected=("Neighbour", "exact", 0),
    ),
)


def decision(match: dict[str, Any] | None) -> Decision:
    """The decision in a published match (the bridge's `watchlist`, the integration's `match`)."""
    if match is None:
        return None
    return (match["name"], match["kind"], match["candidate"])


def core_decision(match: WatchMatch | None) -> Decision:
    return None if match is None else (match.entry.name, match.kind, match.text.index)


@pytest.mark.parametrize("row", MATRIX, ids=lambda row: row.id)
def test_core(row: Row) -> None:
    watchlist = WatchList.from_dicts(row.watchlist_config())
    match = watchlist.match(row.plate_result())
    assert core_decision(match) == row.expected
    # What both products publish says the same.
    assert decision(match.as_dict() if match else None) == row.expected
    if match is not None:
        assert match.as_dict()["exact"] == (row.expected == (row.expected[0], "exact", 0))
