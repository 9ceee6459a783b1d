"""The pure watch-list matcher."""

from __future__ import annotations

import pytest

from custom_components.plate_recognizer.watchlist import (
    CONFUSABLE_COST,
    WatchEntry,
    match_plate,
    normalise_plate,
    plate_distance,
)

GATE = WatchEntry(name="Anna", plate="AB12 CDE", tolerance=1.0, tags=("resident",))
VAN = WatchEntry(name="Van", plate="XY-99-ZZ", tolerance=0.0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("ab12 cde", "AB12CDE"), ("XY-99-ZZ", "XY99ZZ"), (" n.h.k 552 ", "NHK552"), ("", "")],
)
def test_normalise(text: str, expected: str) -> None:
    assert normalise_plate(text) == expected


@pytest.mark.parametrize(
    ("first", "second", "distance"),
    [
        ("AB12CDE", "ab12-cde", 0.0),
        ("AB12CDE", "A812CDE", CONFUSABLE_COST),  # B read as 8
        ("AB12CDE", "AB1ZCDE", CONFUSABLE_COST),  # 2 read as Z
        ("S0I", "5O1", 3 * CONFUSABLE_COST),
        ("AB12CDE", "AB12CDF", 1.0),  # a genuinely different letter
        ("AB12CDE", "AB12CD", 1.0),  # a missing character
        ("AB12CDE", "XAB12CDE", 1.0),  # an extra character
        ("", "ABC", 3.0),
    ],
)
def test_distance(first: str, second: str, distance: float) -> None:
    assert plate_distance(first, second) == pytest.approx(distance)
    assert plate_distance(second, first) == pytest.approx(distance)


def test_exact_match_reports_entry_and_distance() -> None:
    match = match_plate(["ab12cde"], [VAN, GATE])
    assert match is not None
    assert match.entry is GATE
    assert match.distance == 0
    assert match.exact
    assert match.as_dict() == {
        "name": "Anna",
        "plate": "AB12 CDE",
        "read": "ab12cde",
        "distance": 0.0,
        "exact": True,
        "tags": ["resident"],
    }


def test_candidates_are_matched_and_closest_wins() -> None:
    # The top read is wrong by two; a candidate is a confusable slip away.
    match = match_plate(["AB77CDE", "A812CDE"], [GATE])
    assert match is not None
    assert match.read == "A812CDE"
    assert match.distance == pytest.approx(CONFUSABLE_COST)
    assert not match.exact


def test_tolerance_is_respected() -> None:
    assert match_plate(["XY99ZF"], [VAN]) is None  # tolerance 0
    assert match_plate(["XY99Z2"], [VAN]) is None  # even a confusable costs something
    assert match_plate(["AB12CXX"], [GATE]) is None  # 2 > 1
    assert match_plate(["", "--"], [GATE]) is None  # empty reads never match


def test_entry_round_trip() -> None:
    entry = WatchEntry.from_dict({"name": "Bob", "plate": "AB1", "tags": ["x"]})
    assert entry.tolerance == 1.0
    assert WatchEntry.from_dict(entry.as_dict()) == entry
