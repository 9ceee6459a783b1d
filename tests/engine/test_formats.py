"""Region formats: settling look-alike characters by position, strict filtering, scoring."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from plate_engine import formats, patterns, region_formats
from plate_engine.formats import ALPHABET, choose, region_of


def dists(
    text: str, alternatives: dict[int, dict[str, float]] | None = None
) -> npt.NDArray[np.float32]:
    """Per-character distributions: `text` read with certainty, except where overridden."""
    probs = np.full((len(text), 36), 1e-6, dtype=np.float32)
    for i, ch in enumerate(text):
        row = (alternatives or {}).get(i, {ch: 1.0})
        for c, p in row.items():
            probs[i, ALPHABET.index(c)] = p
    return np.asarray(probs / probs.sum(axis=1, keepdims=True), dtype=np.float32)


def best(text: str, alternatives: dict[int, dict[str, float]] | None = None, **kw: object) -> str:
    ranked = choose(text, dists(text, alternatives), **kw)  # type: ignore[arg-type]
    return ranked[0].text if ranked else ""


def test_o_becomes_zero_where_the_format_has_a_digit() -> None:
    # Brazil LLLNNNN / LLLNLNN: an "O" in the sixth place can only be a zero.
    assert best("ABC12O3", regions=["br"]) == "ABC1203"


def test_zero_becomes_o_where_the_format_has_a_letter() -> None:
    # Brazil: "0BC1234" can only be "OBC1234".
    assert best("0BC1234", regions=["br"]) == "OBC1234"


def test_mercosul_letter_position_settles_eight_and_b() -> None:
    # Mercosul LLLNLNN: the second character is a letter, the sixth a digit.
    assert best("A8C1DB3", regions=["br"]) == "ABC1D83"


def test_california_settles_one_and_b() -> None:
    # us-ca NLLLNNN: "I" first is a one, "8" in a letter position a "B".
    assert best("IABC123", regions=["us-ca"]) == "1ABC123"
    assert best("1A8C123", regions=["us-ca"]) == "1ABC123"


def test_italy_settles_s_five_and_z_two() -> None:
    # it LLNNNLL
    assert best("A8S2ZBC", regions=["it"], strict=True) == "AB522BC"


def test_close_call_uses_ocr_alternative() -> None:
    # The OCR hesitates between O and 0 in a digit slot: the format picks the digit.
    alt = {5: {"O": 0.6, "0": 0.4}}
    assert best("ABC12O3", alt, regions=["br"]) == "ABC1203"


def test_strict_region_drops_reads_matching_none_of_its_formats() -> None:
    assert best("AB123CD", regions=["br"], strict=True) == ""
    # Without strict the read stands, other regions' formats still count.
    assert best("AB123CD", regions=["br"]) == "AB123CD"


def test_strict_region_keeps_reads_of_its_formats() -> None:
    assert best("AB123CD", regions=["it"], strict=True) == "AB123CD"


def test_text_formats_guide_and_filter() -> None:
    alt = {2: {"1": 0.55, "I": 0.45}}
    # The regex wants a letter third: the "I" alternative wins.
    assert best("AB1234", alt, text_formats=[r"[a-z]{3}[0-9]{3}"]) == "ABI234"
    assert best("AB1234", alt, regions=["us"], strict=True, text_formats=[r"x[0-9]+"]) == ""


def test_region_score_prefers_unique_format() -> None:
    code, score = region_of("ABC1D23")  # Mercosul: Brazil only
    assert code == "br"
    assert score > 0.5
    shared_code, shared_score = region_of("ABC1234")  # LLLNNNN: us, br, mx, pl...
    assert shared_score < score
    assert shared_code in formats.known_regions()


def test_region_of_uses_requested_regions() -> None:
    assert region_of("AB123CD", ["it"])[0] == "it"
    assert region_of("7ABC123", ["us-ca"])[0] == "us-ca"
    # A plate matching nothing falls back to the first requested region.
    assert region_of("Q", ["de"])[0] == "de"
    assert region_of("Q")[0] == formats.DEFAULT_REGION


def test_vanity_plates_are_allowed_in_the_us_without_digits() -> None:
    ranked = choose("FZRULZ", dists("FZRULZ"), regions=["us"])
    assert ranked[0].text == "FZRULZ"
    assert ranked[0].fmt is not None and ranked[0].fmt.vanity
    # Brazil has no vanity plates: strict drops it.
    assert choose("FZRULZ", dists("FZRULZ"), regions=["br"], strict=True) == []


def test_emblem_inside_a_plate_is_left_out() -> None:
    # Washington "SH0 * R7X": the emblem between the groups read as an extra "L".
    assert best("SHOLR7X", regions=["us"]) == "SH0R7X"


def test_emblem_at_the_edge_is_left_out() -> None:
    assert best("ANW2529X", regions=["us"]) == "ANW2529"


def test_candidates_are_distinct_and_ranked() -> None:
    alt = {0: {"B": 0.5, "8": 0.5}}
    ranked = choose("BBC1234", dists("BBC1234", alt), top_k=5)
    texts = [c.text for c in ranked]
    assert len(texts) == len(set(texts)) <= 5
    assert [c.rank for c in ranked] == sorted((c.rank for c in ranked), reverse=True)


@pytest.mark.parametrize(
    "region",
    [
        "us",
        "us-ca",
        "us-ny",
        "us-tx",
        "us-fl",
        "gb",
        "de",
        "fr",
        "it",
        "es",
        "nl",
        "pl",
        "br",
        "mx",
    ],
)
def test_every_required_region_has_formats(region: str) -> None:
    assert formats.formats_for([region])


def test_text_formats_match_as_written_whatever_the_case() -> None:
    # Before, patterns were lowered: \D (a non-digit) became \d, so a GB format written
    # with \D matched nothing and strict filtering dropped the right plate.
    gb = r"\D\D\d\d\D\D\D"
    assert best("AB12CDE", regions=["gb"], strict=True, text_formats=[gb]) == "AB12CDE"
    assert best("AB12CDE", regions=["gb"], strict=True, text_formats=["[A-Z]{2}[0-9]{2}.+"]) == (
        "AB12CDE"
    )


def test_a_catastrophic_pattern_costs_no_time() -> None:
    # RE2 matches in linear time; Python's re took minutes on this (held the GIL).
    hostile = "(.*)" * 42 + "#"
    assert best("AB12CDE", regions=["gb"], text_formats=[hostile]) == "AB12CDE"


def test_request_keyed_caches_are_bounded() -> None:
    # Every request may bring new text_formats or regions: no cache may keep them all.
    for i in range(100):
        choose("AB12CDE", dists("AB12CDE"), text_formats=[f"[a-z]{{2}}{i}"])
        choose("AB12CDE", dists("AB12CDE"), regions=["gb", f"x{i % 26 + 10:x}"[:2]])
        formats.formats_for(["us", f"us-{i}"])
    for cached in (patterns.compile_text_formats, formats._index, region_formats._formats_for):
        info = cached.cache_info()
        assert info.maxsize is not None and info.currsize <= info.maxsize <= 64


def test_text_format_limits() -> None:
    patterns.check_text_formats(["[a-z]{2}[0-9]{2}[a-z]{3}"] * patterns.MAX_TEXT_FORMATS)
    for bad, message in (
        (["x"] * (patterns.MAX_TEXT_FORMATS + 1), "at most 16 patterns"),
        (["a" * (patterns.MAX_PATTERN_CHARS + 1)], "at most 256"),
        ([r"(a)\1"], "backreferences"),
        (["(?=a)"], "look-around"),
        (["a{1001}"], "pattern 0"),
    ):
        with pytest.raises(patterns.TextFormatError, match=message):
            patterns.check_text_formats(bad)


def test_line_aspect_is_measured_along_the_line() -> None:
    # A 200 x 50 line tilted by 30 degrees: its axis-aligned box is ~2.1:1, the line 4:1.
    c, s = np.cos(np.pi / 6), np.sin(np.pi / 6)
    rect = np.array([[0, 0], [200, 0], [200, 50], [0, 50]], dtype=np.float32)
    quad = np.asarray(rect @ np.array([[c, s], [-s, c]], dtype=np.float32).T, dtype=np.float32)
    assert formats.line_aspect(quad) == pytest.approx(4.0, rel=1e-3)


def test_square_likelihood_follows_the_plate_standards() -> None:
    # Text lines of US plates (12 x 6 in) are ~2.2:1, of European ones (520 x 110 mm) ~4:1.
    assert formats.square_likelihood(2.17) > 0.9
    assert formats.square_likelihood(3.98) < 0.1
    assert formats.square_likelihood(formats.SHAPE_MIDPOINT) == pytest.approx(0.5)
    values = [formats.square_likelihood(a) for a in (1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0)]
    assert values == sorted(values, reverse=True)


def test_no_letter_o_on_a_square_us_plate() -> None:
    # Most US states issue no O and draw their O as the 0: on a square (US-sized) line a US
    # format's O is read as the 0 ("CEMENT0", a vanity plate of the dev photos' US set).
    assert best("CEMENTO", aspect=2.2) == "CEMENT0"
    assert best("CEMENTO", regions=["us"], aspect=2.2) == "CEMENT0"
    # Without the shape (or on a long line) nothing tells a US plate: the O stands.
    assert best("CEMENTO") == "CEMENTO"
    assert best("CEMENTO", aspect=4.0) == "CEMENTO"
    # A regular US format too: LLLNNN with an O gives way to NLLNNN with a 0.
    assert best("OSG719", regions=["us"], aspect=2.2) == "0SG719"
    assert best("OSG719", regions=["us"], aspect=4.0) == "OSG719"


def test_a_long_plate_keeps_its_o() -> None:
    # The German WOBVWMK4 of the dev photos matches only a US vanity format: a penalty on
    # every read's O made it W0BVWMK4. Its line is long (3.3:1), so the O stays.
    assert best("WOBVWMK4", aspect=3.3) == "WOBVWMK4"
    assert best("WOBVWMK4", aspect=2.2) == "W0BVWMK4"  # the same read on a square line
