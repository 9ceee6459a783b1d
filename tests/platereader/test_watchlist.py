"""The watch-list core: normalisation, distance, look-alikes, tolerance, candidates."""

from __future__ import annotations

import functools
import random

import pytest

from platereader import Candidate, PlateResult
from platereader.watchlist import (
    CANDIDATE_MAX_GAP,
    CANDIDATE_MIN_SCORE,
    LOOKALIKE_PAIRS,
    MAX_LOOKALIKES,
    MAX_PLATE_LENGTH,
    PlateDistance,
    ReadText,
    WatchEntry,
    WatchList,
    normalize_plate,
    plate_distance,
    plausible_texts,
    tolerance_from_config,
)


def read(
    plate: str | None, score: float | None = 0.9, *alternatives: tuple[str, float]
) -> PlateResult:
    candidates = ((plate, score), *alternatives) if plate and score is not None else alternatives
    return PlateResult(
        plate=plate,
        score=score,
        candidates=tuple(Candidate(plate=p, score=s) for p, s in candidates),
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ab-123 c", "AB123C"),
        ("AB.123.C", "AB123C"),
        ("  m ab 1234 ", "MAB1234"),
        ("Mü-AB 12", "MÜAB12"),
        ("--", ""),
        ("", ""),
    ],
)
def test_normalize_plate(text: str, expected: str) -> None:
    assert normalize_plate(text) == expected


@pytest.mark.parametrize("pair", LOOKALIKE_PAIRS)
def test_each_lookalike_pair_is_one_free_substitution(pair: str) -> None:
    a, b = pair
    assert plate_distance(f"AB{a}12", f"AB{b}12") == PlateDistance(0, 1)
    assert plate_distance(b, a) == PlateDistance(0, 1)


@pytest.mark.parametrize("pair", ["DO", "Q0", "QO", "BE", "27", "NW", "B5"])
def test_other_confusions_are_real_differences(pair: str) -> None:
    # D and O are both letters: pairs do not chain through 0.
    assert plate_distance(pair[0], pair[1]) == PlateDistance(1, 0)


def test_the_decided_table() -> None:
    assert set(LOOKALIKE_PAIRS) == {"O0", "I1", "B8", "S5", "Z2", "D0", "G6"}
    assert MAX_LOOKALIKES == 2


def test_distance_counts_real_differences_and_lookalikes() -> None:
    assert plate_distance("AB-12 CDE", "ab12cde") == PlateDistance(0, 0)
    assert plate_distance("AB12CDE", "A812C0E") == PlateDistance(0, 2)
    assert plate_distance("AB12CDE", "AB12CDF") == PlateDistance(1, 0)
    assert plate_distance("AB12CDE", "AB12CD") == PlateDistance(1, 0)
    assert plate_distance("AB12CDE", "XAB12CDE") == PlateDistance(1, 0)
    assert plate_distance("", "ABC") == PlateDistance(3, 0)
    # Beyond MAX_LOOKALIKES a look-alike is a real difference.
    assert plate_distance("OIBSZ", "01852") == PlateDistance(3, 2)
    assert plate_distance("AB12CDE", "A8I2C0E") == PlateDistance(1, 2)
    assert PlateDistance(1, 2).weighted == 1.5


def test_distance_is_symmetric_and_zero_only_for_equal_texts() -> None:
    rng = random.Random(7)
    alphabet = "AB0O8DIS5Z2G6-"
    for _ in range(400):
        a = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))
        b = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))
        assert plate_distance(a, b) == plate_distance(b, a)
        equal = normalize_plate(a) == normalize_plate(b)
        assert (plate_distance(a, b) == PlateDistance(0, 0)) == equal


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, 0), (1, 1), (2, 2), (0.0, 0), (0.25, 0), (0.5, 0), (1.0, 1), (1.5, 1), (3, 2), (4.0, 2)],
)
def test_tolerance_from_config(value: float, expected: int) -> None:
    assert tolerance_from_config(value) == expected


@pytest.mark.parametrize("value", [-1, -0.5, float("nan"), True, "1", None])
def test_tolerance_from_config_refuses(value: object) -> None:
    with pytest.raises(ValueError, match="tolerance"):
        tolerance_from_config(value)


def test_entry_validation() -> None:
    with pytest.raises(ValueError, match="no letters or digits"):
        WatchEntry("empty", " - ")
    with pytest.raises(ValueError, match="longer than"):
        WatchEntry("long", "A" * (MAX_PLATE_LENGTH + 1))
    with pytest.raises(ValueError, match="0 to 2"):
        WatchEntry("three", "AB12", tolerance=3)
    with pytest.raises(ValueError, match="whole number"):
        WatchEntry("float", "AB12", tolerance=0.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="whole number"):
        WatchEntry("bool", "AB12", tolerance=True)
    entry = WatchEntry("x", "ab 12", tags=["family", "ev"])  # type: ignore[arg-type]
    assert entry.tags == ("family", "ev")
    assert entry.normalized == "AB12"
    assert hash(entry) == hash(WatchEntry("x", "ab 12", tags=("family", "ev")))


def test_entry_from_dict_reads_old_floats() -> None:
    entry = WatchEntry.from_dict({"name": "Bob", "plate": "AB1", "tolerance": 1.5, "tags": ["x"]})
    assert (entry.tolerance, entry.tags, entry.owner) == (1, ("x",), None)
    assert WatchEntry.from_dict({"name": "A", "plate": "B1"}).tolerance == 0
    assert WatchEntry.from_dict(entry.as_dict()) == entry


def test_default_is_exact_or_lookalike_only() -> None:
    watch = WatchList([WatchEntry("Family car", "AB12 CDE")])
    for other in ("AB12CDF", "AB12CD", "XB12CDE", "AB12CDEX", "AB12COE"):
        assert watch.match(other) is None, other
    match = watch.match("a812 c0e")
    assert match is not None
    assert (match.kind, match.distance, match.exact, match.source) == (
        "lookalike",
        PlateDistance(0, 2),
        False,
        "plate",
    )


def test_tolerance_counts_real_differences() -> None:
    one = WatchList([WatchEntry("t", "AB12CDE", tolerance=1)])
    two = WatchList([WatchEntry("t", "AB12CDE", tolerance=2)])
    assert one.match("AB12CDF") is not None
    assert one.match("AB12CDF").kind == "tolerance"  # type: ignore[union-attr]
    assert one.match("XB12CDF") is None
    assert two.match("XB12CDF") is not None
    # Look-alikes on top of the real difference are still free (up to the cap).
    match = one.match("A812C0F")
    assert match is not None
    assert match.distance == PlateDistance(1, 2)


def test_candidates_count_only_for_a_plausible_read_close_to_its_score() -> None:
    top = 0.9
    texts = plausible_texts(
        "A8I2C0E",
        top,
        [
            Candidate(plate="a8i2c0e", score=top),  # the top plate again: listed once
            Candidate(plate="AB12C0E", score=top - CANDIDATE_MAX_GAP),
            Candidate(plate="AB12CDE", score=top - CANDIDATE_MAX_GAP - 0.01),
            Candidate(plate="--", score=top),
        ],
    )
    assert texts == [ReadText("A8I2C0E", top, 0), ReadText("AB12C0E", top - CANDIDATE_MAX_GAP, 2)]
    weak = CANDIDATE_MIN_SCORE - 0.01
    assert plausible_texts("A8I2C0E", weak, [Candidate(plate="AB12C0E", score=weak)]) == [
        ReadText("A8I2C0E", weak, 0)
    ]
    assert plausible_texts("X", None, [Candidate(plate="Y", score=1.0)]) == [ReadText("X", None)]
    assert plausible_texts(None, None) == []


def test_faint_candidate_of_another_plate_is_not_watched() -> None:
    watch = WatchList([WatchEntry("Family car", "AB12CDE")])
    assert watch.match(read("zz99zzz", 0.93, ("zz99zz2", 0.6), ("ab12cde", 0.01))) is None


def test_candidate_never_excuses_a_real_difference_of_the_top_plate() -> None:
    strict = WatchList([WatchEntry("Family car", "AB12CDE")])
    assert strict.match(read("ab12cdf", 0.95, ("ab12cde", 0.95))) is None
    tolerant = WatchList([WatchEntry("Family car", "AB12CDE", tolerance=1)])
    match = tolerant.match(read("ab12cdf", 0.95, ("ab12cde", 0.95)))
    assert match is not None
    # The candidate equals the entry, but `exact` means the top plate does.
    assert (match.kind, match.exact, match.source, match.text.index) == (
        "exact",
        False,
        "candidate",
        2,
    )


def test_best_match_fewest_real_then_lookalikes_then_top_then_entry_order() -> None:
    first = WatchEntry("first", "AB1234", tolerance=1)
    second = WatchEntry("second", "AB1239", tolerance=1)
    assert WatchList([first, second]).match("AB123X").entry is first  # type: ignore[union-attr]
    assert WatchList([second, first]).match("AB123X").entry is second  # type: ignore[union-attr]
    exact = WatchEntry("exact", "AB12CDF")
    assert WatchList([first, exact]).match("ab12cdf").entry is exact  # type: ignore[union-attr]
    lookalike = WatchEntry("lookalike", "A812CDF")
    both = WatchList([lookalike, exact])
    assert both.match("AB12CDF").entry is exact  # type: ignore[union-attr]
    # The top plate before a candidate of the same quality.
    match = both.match(read("ab12cdf", 0.9, ("a812cdf", 0.9)))
    assert match is not None
    assert (match.entry, match.text.index) == (exact, 0)


def test_match_result_says_why() -> None:
    watch = WatchList([WatchEntry("Family car", "AB12 CDE", owner="Alice", tags=("gate",))])
    match = watch.match(read("a812cde", 0.91))
    assert match is not None
    assert match.as_dict() == {
        "name": "Family car",
        "plate": "AB12 CDE",
        "owner": "Alice",
        "tags": ["gate"],
        "tolerance": 0,
        "kind": "lookalike",
        "exact": False,
        "differences": 0,
        "lookalikes": 1,
        "distance": 0.25,
        "matched_text": "a812cde",
        "matched_score": 0.91,
        "source": "plate",
        "candidate": 0,
    }


def test_empty_inputs() -> None:
    assert WatchList([]).match("AB12") is None
    assert not WatchList([])
    watch = WatchList([WatchEntry("a", "AB12")])
    assert watch.match(read(None, None)) is None
    assert watch.match("--") is None
    assert watch.match("A" * 10_000) is None  # not a plate; no long computation either


# -- against an independent, slow reference -------------------------------------------

_PAIRS = {(p[0], p[1]) for p in LOOKALIKE_PAIRS} | {(p[1], p[0]) for p in LOOKALIKE_PAIRS}


def reference_distance(a: str, b: str, cap: int) -> tuple[int, int]:
    """(real, look-alikes) by plain recursion over every alignment."""

    @functools.cache
    def best(i: int, j: int, left: int) -> tuple[int, int]:
        if i == len(a) or j == len(b):
            return (len(a) - i + len(b) - j, 0)
        options = [
            (best(i + 1, j, left)[0] + 1, best(i + 1, j, left)[1]),
            (best(i, j + 1, left)[0] + 1, best(i, j + 1, left)[1]),
        ]
        if a[i] == b[j]:
            options.append(best(i + 1, j + 1, left))
        else:
            real, look = best(i + 1, j + 1, left)
            options.append((real + 1, look))
            if (a[i], b[j]) in _PAIRS and left:
                real, look = best(i + 1, j + 1, left - 1)
                options.append((real, look + 1))
        return min(options)

    return best(0, 0, cap)


def reference_match(entries: list[WatchEntry], result: PlateResult) -> tuple[str, int] | None:
    texts = plausible_texts(result.plate, result.score, result.candidates)
    top = normalize_plate(texts[0].text) if texts and texts[0].index == 0 else None
    found = []
    for ti, text in enumerate(texts):
        for ei, entry in enumerate(entries):
            real, look = reference_distance(normalize_plate(text.text), entry.normalized, 2)
            if real > entry.tolerance:
                continue
            if ti and (
                top is None or reference_distance(top, entry.normalized, 99)[0] > entry.tolerance
            ):
                continue
            found.append(((real, look, ti, ei), (entry.name, text.index)))
    return min(found)[1] if found else None


def test_matches_the_reference_on_random_lists() -> None:
    rng = random.Random(20240611)
    alphabet = "AB8DO0I1SZ2G6XY"
    for _ in range(150):
        entries = [
            WatchEntry(
                f"e{i}",
                "".join(rng.choice(alphabet) for _ in range(rng.randint(3, 6))),
                tolerance=rng.choice((0, 0, 1, 2)),
            )
            for i in range(rng.randint(1, 6))
        ]
        plate = "".join(rng.choice(alphabet) for _ in range(rng.randint(2, 7)))
        score = rng.choice((0.4, 0.9))
        alternatives = [
            (
                "".join(rng.choice(alphabet) for _ in range(rng.randint(2, 7))),
                rng.choice((0.3, 0.85)),
            )
            for _ in range(rng.randint(0, 3))
        ]
        result = read(plate, score, *alternatives)
        match = WatchList(entries).match(result)
        got = None if match is None else (match.entry.name, match.text.index)
        assert got == reference_match(entries, result), (entries, result)
