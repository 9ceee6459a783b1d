"""Watch-list matching: is a read plate one we care about, and why?

The one implementation behind the MQTT bridge and the Home Assistant
integration; pure, synchronous, no Home Assistant import. The flagship use is
opening a gate, so the default is strict and every match says why it matched.

The rules (docs/bridge.md and docs/home-assistant.md say the same in prose):

1. Plates are compared after :func:`normalize_plate`: upper case, letters and
   digits only (``"ab-12 cde"`` is ``"AB12CDE"``).
2. **exact**: the two texts are equal.
3. **lookalike**: same length, and every differing position holds two OCR
   look-alikes (:data:`LOOKALIKE_PAIRS`), at most :data:`MAX_LOOKALIKES` of
   them. Always allowed: the reader cannot tell a worn ``O`` from a ``0``.
4. **tolerance**: any other difference (a substitution, insertion or deletion
   of a character that is not a look-alike, or look-alikes beyond the cap) is
   a *real* difference. An entry matches with real differences only when its
   ``tolerance`` (0 by default, at most :data:`MAX_TOLERANCE`) allows that many:
   the user chose the risk that a neighbour's car differing by that many
   characters is taken for theirs.
5. **Candidates** (the reader's alternative texts) are compared only when
   the read is plausible and the candidate close to it (see
   :func:`plausible_texts`), and never excuse a real difference the top plate
   has: the top plate must be within the entry's tolerance, look-alikes aside.
6. The best match wins: fewest real differences, then fewest look-alikes,
   then the top plate before candidates (in the reader's order), then the
   earlier entry.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, cast

__all__ = [
    "CANDIDATE_MAX_GAP",
    "CANDIDATE_MIN_SCORE",
    "LOOKALIKE_PAIRS",
    "MAX_LOOKALIKES",
    "MAX_PLATE_LENGTH",
    "MAX_TOLERANCE",
    "MatchKind",
    "PlateDistance",
    "ReadText",
    "WatchEntry",
    "WatchList",
    "WatchMatch",
    "fold_lookalikes",
    "normalize_plate",
    "plate_distance",
    "plausible_texts",
    "tolerance_from_config",
]

type MatchKind = Literal["exact", "lookalike", "tolerance"]

# Characters OCR engines confuse on licence plates: a substitution of one
# for the other of a pair is a look-alike, anything else a real difference.
# Every pair is a letter and a digit. Plate formats that fix which positions
# hold letters and which digits (UK, most EU national formats, Brazil) can
# never hold both spellings, so there such a pair cannot make two real plates
# match; a letter-letter pair (D/O) or digit-digit pair would, within one
# position class of any format. Decided once, with the offline engine's reads
# of the 222 labelled photos in alpr-bench/dev (bench/watchlist_rules.py):
# its wrong top reads confused O/0 8 times, Z/2 twice, B/8 once (and B/Z,
# N/W, F/P ... which no table can safely excuse); its alternatives offer D
# for a round 0/O glyph in 8 of those 18 reads ("DSG719" for 0SG719) and G/6
# both ways ("OS6719", "RK02GAJ"), so the recogniser itself sees them alike:
# - D/0 is in (and so "AB12CDE" read as "A812C0E" is the same car), but D/O
#   is not: pairs do not chain, D and O are both letters.
# - G/6 is in.
# - Q/0 is out: Q is barred from most plate alphabets and never came up.
# A user who meets another confusion can forgive it with a tolerance of 1.
LOOKALIKE_PAIRS: tuple[str, ...] = ("O0", "I1", "B8", "S5", "Z2", "D0", "G6")
_PAIRS = frozenset((pair[i], pair[1 - i]) for pair in LOOKALIKE_PAIRS for i in range(2))


def _pair_groups() -> dict[str, str]:
    """Each character of a pair -> one representative of the pairs it chains into.

    Only a prefilter (the index of tolerance-0 entries): chained characters
    (D and O through 0) share a representative, the pair set decides.
    """
    groups: list[set[str]] = []
    for pair in LOOKALIKE_PAIRS:
        joined = [group for group in groups if group & set(pair)]
        merged = set(pair).union(*joined)
        groups = [group for group in groups if group not in joined] + [merged]
    return {char: min(group) for group in groups for char in group}


_CANONICAL = _pair_groups()

# Look-alike substitutions forgiven in one comparison. Each one doubles the
# set of distinct plates a read stands for ("8S0Z" with no cap would match
# every spelling from BSOZ to 8502). Of the engine's wrong same-length reads
# in the bench, 12 had one differing character, 3 had two and 1 had three;
# none needed more than two look-alikes. Beyond the cap, a look-alike counts
# as a real difference.
MAX_LOOKALIKES = 2

# Real differences an entry may tolerate. On a 7-character plate 2 already
# lets through any plate sharing 5 characters with it.
MAX_TOLERANCE = 2

# Plates are at most 10 characters worldwide; anything longer is not a plate
# (and bounds the work of one comparison).
MAX_PLATE_LENGTH = 16

# A candidate counts only if the read itself scores at least this, it does
# too, and it is within CANDIDATE_MAX_GAP of the top score. Plate
# Recognizer's documentation puts usable reads between 0.3 (tolerating false
# positives) and 0.7 (avoiding them); 0.5 keeps faint alternatives such as a
# third candidate at 0.01 out, and the gap an alternative the reader itself
# ranked well below its answer. Neither makes candidates safe on its own:
# 1,807 of the offline engine's 1,998 alternatives in the bench are the top
# read with one character changed, half of them within 0.21 of its score.
# Admitted on score alone, they would watch a plate one real character away
# from the car (a neighbour's) for 39.6% of the reads instead of 4.1% (the
# reads that are themselves a neighbour's plate), for 0.9 points of recall:
# hence rule 5, a candidate never excuses a real difference of the top plate.
CANDIDATE_MIN_SCORE = 0.5
CANDIDATE_MAX_GAP = 0.1

# Weight of a look-alike in the legacy single-number `distance` (payload
# field kept for automations written against it): a real difference is 1.
_LOOKALIKE_WEIGHT = 0.25


def normalize_plate(text: str) -> str:
    """Upper case, letters and digits only: separators carry no identity."""
    return "".join(char for char in text.upper() if char.isalnum())


def fold_lookalikes(text: str) -> str:
    """A normalised plate with each look-alike replaced by its group's representative.

    Two plates the matcher calls exact or look-alike (rule 3) fold to the same
    text; the converse does not hold (D and O both fold to 0, the cap of two),
    so a folded key is a prefilter: the history search indexes it.
    """
    return "".join(_CANONICAL.get(char, char) for char in text)


def tolerance_from_config(value: Any) -> int:
    """A tolerance as stored in configuration, as a count of real differences.

    Older versions stored a float edit distance (look-alikes costing 0.25);
    its whole part is the number of real edits it forgave. Values above
    MAX_TOLERANCE are read as MAX_TOLERANCE. Raises ValueError otherwise.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"tolerance must be a number of characters, got {value!r}")
    if math.isnan(value) or value < 0:
        raise ValueError(f"tolerance must be 0 to {MAX_TOLERANCE}, got {value!r}")
    return min(math.floor(value), MAX_TOLERANCE)


@dataclass(frozen=True, slots=True)
class PlateDistance:
    """How two normalised plates differ: real differences and look-alike substitutions."""

    differences: int
    lookalikes: int

    @property
    def weighted(self) -> float:
        """One number (real differences + a quarter per look-alike), for old payloads."""
        return self.differences + _LOOKALIKE_WEIGHT * self.lookalikes


_UNBOUNDED = MAX_PLATE_LENGTH * 2 + 1


def _distance(a: str, b: str, limit: int, cap: int) -> PlateDistance | None:
    """Fewest real differences (then look-alikes) turning `a` into `b`, or None above `limit`.

    An edit distance in which a look-alike substitution is free while fewer
    than `cap` have been used, and a real difference (1) after. The DP keeps,
    per cell, the real cost for each number of free look-alikes used.
    """
    if abs(len(a) - len(b)) > limit:
        return None
    if a == b:
        return PlateDistance(0, 0)
    inf = _UNBOUNDED + 1
    width = cap + 1
    previous = [[j if used == 0 else inf for used in range(width)] for j in range(len(b) + 1)]
    for i, char_a in enumerate(a, start=1):
        current = [[i if used == 0 else inf for used in range(width)]]
        row_min = i
        for j, char_b in enumerate(b, start=1):
            diagonal, above, left = previous[j - 1], previous[j], current[j - 1]
            same = char_a == char_b
            lookalike = (char_a, char_b) in _PAIRS
            cell = []
            for used in range(width):
                cost = min(above[used] + 1, left[used] + 1, diagonal[used] + (0 if same else 1))
                if lookalike and used:
                    cost = min(cost, diagonal[used - 1])
                cell.append(cost)
            current.append(cell)
            row_min = min(row_min, *cell)
        if row_min > limit:  # a row's minimum never decreases further down
            return None
        previous = current
    real, used = min((cost, used) for used, cost in enumerate(previous[-1]))
    return PlateDistance(real, used) if real <= limit else None


def plate_distance(first: str, second: str) -> PlateDistance:
    """How two plates differ after :func:`normalize_plate` (look-alikes capped).

    Symmetric; ``PlateDistance(0, 0)`` exactly when both normalise to the same text.
    """
    a = normalize_plate(first)[:MAX_PLATE_LENGTH]
    b = normalize_plate(second)[:MAX_PLATE_LENGTH]
    result = _distance(a, b, _UNBOUNDED, MAX_LOOKALIKES)
    assert result is not None  # the limit exceeds any possible cost
    return result


@dataclass(frozen=True, slots=True)
class WatchEntry:
    """One watched plate; ``tolerance`` counts the real differences it forgives (0-2)."""

    name: str
    plate: str
    owner: str | None = None
    tags: tuple[str, ...] = ()
    tolerance: int = 0
    normalized: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        normalized = normalize_plate(self.plate)
        if not normalized:
            raise ValueError(
                f"watch-list entry {self.name!r}: plate {self.plate!r} has no letters or digits"
            )
        if len(normalized) > MAX_PLATE_LENGTH:
            raise ValueError(
                f"watch-list entry {self.name!r}: plate {self.plate!r} is longer than "
                f"{MAX_PLATE_LENGTH} letters and digits"
            )
        tolerance: object = self.tolerance
        if isinstance(tolerance, bool) or not isinstance(tolerance, int):
            raise ValueError(
                f"watch-list entry {self.name!r}: tolerance must be a whole number of "
                f"characters, got {tolerance!r}"
            )
        if not 0 <= tolerance <= MAX_TOLERANCE:
            raise ValueError(
                f"watch-list entry {self.name!r}: tolerance must be 0 to {MAX_TOLERANCE}, "
                f"got {tolerance!r}"
            )
        object.__setattr__(self, "normalized", normalized)
        # Configuration loaders hand over lists; keep the entry hashable.
        tags: object = self.tags
        if not isinstance(tags, tuple):
            object.__setattr__(self, "tags", tuple(cast("Iterable[str]", tags)))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WatchEntry:
        """An entry as stored in configuration (a float tolerance is an old one)."""
        owner = data.get("owner")
        return cls(
            name=str(data["name"]),
            plate=str(data["plate"]),
            owner=str(owner) if owner else None,
            tags=tuple(str(tag) for tag in data.get("tags") or ()),
            tolerance=tolerance_from_config(data.get("tolerance", 0)),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "plate": self.plate,
            "owner": self.owner,
            "tags": list(self.tags),
            "tolerance": self.tolerance,
        }


@dataclass(frozen=True, slots=True)
class ReadText:
    """A text of a read: the top plate (``index`` 0) or its n-th candidate (1-based)."""

    text: str
    score: float | None
    index: int = 0


class _Candidate(Protocol):
    @property
    def plate(self) -> str: ...
    @property
    def score(self) -> float: ...


def plausible_texts(
    plate: str | None, score: float | None, candidates: Sequence[_Candidate] = ()
) -> list[ReadText]:
    """The texts of a read that may match: the top plate, and the candidates that count.

    A candidate counts when the read scores at least CANDIDATE_MIN_SCORE and
    the candidate both that and at least the top score minus
    CANDIDATE_MAX_GAP. Texts that normalise to nothing, to a text already
    listed, or beyond MAX_PLATE_LENGTH are left out.
    """
    texts: list[ReadText] = []
    seen: set[str] = set()

    def add(text: str, text_score: float | None, index: int) -> None:
        normalized = normalize_plate(text)
        if normalized and len(normalized) <= MAX_PLATE_LENGTH and normalized not in seen:
            seen.add(normalized)
            texts.append(ReadText(text, text_score, index))

    if plate is not None:
        add(plate, score, 0)
    if score is None or score < CANDIDATE_MIN_SCORE:
        return texts
    floor = max(CANDIDATE_MIN_SCORE, score - CANDIDATE_MAX_GAP)
    for index, candidate in enumerate(candidates, start=1):
        if candidate.score >= floor:
            add(candidate.plate, candidate.score, index)
    return texts


@dataclass(frozen=True, slots=True)
class WatchMatch:
    """A watch-list hit: which entry, through which text of the read, and why."""

    entry: WatchEntry
    kind: MatchKind
    distance: PlateDistance
    text: ReadText

    @property
    def exact(self) -> bool:
        """The top plate itself equals the entry (not one of its candidates)."""
        return self.kind == "exact" and self.text.index == 0

    @property
    def source(self) -> Literal["plate", "candidate"]:
        return "plate" if self.text.index == 0 else "candidate"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: the MQTT payload's `watchlist` and the integration's `match`."""
        return {
            "name": self.entry.name,
            "plate": self.entry.plate,
            "owner": self.entry.owner,
            "tags": list(self.entry.tags),
            "tolerance": self.entry.tolerance,
            "kind": self.kind,
            "exact": self.exact,
            "differences": self.distance.differences,
            "lookalikes": self.distance.lookalikes,
            "distance": self.distance.weighted,
            "matched_text": self.text.text,
            "matched_score": self.text.score,
            "source": self.source,
            "candidate": self.text.index,
        }


class _Read(Protocol):
    @property
    def plate(self) -> str | None: ...
    @property
    def score(self) -> float | None: ...
    @property
    def candidates(self) -> Sequence[_Candidate]: ...


class WatchList:
    """An ordered collection of :class:`WatchEntry`; order breaks ties only."""

    def __init__(self, entries: Iterable[WatchEntry] = ()) -> None:
        self._entries: tuple[WatchEntry, ...] = tuple(entries)
        # Look-alike-free spelling -> entries with it (in order): an exact or
        # look-alike match of a tolerance-0 entry is one dict lookup, however
        # long the list. Entries with a tolerance need the edit distance.
        self._by_canonical: dict[str, list[int]] = {}
        # Entries with a tolerance, with their characters counted (look-alikes as one).
        self._tolerant: list[tuple[int, Counter[str]]] = []
        for index, entry in enumerate(self._entries):
            canonical = fold_lookalikes(entry.normalized)
            self._by_canonical.setdefault(canonical, []).append(index)
            if entry.tolerance:
                self._tolerant.append((index, Counter(canonical)))

    @classmethod
    def from_dicts(cls, items: Iterable[Mapping[str, Any]]) -> WatchList:
        return cls(WatchEntry.from_dict(item) for item in items)

    @property
    def entries(self) -> tuple[WatchEntry, ...]:
        return self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def __bool__(self) -> bool:
        return bool(self._entries)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, WatchList) and other._entries == self._entries

    def __hash__(self) -> int:
        return hash(self._entries)

    def __repr__(self) -> str:
        return f"WatchList({list(self._entries)!r})"

    def match(self, read: _Read | str) -> WatchMatch | None:
        """The best entry for a read (a platereader `PlateResult` or alike), or None.

        A bare text (a plate another reader, e.g. Frigate, sent) is a read without candidates.
        """
        if isinstance(read, str):
            return self.match_texts(plausible_texts(read, None))
        return self.match_texts(plausible_texts(read.plate, read.score, read.candidates))

    def match_texts(self, texts: Sequence[ReadText]) -> WatchMatch | None:
        """The best entry for texts from :func:`plausible_texts` (the top plate first)."""
        if not self._entries or not texts:
            return None
        normalized = [normalize_plate(t.text) for t in texts]
        top = normalized[0] if texts[0].index == 0 else None
        best: tuple[int, int, int, int] | None = None  # real, look-alikes, text, entry
        best_distance = PlateDistance(0, 0)
        for text_index, text in enumerate(normalized):
            for entry_index in self._entries_near(text):
                entry = self._entries[entry_index]
                limit = entry.tolerance if best is None else min(entry.tolerance, best[0])
                distance = _distance(text, entry.normalized, limit, MAX_LOOKALIKES)
                if distance is None:
                    continue
                key = (distance.differences, distance.lookalikes, text_index, entry_index)
                if best is not None and key >= best:
                    continue
                if text_index and not self._top_within(top, entry):
                    continue
                best, best_distance = key, distance
        if best is None:
            return None
        text_index, entry_index = best[2], best[3]
        kind: MatchKind = (
            "tolerance"
            if best_distance.differences
            else "lookalike"
            if best_distance.lookalikes
            else "exact"
        )
        return WatchMatch(self._entries[entry_index], kind, best_distance, texts[text_index])

    def _entries_near(self, text: str) -> list[int]:
        """Entries that may match `text`: same spelling up to look-alikes, or within reach.

        Each real difference changes at most one character of each side, so
        an entry needing more than its tolerance of characters the text lacks
        (or has too many of), look-alikes counted as one, cannot match: a
        cheap bound that spares the edit distance for almost every entry.
        """
        canonical = fold_lookalikes(text)
        near = self._by_canonical.get(canonical, [])
        if not self._tolerant:
            return near
        counts = Counter(canonical)
        reachable = [
            index
            for index, entry_counts in self._tolerant
            if max((counts - entry_counts).total(), (entry_counts - counts).total())
            <= self._entries[index].tolerance
        ]
        return sorted({*near, *reachable})

    @staticmethod
    def _top_within(top: str | None, entry: WatchEntry) -> bool:
        """Rule 5: a candidate may not excuse a real difference of the top plate."""
        if top is None:
            return False
        # Look-alikes uncapped: the candidate may be the better spelling of them.
        return _distance(top, entry.normalized, entry.tolerance, MAX_PLATE_LENGTH) is not None
