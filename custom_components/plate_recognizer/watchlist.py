"""Watch-list matching: is a read plate one of ours, allowing for OCR slips?

Pure Python, no Home Assistant import, so it is easy to test on its own.

A plate matches an entry when, after normalisation (upper case, only letters
and digits), the edit distance between the two is within the entry's
tolerance. Substituting characters OCR confuses (O/0, I/1, B/8, S/5, Z/2)
costs `CONFUSABLE_COST` instead of 1, so "AB12 CDE" read as "A812CDE" is
0.25 away, while a genuinely different letter is 1 away.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

CONFUSABLE_COST = 0.25
_CONFUSABLE_PAIRS = ("O0", "I1", "B8", "S5", "Z2")
_CONFUSABLE = frozenset(frozenset(pair) for pair in _CONFUSABLE_PAIRS)


def normalise_plate(text: str) -> str:
    """Upper case, without spaces, dashes or any other separator."""
    return "".join(char for char in text.upper() if char.isalnum())


def substitution_cost(a: str, b: str) -> float:
    if a == b:
        return 0.0
    if frozenset((a, b)) in _CONFUSABLE:
        return CONFUSABLE_COST
    return 1.0


def plate_distance(first: str, second: str) -> float:
    """Weighted Levenshtein distance between two plates (normalised first)."""
    a, b = normalise_plate(first), normalise_plate(second)
    if a == b:
        return 0.0
    previous = [float(j) for j in range(len(b) + 1)]
    for i, char_a in enumerate(a, start=1):
        current = [float(i)]
        for j, char_b in enumerate(b, start=1):
            current.append(
                min(
                    previous[j] + 1.0,  # deletion
                    current[j - 1] + 1.0,  # insertion
                    previous[j - 1] + substitution_cost(char_a, char_b),
                )
            )
        previous = current
    return previous[-1]


@dataclass(frozen=True, slots=True)
class WatchEntry:
    """One plate we care about."""

    name: str
    plate: str
    tolerance: float = 1.0
    tags: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WatchEntry:
        return cls(
            name=str(data["name"]),
            plate=str(data["plate"]),
            tolerance=float(data.get("tolerance", 1.0)),
            tags=tuple(str(tag) for tag in data.get("tags", ())),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "plate": self.plate,
            "tolerance": self.tolerance,
            "tags": list(self.tags),
        }


@dataclass(frozen=True, slots=True)
class WatchMatch:
    """Which entry matched, through which read text, and how far apart they are."""

    entry: WatchEntry
    read: str
    distance: float
    exact: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "exact", self.distance == 0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.entry.name,
            "plate": self.entry.plate,
            "read": self.read,
            "distance": self.distance,
            "exact": self.exact,
            "tags": list(self.entry.tags),
        }


def match_plate(texts: Iterable[str], entries: Sequence[WatchEntry]) -> WatchMatch | None:
    """The closest entry to any of `texts` (plate and candidates) within its tolerance.

    Ties go to the earlier text (the top prediction), then the earlier entry.
    """
    best: WatchMatch | None = None
    for text in texts:
        if not normalise_plate(text):
            continue
        for entry in entries:
            distance = plate_distance(text, entry.plate)
            if distance > entry.tolerance:
                continue
            if best is None or distance < best.distance:
                best = WatchMatch(entry=entry, read=text, distance=distance)
    return best
