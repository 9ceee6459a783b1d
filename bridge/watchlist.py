"""Watch-list matching: is a read plate one we care about?

A plate reader's top prediction is often one character off (``0`` read as
``O``, ``8`` as ``B``), so an exact string comparison misses watched plates.
Matching therefore uses a weighted Levenshtein distance on normalised text in
which the usual OCR look-alike substitutions are cheap, and each watch-list
entry says how much distance it tolerates.

Everything here is pure and synchronous; the bridge calls :meth:`WatchList.match`
once per read with the top plate and the reader's alternative candidates.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

__all__ = [
    "LOOKALIKE_COST",
    "LOOKALIKE_GROUPS",
    "WatchEntry",
    "WatchList",
    "WatchMatch",
    "normalize_plate",
    "plate_distance",
]

# Cost of substituting one look-alike character for another. Low enough that a
# plate with one or two OCR confusions still fits the default tolerance (1.0),
# high enough that distance 0 stays reserved for an exact (normalised) match.
LOOKALIKE_COST = 0.25

# Characters OCR engines confuse on licence plates. Every pair inside a group
# costs LOOKALIKE_COST. Groups rather than pairs so the cost stays consistent:
# if O~0 and D~0 are cheap, reading D as O must be cheap too.
LOOKALIKE_GROUPS: tuple[frozenset[str], ...] = (
    # Round glyphs. D and Q lose their straight stem / tail at low resolution
    # or under motion blur and come back as O or 0; plate fonts (e.g. FE-Schrift,
    # UK Charles Wright) make 0 and O nearly identical in the first place.
    frozenset("O0DQ"),
    # Vertical strokes: I and 1 differ only by serifs most plate fonts lack.
    frozenset("I1"),
    frozenset("B8"),
    frozenset("S5"),
    frozenset("Z2"),
    # G and 6 share the open bowl; a worn or dirty G reads as 6 and back.
    frozenset("G6"),
)

_LOOKALIKE_PAIRS: frozenset[tuple[str, str]] = frozenset(
    (a, b) for group in LOOKALIKE_GROUPS for a in group for b in group if a != b
)

# Float comparisons against a tolerance: 0.25 * 4 is exact in binary, but sums
# like 0.25 + 1 + ... are compared with a little slack so that a distance that
# "equals" the tolerance on paper is always accepted.
_EPSILON = 1e-9


def normalize_plate(text: str) -> str:
    """Upper-case ``text`` and keep only letters and digits.

    Plate readers and people write the same plate as ``"ab-123 c"``,
    ``"AB 123C"`` or ``"AB.123.C"``; separators carry no identity.
    """
    return "".join(ch for ch in text.upper() if ch.isalnum())


def _substitution_cost(a: str, b: str) -> float:
    if a == b:
        return 0.0
    if (a, b) in _LOOKALIKE_PAIRS:
        return LOOKALIKE_COST
    return 1.0


def _bounded_distance(a: str, b: str, limit: float) -> float | None:
    """Weighted Levenshtein distance of two *normalised* strings, or None if it exceeds ``limit``.

    Insertions and deletions cost 1, substitutions 1 or LOOKALIKE_COST. The
    length difference is a lower bound (each extra character needs an
    insertion), and a DP row whose minimum already exceeds ``limit`` can only
    grow, so both let us stop early: matching hundreds of entries stays cheap.
    """
    if abs(len(a) - len(b)) > limit + _EPSILON:
        return None
    if a == b:
        return 0.0
    if not a or not b:
        return float(max(len(a), len(b)))
    previous = [float(j) for j in range(len(b) + 1)]
    for i, ca in enumerate(a, start=1):
        current = [float(i)]
        row_min = current[0]
        for j, cb in enumerate(b, start=1):
            value = min(
                previous[j] + 1.0,  # delete ca
                current[j - 1] + 1.0,  # insert cb
                previous[j - 1] + _substitution_cost(ca, cb),
            )
            current.append(value)
            row_min = min(row_min, value)
        if row_min > limit + _EPSILON:
            return None
        previous = current
    result = previous[-1]
    return result if result <= limit + _EPSILON else None


def plate_distance(a: str, b: str) -> float:
    """Weighted edit distance between two plates after :func:`normalize_plate`.

    0 exactly when both normalise to the same text; a substitution between
    look-alike characters (see LOOKALIKE_GROUPS) costs LOOKALIKE_COST, any
    other edit 1. Symmetric, because every cost is.
    """
    na, nb = normalize_plate(a), normalize_plate(b)
    result = _bounded_distance(na, nb, float("inf"))
    assert result is not None  # an infinite limit never cuts off
    return result


@dataclass(frozen=True)
class WatchEntry:
    """One watched plate.

    ``tolerance`` is the largest :func:`plate_distance` still counted as a
    match: 0 means exact only, the default 1.0 allows one arbitrary edit or up
    to four look-alike confusions.
    """

    name: str
    plate: str
    owner: str | None = None
    tags: tuple[str, ...] = ()
    tolerance: float = 1.0

    def __post_init__(self) -> None:
        if not normalize_plate(self.plate):
            raise ValueError(
                f"watch-list entry {self.name!r}: plate {self.plate!r} has no letters or digits"
            )
        if not self.tolerance >= 0:  # also rejects NaN
            raise ValueError(
                f"watch-list entry {self.name!r}: tolerance must be >= 0, got {self.tolerance!r}"
            )
        # Accept lists from YAML/JSON config (typed as a tuple, but config
        # loaders pass lists) and keep the dataclass hashable.
        tags: object = self.tags
        if not isinstance(tags, tuple):
            object.__setattr__(self, "tags", tuple(cast("Iterable[str]", tags)))

    @property
    def normalized_plate(self) -> str:
        return normalize_plate(self.plate)


@dataclass(frozen=True)
class WatchMatch:
    """A watch-list hit: which entry, on which text, how far off."""

    entry: WatchEntry
    matched_text: str
    distance: float
    exact: bool
    # Where matched_text came from: the reader's top prediction or one of its candidates.
    source: Literal["plate", "candidate"] = field(default="plate")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for MQTT payloads."""
        return {
            "name": self.entry.name,
            "plate": self.entry.plate,
            "owner": self.entry.owner,
            "tags": list(self.entry.tags),
            "matched_text": self.matched_text,
            "distance": self.distance,
            "exact": self.exact,
            "source": self.source,
        }


class WatchList:
    """An ordered collection of :class:`WatchEntry` with fast matching.

    Entry order matters only to break ties, so put the more specific or more
    important entries first.
    """

    def __init__(self, entries: Iterable[WatchEntry]) -> None:
        self._entries: tuple[WatchEntry, ...] = tuple(entries)
        self._normalized: tuple[str, ...] = tuple(e.normalized_plate for e in self._entries)
        # Normalised plate -> index of the first entry with it: the exact pass
        # is a dict lookup per text, whatever the list's size.
        self._exact: dict[str, int] = {}
        for index, plate in enumerate(self._normalized):
            self._exact.setdefault(plate, index)

    @property
    def entries(self) -> tuple[WatchEntry, ...]:
        return self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def __bool__(self) -> bool:
        return bool(self._entries)

    def match(self, plate: str | None, candidates: Sequence[str] = ()) -> WatchMatch | None:
        """Best entry for a read, or None.

        Exact (normalised) matches on the top plate or any candidate win
        first. Otherwise the closest entry within its own tolerance wins. Ties
        are broken by lower distance, then top prediction before candidates
        (in the reader's order), then entry order, so the result is
        deterministic.
        """
        if not self._entries:
            return None
        texts: list[tuple[str, str, Literal["plate", "candidate"]]] = []
        if plate is not None:
            texts.append((plate, normalize_plate(plate), "plate"))
        texts.extend((c, normalize_plate(c), "candidate") for c in candidates)
        texts = [t for t in texts if t[1]]  # empty after normalisation: nothing to match

        # Pass 1: exact. Source order first, then entry order (the dict keeps the first entry).
        for original, normalized, source in texts:
            index = self._exact.get(normalized)
            if index is not None:
                return WatchMatch(self._entries[index], original, 0.0, True, source)

        # Pass 2: fuzzy. Keep the best (distance, source index, entry index).
        best: tuple[float, int, int] | None = None
        for text_index, (_original, normalized, _source) in enumerate(texts):
            for entry_index, entry in enumerate(self._entries):
                # Anything worse than the best found so far can be cut off, but
                # an equal distance can still win on the later tie-breakers only
                # if it comes earlier — and we iterate in that order — so the
                # bound is the smaller of tolerance and best distance.
                limit = entry.tolerance if best is None else min(entry.tolerance, best[0])
                distance = _bounded_distance(normalized, self._normalized[entry_index], limit)
                if distance is None:
                    continue
                key = (distance, text_index, entry_index)
                if best is None or key < best:
                    best = key
        if best is None:
            return None
        distance, text_index, entry_index = best
        original, _normalized, source = texts[text_index]
        return WatchMatch(self._entries[entry_index], original, distance, False, source)
