"""Licence-plate formats per region, and choosing a plate text from OCR alternatives.

A format is a sequence of character classes: `L` letter, `N` digit, `A` either. Given the
OCR's per-character distributions, the best string for a format picks, at each position,
the likeliest character of the allowed class: that is how O/0, I/1, B/8, S/5, Z/2 are
settled by position (a `0` where a Mercosul plate has a letter becomes `O`, an `O` where a
Californian plate has a digit becomes `0`). Each candidate string is then ranked by
OCR probability x the prior of the best format it matches; formats of the requested
regions weigh more, and with `strict` nothing outside them survives. On a line shaped
like a US plate, a US format's O is taken for the 0 (US_O_PENALTY). The formats
themselves, and a plate's region, are in region_formats.py.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from .patterns import compile_text_formats
from .region_formats import (
    DEFAULT_REGION,
    FOREIGN_WEIGHT,
    FORMATS,
    PlateFormat,
    all_formats,
    formats_for,
    known_regions,
    matches,
    region_of,
    scaled,
    signature,
)

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_DIGITS = np.array([c.isdigit() for c in ALPHABET])
_LETTERS = ~_DIGITS
_CLASS_MASK = {"N": _DIGITS, "L": _LETTERS, "A": np.ones(36, dtype=bool)}

# Look-alike characters: when the OCR saw the right shape but the wrong class, the other
# class's look-alike gets at least this share of the read character's probability, so a
# format can still settle it (the network often gives "0" 1e-6 on a crisp "O"). O/0 are
# drawn identically on many plates, so their floor is high; rarer confusions get less.
_LOOKALIKE: dict[str, tuple[tuple[str, float], ...]] = {
    "O": (("0", 0.5),),
    "0": (("O", 0.5), ("D", 0.2), ("Q", 0.05)),
    "D": (("0", 0.2),),
    "Q": (("0", 0.1),),
    "U": (("0", 0.02),),
    "I": (("1", 0.3),),
    "1": (("I", 0.3), ("L", 0.05), ("T", 0.05)),
    "L": (("1", 0.05),),
    "T": (("1", 0.05), ("7", 0.05)),
    "Z": (("2", 0.2),),
    "2": (("Z", 0.2),),
    "B": (("8", 0.2),),
    "8": (("B", 0.2),),
    "S": (("5", 0.2),),
    "5": (("S", 0.2),),
    "G": (("6", 0.1),),
    "6": (("G", 0.1),),
    "A": (("4", 0.05),),
    "4": (("A", 0.05),),
    "7": (("T", 0.05),),
    "J": (("3", 0.02),),
}

# A read that matches no format at all (only possible without strict_region).
UNMATCHED_WEIGHT = 0.02
# Leaving out a character of the line (an emblem, a county badge, a frame screw read as a
# character) costs this factor, so it only wins when it turns a non-format read into one.
DROP_EDGE_COST = 0.15


# Most US states issue no letter O in standard serials and draw the O they have as the 0
# (no US label of the dev photos has an O: 0 of 114), so a US format's weight is divided
# by up to US_O_PENALTY per O, vanity formats included ("CEMENT0"), but only on a line
# shaped like a US plate: applied to every read, it made the German "WOBVWMK4" (which
# only a US vanity format matches) "W0BVWMK4".
US_O_PENALTY = 10.0

# The line's shape: the engine's text line (width / height along the line's own axes, so
# a slanted plate is not made taller) is ~2.2 on a US plate (6-7 tall characters on a
# 12 x 6 in plate) and ~4 on a European one (75-80 mm characters on 520 x 110 mm); a
# camera's angle only shortens a line. Half a of the dev photos, 10th-90th percentiles of
# the read plates: US 1.9-2.8, EU 3.6-4.2, BR 3.2-4.1 (WOBVWMK4 3.3). `square_likelihood`
# is a logistic in log(aspect), even at the geometric mean of the US and EU medians
# (2.17, 3.98 -> 2.94) and 0.95 / 0.05 at them; the O penalty grows from none at the
# midpoint to its full size on a sure square line (US_O_PENALTY ** (2 x likelihood - 1)).
# Demoting the formats of the unlikely shape (European ones on a square line, US ones on
# a long line, by up to 2x or 1.4x) was measured too and is not used: no change on half a,
# fewer plates found on half b (a read's format weight also decides if it is a plate).
SHAPE_MIDPOINT = 2.94
SHAPE_SPREAD = 0.1  # in log(aspect): ln(2.94 / 2.17) = 0.30 = 3 spreads


def line_aspect(quad: npt.NDArray[np.float32]) -> float:
    """Width / height of a text line's quad (top-left, top-right, bottom-right, bottom-left)."""
    width = float(np.linalg.norm(quad[1] - quad[0]) + np.linalg.norm(quad[2] - quad[3]))
    height = float(np.linalg.norm(quad[3] - quad[0]) + np.linalg.norm(quad[2] - quad[1]))
    return width / max(height, 1e-6)


def square_likelihood(aspect: float) -> float:
    """How likely a line of this width / height is a square (US-sized) plate's, 0..1."""
    z = (math.log(SHAPE_MIDPOINT) - math.log(max(aspect, 1e-3))) / SHAPE_SPREAD
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


def o_penalty(aspect: float | None) -> float:
    """What a US format's weight is divided by per letter O, for a line of this shape."""
    if aspect is None:
        return 1.0
    return float(US_O_PENALTY ** max(0.0, 2.0 * square_likelihood(aspect) - 1.0))


@dataclass(frozen=True, slots=True)
class _Index:
    """Formats under consideration, looked up by a string's class signature."""

    by_signature: dict[str, tuple[PlateFormat, ...]]
    vanity_by_length: dict[int, tuple[PlateFormat, ...]]
    patterns_by_length: dict[int, tuple[str, ...]]
    pooled: bool  # no region requested: every country competes

    def matching(self, text: str) -> tuple[PlateFormat, ...]:
        return self.by_signature.get(signature(text), ()) + self.vanity_by_length.get(len(text), ())


@lru_cache(maxsize=64)  # keyed by a request's regions, as _formats_for
def _index(regions: tuple[str, ...], strict: bool) -> _Index:
    if not regions:
        considered: Sequence[PlateFormat] = all_formats()
    elif strict:
        considered = formats_for(regions)
    else:
        # Other regions' formats still count (a foreign car), at a fraction of the weight.
        others = (scaled(f, FOREIGN_WEIGHT) for f in all_formats())
        considered = [*formats_for(regions), *others]
    by_sig: dict[str, list[PlateFormat]] = {}
    vanity: dict[int, list[PlateFormat]] = {}
    for f in considered:
        if f.vanity:
            vanity.setdefault(len(f), []).append(f)
        else:
            by_sig.setdefault(f.pattern, []).append(f)
    lengths: dict[int, set[str]] = {}
    for pattern in by_sig:
        lengths.setdefault(len(pattern), set()).add(pattern)
    return _Index(
        {k: tuple(v) for k, v in by_sig.items()},
        {k: tuple(v) for k, v in vanity.items()},
        {k: tuple(sorted(v)) for k, v in lengths.items()},
        pooled=not regions,
    )


@dataclass(frozen=True, slots=True)
class Choice:
    text: str  # upper case
    ocr: float  # product of the chosen characters' probabilities
    fmt: PlateFormat | None  # best matching format among those considered (None: none)
    prior: float  # that format's weight (x region preference), or UNMATCHED_WEIGHT
    dropped: int  # characters of the OCR line left out
    pooled: float | None = None  # rank pooled over several reads of the line (see merge)

    @property
    def rank(self) -> float:
        if self.pooled is not None:
            return self.pooled
        return self.ocr * self.prior * (DROP_EDGE_COST**self.dropped)


def _floored(probs: npt.NDArray[np.float32], text: str) -> npt.NDArray[np.float32]:
    """Give each character's look-alike of the other class its floor probability."""
    out = probs.copy()
    for i, ch in enumerate(text):
        read = out[i, ALPHABET.index(ch)]
        for alt, floor in _LOOKALIKE.get(ch, ()):
            j = ALPHABET.index(alt)
            out[i, j] = max(out[i, j], floor * read)
    return out


# Below this a character is not an alternative but noise (the model gives every symbol
# ~1e-6); a format needing it does not fit the read.
_MIN_CHAR_PROB = 1e-3


def _best_by_class(probs: npt.NDArray[np.float32]) -> dict[str, list[tuple[str, float]]]:
    """Per position, the likeliest letter and the likeliest digit (and either)."""
    out: dict[str, list[tuple[str, float]]] = {}
    for cls, mask in _CLASS_MASK.items():
        masked = np.where(mask, probs, 0.0)
        idx = masked.argmax(axis=1)
        out[cls] = [(ALPHABET[j], float(masked[i, j])) for i, j in enumerate(idx)]
    return out


def _best_for_pattern(
    by_class: dict[str, list[tuple[str, float]]], pattern: str
) -> tuple[str, float] | None:
    """The likeliest string of `pattern`, or None if a position has no plausible character."""
    chars = []
    score = 1.0
    for i, cls in enumerate(pattern):
        ch, p = by_class[cls][i]
        if p < _MIN_CHAR_PROB:
            return None
        chars.append(ch)
        score *= p
    return "".join(chars), score


def _kbest(probs: npt.NDArray[np.float32], k: int) -> list[tuple[str, float]]:
    """The k likeliest strings when characters are independent (small beam search).

    Each step extends every beam by the row's 3 likeliest characters and keeps the k best,
    ties in generation order (a stable sort): in numpy, as this runs for every crop.
    """
    texts = [""]
    scores = np.ones(1, dtype=np.float64)
    for row in probs:
        top = np.argsort(row)[::-1][:3]
        cand = (scores[:, None] * row[top].astype(np.float64)[None, :]).ravel()
        keep = np.argsort(-cand, kind="stable")[:k]
        width = len(top)
        texts = [texts[i // width] + ALPHABET[top[i % width]] for i in keep]
        scores = cand[keep]
    return [(t, float(p)) for t, p in zip(texts, scores, strict=True)]


def _prior(text: str, index: _Index, o_cost: float = 1.0) -> tuple[PlateFormat | None, float]:
    """The best matching format and the prior weight of `text`.

    o_cost: a US format's weight is divided by it per letter O of `text` (o_penalty).

    pooled (no region requested): a format issued in several countries is a little
    likelier a priori than one issued in a single country.
    """
    best: PlateFormat | None = None
    weight = 0.0
    countries: set[str] = set()
    us_factor = o_cost ** -text.count("O")
    for f in index.matching(text):
        w = f.weight * us_factor if f.region.startswith("us") else f.weight
        if w > weight:
            best, weight = f, w
        if not f.weak:
            countries.add(f.region.split("-")[0])
    if index.pooled and best is not None and not best.weak:
        # A small bonus only: summing outright lets the catch-all formats of Germany,
        # the Netherlands and Poland outvote a specific US format.
        weight += 0.05 * (len(countries) - 1)
    return best, weight


def choose(
    text: str,
    probs: npt.NDArray[np.float32],
    *,
    regions: Sequence[str] = (),
    strict: bool = False,
    text_formats: Sequence[str] = (),
    top_k: int = 10,
    aspect: float | None = None,
) -> list[Choice]:
    """Rank plate strings for one OCR line, best first; [] when nothing qualifies.

    `text` is the OCR's best path (upper case) and `probs` its len(text) x 36
    distributions over ALPHABET. Candidates: the k likeliest strings, the best string
    for every format of the right length, each also with one end character dropped.
    `aspect`: the line's width / height (line_aspect), telling a US-shaped plate whose
    O is a 0 (o_penalty); None for no hint.
    """
    strict = strict and bool(regions)
    index = _index(tuple(r.lower() for r in regions), strict)
    o_cost = o_penalty(aspect)
    patterns = compile_text_formats(tuple(text_formats))

    floored = _floored(probs, text)
    n = len(text)
    # Which characters to keep: all; all but one at an end (an emblem, a badge, a screw
    # beside the text); both ends; all but one inside (a state emblem between the
    # groups, as on Washington plates "AB1 * C2D").
    keeps: list[list[int]] = [list(range(n))]
    if n >= 5:
        keeps += [list(range(1, n)), list(range(n - 1))]
    if n >= 6:
        keeps.append(list(range(1, n - 1)))
        keeps += [[j for j in range(n) if j != i] for i in range(2, n - 2)]

    seen: dict[str, Choice] = {}
    for keep in keeps:
        sub = floored[keep]
        dropped = n - len(keep)
        # The full line offers the caller's top_k alternatives; a line with a character
        # left out only needs its few best (it wins through a format, if at all).
        strings: list[tuple[str, float]] = _kbest(sub, max(top_k, 4) if not dropped else 3)
        patterns_here = index.patterns_by_length.get(len(sub), ())
        by_class = _best_by_class(sub) if patterns_here else {}
        for pattern in patterns_here:
            best = _best_for_pattern(by_class, pattern)
            if best is not None:
                strings.append(best)
        for s, ocr in strings:
            if s in seen and seen[s].dropped <= dropped and seen[s].ocr >= ocr:
                continue
            fmt, weight = _prior(s, index, o_cost)
            if patterns:
                if any(p.fullmatch(s) for p in patterns):  # RE2, case-insensitive
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

    A string's OCR probability and rank become their means over the reads (0 where a read
    did not propose it), so a string both reads agree on beats one a single read liked a
    bit more, and a string one read got whole beats the same string another read only
    reached by dropping a character.
    """
    if len(rankings) == 1:
        return list(rankings[0])[:top_k]
    ocr: dict[str, float] = {}
    rank: dict[str, float] = {}
    best: dict[str, Choice] = {}
    for ranking in rankings:
        for c in ranking:
            ocr[c.text] = ocr.get(c.text, 0.0) + c.ocr
            rank[c.text] = rank.get(c.text, 0.0) + c.rank
            if c.text not in best or c.rank > best[c.text].rank:
                best[c.text] = c
    n = len(rankings)
    pooled = [
        Choice(t, ocr[t] / n, c.fmt, c.prior, c.dropped, rank[t] / n) for t, c in best.items()
    ]
    pooled.sort(key=lambda c: c.rank, reverse=True)
    return pooled[:top_k]


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
    "line_aspect",
    "matches",
    "region_of",
]
