"""Licence-plate formats per region, and which region a plate string belongs to.

A format is a sequence of character classes: `L` letter, `N` digit, `A` either, with a
prior weight (how common it is in its region). `formats.choose` ranks OCR strings with
these; `region_of` scores a final string's region.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache


@dataclass(frozen=True, slots=True)
class PlateFormat:
    region: str
    pattern: str  # over L/N/A; for vanity formats the class of every position
    weight: float  # prior: how common this format is in its region, 0..1
    vanity: bool = False  # personalised plate: any letters, digits optional

    def __len__(self) -> int:
        return len(self.pattern)

    @property
    def weak(self) -> bool:
        """Vanity and digits-only formats also fit badges, phone numbers, street numbers."""
        return self.vanity or set(self.pattern) == {"N"}


def _fmts(region: str, spec: Iterable[tuple[str, float]]) -> list[PlateFormat]:
    return [PlateFormat(region, p, w) for p, w in spec]


def _vanity(region: str, lengths: range, weight: float) -> list[PlateFormat]:
    return [PlateFormat(region, "A" * n, weight, vanity=True) for n in lengths]


# Prior of a personalised plate of any letters and digits: low, since it fits anything,
# yet above an unmatched read so that a clean all-letter read can stand.
VANITY_WEIGHT = 0.03

# Formats currently issued or common on the road. Weights are relative within a region.
_US_COMMON: list[tuple[str, float]] = [
    ("LLLNNNN", 1.0),  # NY, TX, PA, GA, MI, OH, NC, VA, WA, ...
    ("NLLLNNN", 1.0),  # CA
    ("LLNLNL", 1.0),  # fleet / dealer series (AB1C2D), the commonest in our US photos
    ("LLNLNN", 0.3),
    ("LLLNNN", 0.8),
    ("NNNLLL", 0.6),
    ("NNLNLL", 0.4),
    ("LLNNNNN", 0.5),  # IL
    ("LNNNNNN", 0.6),
    ("NNNNNNN", 0.4),
    ("NLLNNN", 0.5),
    ("LLLLNN", 0.5),
    ("LNNNLL", 0.5),
    ("NNNNLL", 0.4),
    ("LLLNNNL", 0.3),
    ("LLNNNN", 0.4),
    ("NLLNNNN", 0.4),
    ("LLLLNNN", 0.4),
    ("NNNLNNN", 0.3),
    ("LLLNLL", 0.3),
]

_DE: list[tuple[str, float]] = []
for _a in (1, 2, 3):
    for _b in (1, 2):
        for _c in (1, 2, 3, 4):
            if _a + _b + _c <= 8:
                # German formats cover almost any letters-then-digits string: keep their
                # weight modest so they do not outvote a specific format elsewhere.
                # (The E/H suffix of electric and historic cars is left out: a letter
                # class would let any trailing letter through.)
                _DE.append(("L" * (_a + _b) + "N" * _c, 0.3 if _c >= 2 else 0.1))

_PL = [
    ("LLNNNNN", 0.6),
    ("LLNNNNL", 0.3),
    ("LLNNNLL", 0.3),
    ("LLNLNNN", 0.3),
    ("LLNLLNN", 0.3),
    ("LLLNNNN", 0.8),
    ("LLLNNNL", 0.3),
    ("LLLNNLL", 0.3),
    ("LLLNLNN", 0.2),
    ("LLLNLLN", 0.2),
    ("LLLLNNN", 0.2),
]

# Dutch side codes: thirteen patterns that between them fit most 6-character strings,
# so each weighs little outside a request for "nl".
_NL = [
    (p, 0.3)
    for p in (
        "LLNNNN",
        "NNNNLL",
        "NNLLNN",
        "LLNNLL",
        "LLLLNN",
        "NNLLLL",
        "NNLLLN",
        "NLLLNN",
        "LLNNNL",
        "LNNNLL",
        "LLLNNL",
        "NLLNNN",
        "NNNLLN",
    )
]

FORMATS: dict[str, list[PlateFormat]] = {
    "us": _fmts("us", _US_COMMON) + _vanity("us", range(2, 9), VANITY_WEIGHT),
    "us-ca": _fmts("us-ca", [("NLLLNNN", 1.0), ("LLLNNN", 0.2), ("NNNLLL", 0.2)])
    + _vanity("us-ca", range(2, 8), VANITY_WEIGHT),
    "us-ny": _fmts("us-ny", [("LLLNNNN", 1.0), ("LLLNNN", 0.2), ("NNNLLL", 0.2)])
    + _vanity("us-ny", range(2, 9), VANITY_WEIGHT),
    "us-tx": _fmts("us-tx", [("LLLNNNN", 1.0), ("LLNLNNN", 0.4), ("LLLNNN", 0.2)])
    + _vanity("us-tx", range(2, 8), VANITY_WEIGHT),
    "us-fl": _fmts("us-fl", [("LLLLNN", 1.0), ("LNNNLL", 0.8), ("NNNLLL", 0.5), ("LLLNLL", 0.5)])
    + _vanity("us-fl", range(2, 8), VANITY_WEIGHT),
    "us-pa": _fmts("us-pa", [("LLLNNNN", 1.0)]) + _vanity("us-pa", range(2, 9), VANITY_WEIGHT),
    "us-il": _fmts("us-il", [("LLNNNNN", 1.0), ("LNNNNNN", 0.5)])
    + _vanity("us-il", range(2, 8), VANITY_WEIGHT),
    "gb": _fmts("gb", [("LLNNLLL", 1.0), ("LNNNLLL", 0.3), ("LLLNNNL", 0.2)]),
    "de": _fmts("de", _DE),
    "fr": _fmts("fr", [("LLNNNLL", 1.0), ("NNNLLLNN", 0.3), ("NNNNLLNN", 0.2), ("NNNLLNN", 0.2)]),
    "it": _fmts("it", [("LLNNNLL", 1.0)]),
    "es": _fmts("es", [("NNNNLLL", 1.0), ("LNNNNLL", 0.3), ("LLNNNNLL", 0.3), ("LLNNNNL", 0.2)]),
    "nl": _fmts("nl", _NL),
    "pl": _fmts("pl", _PL),
    "cz": _fmts("cz", [("NLNNNNN", 1.0), ("NLLNNNN", 0.4)]),
    "sk": _fmts("sk", [("LLNNNLL", 1.0)]),
    "br": _fmts("br", [("LLLNNNN", 1.0), ("LLLNLNN", 1.0)]),
    "mx": _fmts("mx", [("LLLNNNN", 1.0), ("LLLNNNL", 0.8), ("NNNLLL", 0.3), ("LLNNNNN", 0.3)]),
}

# When the caller names no region, every region competes; ties go to this order (the
# first region of the list is the fallback `region_code` of a read matching nothing).
DEFAULT_REGION = "us"
_REGION_ORDER = list(FORMATS)

# Weight of a US state's own formats when no region is requested.
STATE_WEIGHT = 0.5

# With regions requested, other regions' formats still count (a foreign car) at this
# fraction of their weight.
FOREIGN_WEIGHT = 0.25


def known_regions() -> list[str]:
    return list(FORMATS)


def formats_for(regions: Sequence[str]) -> tuple[PlateFormat, ...]:
    """The formats of the requested regions; "us" also covers its states and vice versa.

    Unknown region codes contribute nothing (callers pass the API's full country list).
    """
    return _formats_for(tuple(r.lower() for r in regions))


# Keyed by a request's regions: bounded, since every request may name a new set.
@lru_cache(maxsize=64)
def _formats_for(regions: tuple[str, ...]) -> tuple[PlateFormat, ...]:
    out: list[PlateFormat] = []
    for code in regions:
        if code in FORMATS:
            out.extend(FORMATS[code])
        if code.startswith("us-") and code not in FORMATS:
            out.extend(PlateFormat(code, f.pattern, f.weight, f.vanity) for f in FORMATS["us"])
        elif code.startswith("us-"):
            # A state's own formats first, but cars from other states drive there too.
            out.extend(
                PlateFormat(code, f.pattern, f.weight * 0.5, f.vanity) for f in FORMATS["us"]
            )
    return tuple(out)


@cache
def all_formats() -> tuple[PlateFormat, ...]:
    """Every region's formats, for reads with no region requested.

    A US state is a small part of the plates on the road: its own formats count half
    (as the generic "us" list has them at their national weight).
    """
    return tuple(
        scaled(f, STATE_WEIGHT) if "-" in f.region else f for fs in FORMATS.values() for f in fs
    )


def signature(text: str) -> str:
    """The class pattern of a string: "AB123CD" -> "LLNNNLL"."""
    return "".join("N" if c.isdigit() else "L" for c in text)


def matches(text: str, fmt: PlateFormat) -> bool:
    if len(text) != len(fmt):
        return False
    return all(
        cls == "A" or cls == sig for cls, sig in zip(fmt.pattern, signature(text), strict=True)
    )


def scaled(f: PlateFormat, factor: float) -> PlateFormat:
    return PlateFormat(f.region, f.pattern, f.weight * factor, f.vanity)


def region_of(text: str, regions: Sequence[str] = (), strict: bool = False) -> tuple[str, float]:
    """(region code, score) for a final plate string.

    Score: the winning region's best matching weight over the sum across regions, so a
    format unique to one region (Mercosul LLLNLNN) scores high and a shared one
    (LLLNNNN: br, us, mx, pl) lower. Vanity formats fit anything: they only count when
    no regular format matches. Requested regions come first; a read matching none of
    them is scored against all regions (unless strict), and failing that gets the first
    requested region (or DEFAULT_REGION) with a low score.
    """
    scored = _region_scores(text, formats_for(regions) if regions else all_formats())
    if scored is None and regions and not strict:
        scored = _region_scores(text, all_formats())
    if scored is None:
        return (regions[0].lower() if regions else DEFAULT_REGION), 0.1
    order = [r.lower() for r in regions] + _REGION_ORDER

    def preference(region: str) -> tuple[float, int]:
        # Ties go to the caller's order, then to FORMATS order.
        position = order.index(region) if region in order else len(order)
        return scored[region], -position

    code = max(scored, key=preference)
    return code, round(scored[code] / sum(scored.values()), 3)


def _region_scores(text: str, candidates: Sequence[PlateFormat]) -> dict[str, float] | None:
    for allow_vanity in (False, True):
        per_region: dict[str, float] = {}
        for f in candidates:
            if f.vanity == allow_vanity and matches(text, f):
                per_region[f.region] = max(per_region.get(f.region, 0.0), f.weight)
        if per_region:
            return per_region
    return None


def plausible_vanity(text: str) -> bool:
    """Vanity text still needs to look like a plate: 2-8 characters, not one repeated."""
    return 2 <= len(text) <= 8 and len(set(text)) > 1
