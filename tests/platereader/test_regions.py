"""Region codes: one definition for the client, the bridge, the integration and the engine."""

from __future__ import annotations

import pytest

from platereader import (
    EngineConfig,
    PlateReaderConfigError,
    is_region_code,
    normalize_regions,
    require_regions,
)


def test_normalize_regions() -> None:
    # Lower case, stripped, in order, without duplicates.
    assert normalize_regions([" GB", "us-CA", "gb"]) == ["gb", "us-ca"]
    # A lone string is one code, not its letters.
    assert normalize_regions("mx") == ["mx"]
    # An unquoted `no` read by a YAML 1.1 parser is False: it can only mean Norway.
    assert normalize_regions([False, "se"]) == ["no", "se"]
    with pytest.raises(PlateReaderConfigError, match="'norway' is not a region code"):
        normalize_regions(["gb", "norway"])
    with pytest.raises(ValueError, match="region"):  # a ValueError for pydantic and HA forms
        normalize_regions([True])


@pytest.mark.parametrize(
    ("code", "ok"),
    [("gb", True), ("us-ca", True), ("br-sp1", True), ("GB", False), ("g", False), ("x1y", False)],
)
def test_is_region_code(code: str, ok: bool) -> None:
    assert is_region_code(code) is ok


def test_strict_region_needs_regions() -> None:
    strict = EngineConfig(region="strict")
    require_regions(strict, ["gb"])
    require_regions(None, [])
    require_regions(EngineConfig(mode="fast"), [])
    with pytest.raises(PlateReaderConfigError, match="region: strict"):
        require_regions(strict, [])
