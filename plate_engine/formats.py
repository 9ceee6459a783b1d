"""Licence-plate formats per region, and choosing a plate text from OCR alternatives.

A format is a sequence of character classes: `L` letter, `N` digit, `A` either. Given the
OCR's per-character distributions, the best string for a format picks, at each position,
the likeliest character of the allowed class: that is how O/0, I/1, B/8, S/5, Z/2 are
settled by position (a `0` where a Mercosul plate has a letter becomes `O`, an `O` where a
Californian plate has a digit becomes `0`). Each candidate string is then ranked by
OCR probability x the prior of the best format it matches; formats of the requested
regions weigh more, and with `strict` nothing outside them survives.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_DIGITS = np.array([c.isdigit() for c in ALPHABET])
_LETTERS = ~_DIGITS
_CLASS_MASK = {"N": _DIGITS, "L": _LETTERS, "A": np.ones(36, dtype=bool)}

# Look-alike characters: when the OCR saw the right shape but the wrong class, the other
# class's look-alike gets at least this share of the read character's probability, so a
# format can still settle it (the network often gives "0" 1e-6 on a crisp "O"). O/0 are
# drawn identically on many plates, so their floor is high; rarer confusions get less.
_LOOKALIKE: dict[str, tuple[str, float]] = {
    "O": ("0", 0.5),
    "0": ("O", 0.5),
    "D": ("0", 0.1),
    "Q": ("0", 0.1),
    "I": ("1", 0.3),
    "1": ("I", 0.3),
    "L": ("1", 0.05),
    "T": ("1", 0.05),
    "Z": ("2", 0.2),
    "2": ("Z", 0.2),
    "B": ("8", 0.2),
    "8": ("B", 0.2),
    "S": ("5", 0.2),
    "5": ("S", 0.2),
    "G": ("6", 0.1),
    "6": ("G", 0.1),
    "A": ("4", 0.05),
    "4": ("A", 0.05),
    "7": ("T", 0.05),
    "J": ("3", 0.02),
    "U": ("0", 0.02),
}


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


# Formats currently issued or common on the road. Weights are relative within a region.
_US_COMMON: list[tuple[str, float]] = [
    ("LLLNNNN", 1.0),  # NY, TX, PA, GA, MI, OH, NC, VA, WA, ...
    ("NLLLNNN", 1.0),  # CA
    ("LLNLNL", 1.0),  # fleet / dealer series (AB1C2D), the commonest in our US photos
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
                _DE.append(("L" * (_a + _b) + "N" * _c, 0.4 if _c >= 2 else 0.2))
                if _a + _b + _c < 8:
                    _DE.append(("L" * (_a + _b) + "N" * _c + "L", 0.05))  # E/H suffix

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

_NL = [
    (p, 0.5)
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
    "us": _fmts("us", _US_COMMON) + _vanity("us", range(2, 9), 0.08),
    "us-ca": _fmts("us-ca", [("NLLLNNN", 1.0), ("LLLNNN", 0.2), ("NNNLLL", 0.2)])
    + _vanity("us-ca", range(2, 8), 0.08),
    "us-ny": _fmts("us-ny", [("LLLNNNN", 1.0), ("LLLNNN", 0.2), ("NNNLLL", 0.2)])
    + _vanity("us-ny", range(2, 9), 0.08),
    "us-tx": _fmts("us-tx", [("LLLNNNN", 1.0), ("LLNLNNN", 0.4), ("LLLNNN", 0.2)])
    + _vanity("us-tx", range(2, 8), 0.08),
    "us-fl": _fmts("us-fl", [("LLLLNN", 1.0), ("LNNNLL", 0.8), ("NNNLLL", 0.5), ("LLLNLL", 0.5)])
    + _vanity("us-fl", range(2, 8), 0.08),
    "us-pa": _fmts("us-pa", [("LLLNNNN", 1.0)]) + _vanity("us-pa", range(2, 9), 0.08),
    "us-il": _fmts("us-il", [("LLNNNNN", 1.0), ("LNNNNNN", 0.5)])
    + _vanity("us-il", range(2, 8), 0.08),
    "gb": _fmts("gb", [("LLNNLLL", 1.0), ("LNNNLLL", 0.3), ("LLLNNNL", 0.2)]),
    "de": _fmts("de", _DE),
    "fr": _fmts("fr", [("LLNNNLL", 1.0), ("NNNLLLNN", 0.3), ("NNNNLLNN", 0.2), ("NNNLLNN", 0.2)]),
    "it": _fmts("it", [("LLNNNLL", 1.0)]),
    "es": _fmts("es", [("NNNNLLL", 1.0), ("LNNNNLL", 0.3), ("LLNNNNLL", 0.3), ("LLNNNNL", 0.2)]),
    "nl": _fmts("nl", _NL),
    "pl": _fmts("pl", _PL),
    "cz": _fmts("cz", [("NLNNNNN", 1.0), ("NLLNNNN", 0.4)]),
    "br": _fmts("br", [("LLLNNNN", 1.0), ("LLLNLNN", 1.0)]),
    "mx": _fmts("mx", [("LLLNNNN", 1.0), ("LLLNNNL", 0.8), ("NNNLLL", 0.3), ("LLNNNNN", 0.3)]),
}

# When the caller names no region, every region competes; ties go to this order (the
# first region of the list is the fallback `region_code` of a read matching nothing).
DEFAULT_REGION = "us"
_REGION_ORDER = list(FORMATS)

# A read that matches no format at all (only possible without strict_region).
UNMATCHED_WEIGHT = 0.03
# Dropping a character at either end (an emblem, a county badge, a frame screw read as a
# character) costs this factor, so it only wins when it turns a non-format read into one.
DROP_EDGE_COST = 0.15


def known_regions() -> list[str]:
    return list(FORMATS)


def formats_for(regions: Sequence[str]) -> list[PlateFormat]:
    """The formats of the requested regions; "us" also covers its states and vice versa.

    Unknown region codes contribute nothing (callers pass the API's full country list).
    """
    out: list[PlateFormat] = []
    for region in regions:
        code = region.lower()
        if code in FORMATS:
            out.extend(FORMATS[code])
        if code.startswith("us-") and code not in FORMATS:
            out.extend(PlateFormat(code, f.pattern, f.weight, f.vanity) for f in FORMATS["us"])
        elif code.startswith("us-"):
            # A state's own formats first, but cars from other states drive there too.
            out.extend(
                PlateFormat(code, f.pattern, f.weight * 0.5, f.vanity) for f in FORMATS["us"]
            )
    return out


@cache
def _all_formats() -> tuple[PlateFormat, ...]:
    return tuple(f for fs in FORMATS.values() for f in fs)


def matches(text: str, fmt: PlateFormat) -> bool:
    if len(text) != len(fmt):
        return False
    for ch, cls in zip(text, fmt.pattern, strict=True):
        if (cls == "N" and not ch.isdigit()) or (cls == "L" and not ch.isalpha()):
            return False
    return True


@dataclass(frozen=True, slots=True)
class Choice:
    text: str  # upper case
    ocr: float  # product of the chosen characters' probabilities
    fmt: PlateFormat | None  # best matching format among those considered (None: none)
    prior: float  # that format's weight (x region preference), or UNMATCHED_WEIGHT
    dropped: int  # characters dropped at the ends

    @property
    def rank(self) -> float:
        return self.ocr * self.prior * (DROP_EDGE_COST**self.dropped)


def _floored(probs: npt.NDArray[np.float32], text: str) -> npt.NDArray[np.float32]:
    """Give each character's look-alike of the other class its floor probability."""
    out = probs.copy()
    for i, ch in enumerate(text):
        alt = _LOOKALIKE.get(ch)
        if alt is not None:
            j = ALPHABET.index(alt[0])
            out[i, j] = max(out[i, j], alt[1] * out[i, ALPHABET.index(ch)])
    return out


def _best_for_pattern(
    probs: npt.NDArray[np.float32], pattern: str
) -> tuple[str, float] | None:
    chars = []
    score = 1.0
    for row, cls in zip(probs, pattern, strict=True):
        masked = np.where(_CLASS_MASK[cls], row, 0.0)
        j = int(masked.argmax())
        p = float(masked[j])
        if p <= 0.0:
            return None
        chars.append(ALPHABET[j])
        score *= p
    return "".join(chars), score


def _kbest(probs: npt.NDArray[np.float32], k: int) -> list[tuple[str, float]]:
    """The k likeliest strings when characters are independent (small beam search)."""
    beams: list[tuple[str, float]] = [("", 1.0)]
    for row in probs:
        top = np.argsort(row)[::-1][:3]
        beams = sorted(
            ((s + ALPHABET[j], p * float(row[j])) for s, p in beams for j in top),
            key=lambda b: b[1],
            reverse=True,
        )[:k]
    return beams


def _prior(
    text: str, formats: Sequence[PlateFormat], pooled: bool
) -> tuple[PlateFormat | None, float]:
    """The best matching format and the prior weight of `text`.

    pooled (no region requested): a format issued in several countries is likelier a
    priori than one issued in a single country, so the weights of the best format of
    each country add up (US states count as the US).
    """
    best: PlateFormat | None = None
    weight = 0.0
    per_country: dict[str, float] = {}
    for f in formats:
        if not matches(text, f):
            continue
        if f.weight > weight:
            best, weight = f, f.weight
        country = f.region.split("-")[0]
        per_country[country] = max(per_country.get(country, 0.0), f.weight)
    if pooled and best is not None and not best.weak:
        # A small bonus only: summing outright lets the catch-all formats of Germany,
        # the Netherlands and Poland outvote a specific US format.
        weight += 0.05 * (len(per_country) - 1)
    return best, weight


def choose(
    text: str,
    probs: npt.NDArray[np.float32],
    *,
    regions: Sequence[str] = (),
    strict: bool = False,
    text_formats: Sequence[str] = (),
    top_k: int = 10,
) -> list[Choice]:
    """Rank plate strings for one OCR line, best first; [] when nothing qualifies.

    `text` is the OCR's best path (upper case) and `probs` its len(text) x 36
    distributions over ALPHABET.
    """
    preferred = formats_for(regions)
    # Other regions' formats still count (a foreign car), at a fraction of the weight.
    others = [] if strict or not regions else _all_formats()
    if not regions:
        considered: Sequence[PlateFormat] = _all_formats()
    elif strict:
        considered = preferred
    else:
        considered = [*preferred, *(_scaled(f, 0.25) for f in others)]
    patterns = _compile(tuple(text_formats))

    floored = _floored(probs, text)
    spans: list[tuple[int, int]] = [(0, len(text))]
    if len(text) >= 5:
        spans += [(1, len(text)), (0, len(text) - 1)]
    if len(text) >= 6:
        spans.append((1, len(text) - 1))

    seen: dict[str, Choice] = {}
    for start, end in spans:
        sub = floored[start:end]
        dropped = start + (len(text) - end)
        strings: list[tuple[str, float]] = _kbest(sub, max(top_k, 4))
        lengths = {f.pattern for f in considered if len(f) == len(sub) and not f.vanity}
        for pattern in lengths:
            best = _best_for_pattern(sub, pattern)
            if best is not None:
                strings.append(best)
        for s, ocr in strings:
            fmt, weight = _prior(s, considered, pooled=not regions)
            if patterns:
                if any(p.fullmatch(s.lower()) for p in patterns):
                    weight = max(weight, 1.0)
                elif strict:
                    continue
                else:
                    weight *= 0.3
            if fmt is None and weight == 0.0:
                if strict:
                    continue
                weight = UNMATCHED_WEIGHT
            choice = Choice(s, ocr, fmt, weight, dropped)
            old = seen.get(s)
            if old is None or choice.rank > old.rank:
                seen[s] = choice
    ranked = sorted(seen.values(), key=lambda c: c.rank, reverse=True)
    return ranked[:top_k]


def merge(rankings: Sequence[Sequence[Choice]], top_k: int = 10) -> list[Choice]:
    """Pool the rankings of several reads of the same line (differently cropped).

    A string's OCR probability becomes its mean over the reads (0 where a read did not
    propose it), so a string both reads agree on beats one a single read liked a bit more.
    """
    if len(rankings) == 1:
        return list(rankings[0])[:top_k]
    total: dict[str, float] = {}
    best: dict[str, Choice] = {}
    for ranking in rankings:
        for c in ranking:
            total[c.text] = total.get(c.text, 0.0) + c.ocr
            if c.text not in best or c.rank > best[c.text].rank:
                best[c.text] = c
    n = len(rankings)
    pooled = [
        Choice(t, total[t] / n, c.fmt, c.prior, c.dropped) for t, c in best.items()
    ]
    pooled.sort(key=lambda c: c.rank, reverse=True)
    return pooled[:top_k]


def _scaled(f: PlateFormat, factor: float) -> PlateFormat:
    return PlateFormat(f.region, f.pattern, f.weight * factor, f.vanity)


@cache
def _compile(text_formats: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    out = []
    for tf in text_formats:
        try:
            out.append(re.compile(tf.lower()))
        except re.error:
            continue  # a bad regex from a request must not break the read
    return tuple(out)


def region_of(
    text: str, regions: Sequence[str] = (), strict: bool = False
) -> tuple[str, float]:
    """(region code, score) for a final plate string.

    Score: the matching formats' weights of the winning region over the sum across
    regions, so a format unique to one region (Mercosul LLLNLNN) scores high and a
    shared one (LLLNNNN: br, us, mx, pl) scores lower.
    """
    candidates = formats_for(regions) if regions else list(_all_formats())
    per_region: dict[str, float] = {}
    for f in candidates:
        if matches(text, f):
            per_region[f.region] = max(per_region.get(f.region, 0.0), f.weight)
    if not per_region and regions and not strict:
        return region_of(text)
    if not per_region:
        code = regions[0].lower() if regions else DEFAULT_REGION
        return code, 0.1
    order = {r.lower(): i for i, r in enumerate(regions)} if regions else {}
    code = max(
        per_region,
        key=lambda r: (per_region[r], -order.get(r, len(order)), -_REGION_ORDER.index(r)
                       if r in _REGION_ORDER else -len(_REGION_ORDER)),
    )
    total = sum(per_region.values())
    return code, round(per_region[code] / total, 3)


def plausible_vanity(text: str) -> bool:
    """Vanity text still needs to look like a plate: 2-8 characters, not one repeated."""
    return 2 <= len(text) <= 8 and len(set(text)) > 1


def geometric_mean(values: Iterable[float]) -> float:
    vals = list(values)
    if not vals:
        return 0.0
    return math.exp(sum(math.log(max(v, 1e-9)) for v in vals) / len(vals))


__all__ = [
    "ALPHABET",
    "DEFAULT_REGION",
    "FORMATS",
    "Choice",
    "PlateFormat",
    "choose",
    "formats_for",
    "known_regions",
    "matches",
    "region_of",
]
