"""Watch-list matching: normalisation, weighted distance, tolerance, tie-breaking."""

from __future__ import annotations

import json
import random
import string
import time

import pytest

from bridge.watchlist import (
    LOOKALIKE_COST,
    LOOKALIKE_GROUPS,
    WatchEntry,
    WatchList,
    WatchMatch,
    normalize_plate,
    plate_distance,
)

# --------------------------------------------------------------------------- normalisation


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ab-123 c", "AB123C"),
        ("AB 123C", "AB123C"),
        ("ab.123.c", "AB123C"),
        ("  m-xy 42e ", "MXY42E"),
        ("", ""),
        ("--- ", ""),
        ("ka_12/3", "KA123"),
    ],
)
def test_normalize_plate(text: str, expected: str) -> None:
    assert normalize_plate(text) == expected


# --------------------------------------------------------------------------- distance


def test_distance_zero_for_same_plate_written_differently() -> None:
    assert plate_distance("AB-123 C", "ab123c") == 0.0


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("O", "0"),
        ("I", "1"),
        ("B", "8"),
        ("S", "5"),
        ("Z", "2"),
        ("D", "0"),
        ("Q", "0"),
        ("G", "6"),
    ],
)
def test_lookalike_substitution_is_cheap(a: str, b: str) -> None:
    assert plate_distance(f"AB{a}12", f"AB{b}12") == LOOKALIKE_COST
    assert plate_distance(a, b) == LOOKALIKE_COST


def test_lookalike_groups_are_consistent() -> None:
    # D~0 and O~0 are cheap, so D~O must be too (same group).
    assert plate_distance("D", "O") == LOOKALIKE_COST
    assert plate_distance("Q", "D") == LOOKALIKE_COST


@pytest.mark.parametrize(("a", "b"), [("A", "B"), ("1", "7"), ("O", "8"), ("M", "N"), ("I", "L")])
def test_other_substitutions_cost_one(a: str, b: str) -> None:
    assert plate_distance(a, b) == 1.0


def test_insertion_and_deletion_cost_one() -> None:
    assert plate_distance("AB123", "AB1234") == 1.0
    assert plate_distance("AB1234", "AB123") == 1.0
    assert plate_distance("", "ABC") == 3.0
    assert plate_distance("ABC", "") == 3.0
    assert plate_distance("", "") == 0.0


def test_distance_combines_edits() -> None:
    # O->0 (0.25) + I->1 (0.25) + one deletion (1)
    assert plate_distance("MO-IX 42", "M01X4") == pytest.approx(1.5)
    # all five look-alike classes in one plate
    assert plate_distance("OIBSZ", "01852") == pytest.approx(5 * LOOKALIKE_COST)


def _random_plate(rng: random.Random) -> str:
    alphabet = string.ascii_uppercase + string.digits + "-  "
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 9)))


def test_distance_properties_random() -> None:
    """Property-style: symmetric, 0 iff equal after normalisation, triangle-ish bounds."""
    rng = random.Random(1234)
    lookalike_chars = "".join(sorted(set().union(*LOOKALIKE_GROUPS)))
    for _ in range(600):
        a, b = _random_plate(rng), _random_plate(rng)
        if rng.random() < 0.3:
            # b as a near-copy of a, with look-alikes swapped in
            b = "".join(
                rng.choice(lookalike_chars) if ch in lookalike_chars and rng.random() < 0.5 else ch
                for ch in a
            )
        d_ab, d_ba = plate_distance(a, b), plate_distance(b, a)
        assert d_ab == d_ba
        assert (d_ab == 0.0) == (normalize_plate(a) == normalize_plate(b))
        na, nb = normalize_plate(a), normalize_plate(b)
        # bounded by the length difference below and plain Levenshtein's worst case above
        assert abs(len(na) - len(nb)) <= d_ab <= max(len(na), len(nb))
        assert plate_distance(a, a) == 0.0


# --------------------------------------------------------------------------- entries


def test_entry_validation() -> None:
    with pytest.raises(ValueError, match="no letters or digits"):
        WatchEntry("empty", " - ")
    with pytest.raises(ValueError, match="tolerance"):
        WatchEntry("neg", "AB12", tolerance=-0.5)
    with pytest.raises(ValueError, match="tolerance"):
        WatchEntry("nan", "AB12", tolerance=float("nan"))


def test_entry_tags_from_list_become_tuple() -> None:
    entry = WatchEntry("x", "AB12", tags=["family", "ev"])  # type: ignore[arg-type]
    assert entry.tags == ("family", "ev")
    hash(entry)  # still hashable


# --------------------------------------------------------------------------- matching

DAD = WatchEntry("Dad", "M-AB 1234", owner="dad", tags=("family",))
MUM = WatchEntry("Mum", "M-CD 5678", owner="mum", tags=("family",), tolerance=0.5)
POSTIE = WatchEntry("Postie", "B-PO 777", tags=("delivery",), tolerance=0.0)


@pytest.fixture
def watchlist() -> WatchList:
    return WatchList([DAD, MUM, POSTIE])


def test_exact_match_on_top_plate(watchlist: WatchList) -> None:
    match = watchlist.match("mab1234")
    assert match == WatchMatch(DAD, "mab1234", 0.0, True, "plate")


def test_exact_match_on_candidate(watchlist: WatchList) -> None:
    match = watchlist.match("XX999", ["ZZ1", "M CD 5678"])
    assert match is not None
    assert match.entry is MUM
    assert match.exact
    assert match.distance == 0.0
    assert match.matched_text == "M CD 5678"
    assert match.source == "candidate"


def test_exact_candidate_beats_fuzzy_top_plate(watchlist: WatchList) -> None:
    # top plate is one look-alike away from Dad, a candidate is exactly Mum
    match = watchlist.match("MAB12E4", ["MCD5678"])
    assert match is not None
    assert match.entry is MUM
    assert match.exact


def test_fuzzy_match_with_lookalikes(watchlist: WatchList) -> None:
    match = watchlist.match("MA8I234")  # B->8, 1->I
    assert match is not None
    assert match.entry is DAD
    assert not match.exact
    assert match.distance == pytest.approx(0.5)
    assert match.matched_text == "MA8I234"


def test_tolerance_edges() -> None:
    entry = WatchEntry("t", "AB1234", tolerance=1.0)
    wl = WatchList([entry])
    assert wl.match("AB123") is not None  # deletion: 1.0, on the edge: accepted
    assert wl.match("A8I23") is None  # 0.25 + 0.25 + 1 = 1.5
    assert wl.match("A8I2E4") is None  # B/8 .25 + 1/I .25 + 3/E 1 = 1.5
    four_lookalikes = WatchList([WatchEntry("t", "OIBS", tolerance=1.0)])
    assert four_lookalikes.match("0185") is not None  # 4 x 0.25 = 1.0 exactly
    zero = WatchList([WatchEntry("z", "AB1234", tolerance=0.0)])
    assert zero.match("AB1234") is not None
    assert zero.match("A81234") is None  # look-alike still > 0
    quarter = WatchList([WatchEntry("q", "AB1234", tolerance=0.25)])
    match = quarter.match("A81234")
    assert match is not None
    assert match.distance == LOOKALIKE_COST


def test_per_entry_tolerance(watchlist: WatchList) -> None:
    assert watchlist.match("MCD567") is None  # Mum tolerates 0.5, a deletion is 1
    assert watchlist.match("BP0777") is None  # Postie tolerates nothing
    assert watchlist.match("BPO777") is not None


def test_no_match_and_empty_inputs(watchlist: WatchList) -> None:
    assert watchlist.match("ZZ999ZZ") is None
    assert watchlist.match(None) is None
    assert watchlist.match(None, []) is None
    assert watchlist.match("", ["--", " "]) is None
    assert watchlist.match(None, ["MAB1234"]) is not None


def test_empty_watchlist() -> None:
    wl = WatchList([])
    assert len(wl) == 0
    assert not wl
    assert wl.match("AB123", ["AB123"]) is None


def test_tie_lower_distance_wins_over_order() -> None:
    far = WatchEntry("far", "AB1239", tolerance=2)
    near = WatchEntry("near", "AB1234", tolerance=2)
    # candidate is closer to 'near' than the plate is to 'far'
    match = WatchList([far, near]).match("AB123X", ["AB12E4"])
    # AB123X: vs far 1.0 (X/9), vs near 1.0 (X/4). AB12E4: vs near 1.0 (E/3).
    assert match is not None
    assert match.entry is far  # distance tie -> top plate first -> entry order
    match = WatchList([far, near]).match("AB123XY", ["AB1Z34"])
    # candidate AB1Z34 vs near: Z/2 = 0.25 -> wins on distance despite being a candidate
    assert match is not None
    assert match.entry is near
    assert match.source == "candidate"
    assert match.distance == LOOKALIKE_COST


def test_tie_top_prediction_before_candidates() -> None:
    a = WatchEntry("a", "AAA111", tolerance=1)
    b = WatchEntry("b", "BBB222", tolerance=1)
    # plate is 1 off a, candidate 1 off b: a tie -> the top plate wins, though b is listed first
    match = WatchList([b, a]).match("AAA11X", ["BBB22X"])
    assert match is not None
    assert match.entry is a
    assert match.source == "plate"


def test_tie_entry_order() -> None:
    first = WatchEntry("first", "AB1234")
    second = WatchEntry("second", "AB1239")
    match = WatchList([first, second]).match("AB123X")
    assert match is not None
    assert match.entry is first
    match = WatchList([second, first]).match("AB123X")
    assert match is not None
    assert match.entry is second


def test_duplicate_plates_first_entry_wins() -> None:
    one = WatchEntry("one", "AB 12")
    two = WatchEntry("two", "AB-12")
    assert WatchList([one, two]).match("AB12") == WatchMatch(one, "AB12", 0.0, True, "plate")


def test_to_dict_is_json_ready(watchlist: WatchList) -> None:
    match = watchlist.match("MA8I234")
    assert match is not None
    data = match.to_dict()
    assert json.loads(json.dumps(data)) == {
        "name": "Dad",
        "plate": "M-AB 1234",
        "owner": "dad",
        "tags": ["family"],
        "matched_text": "MA8I234",
        "distance": 0.5,
        "exact": False,
        "source": "plate",
    }


def test_matches_brute_force_reference() -> None:
    """The pruned search returns what an exhaustive search with the same rules returns."""
    rng = random.Random(99)
    alphabet = "AB018OISZ25DQ6G"
    entries = [
        WatchEntry(
            f"e{i}",
            "".join(rng.choice(alphabet) for _ in range(rng.randint(3, 7))),
            tolerance=rng.choice([0.0, 0.25, 0.5, 1.0, 1.5, 2.0]),
        )
        for i in range(60)
    ]
    wl = WatchList(entries)
    for _ in range(300):
        plate = "".join(rng.choice(alphabet) for _ in range(rng.randint(2, 8)))
        candidates = [
            "".join(rng.choice(alphabet) for _ in range(rng.randint(2, 8))) for _ in range(3)
        ]
        texts = [plate, *candidates]
        exact = [
            (ti, ei)
            for ti, t in enumerate(texts)
            for ei, e in enumerate(entries)
            if normalize_plate(t) == normalize_plate(e.plate)
        ]
        got = wl.match(plate, candidates)
        if exact:
            ti, ei = min(exact)
            assert got is not None
            assert got.exact
            assert got.entry is entries[ei]
            assert got.matched_text == texts[ti]
            continue
        scored = [
            (plate_distance(t, e.plate), ti, ei)
            for ti, t in enumerate(texts)
            for ei, e in enumerate(entries)
            if plate_distance(t, e.plate) <= e.tolerance + 1e-9
        ]
        if not scored:
            assert got is None
        else:
            d, ti, ei = min(scored)
            assert got is not None
            assert (got.entry, got.matched_text, got.distance) == (entries[ei], texts[ti], d)


def test_fast_for_hundreds_of_entries() -> None:
    rng = random.Random(7)
    alphabet = string.ascii_uppercase + string.digits
    entries = [
        WatchEntry(f"e{i}", "".join(rng.choice(alphabet) for _ in range(rng.randint(5, 8))))
        for i in range(500)
    ]
    wl = WatchList(entries)
    reads = [
        (
            "".join(rng.choice(alphabet) for _ in range(7)),
            ["".join(rng.choice(alphabet) for _ in range(7)) for _ in range(9)],
        )
        for _ in range(20)
    ]
    start = time.perf_counter()
    for plate, candidates in reads:
        wl.match(plate, candidates)
    per_read = (time.perf_counter() - start) / len(reads)
    # 500 entries x 10 texts; generous bound so slow CI machines don't flake
    assert per_read < 0.25
