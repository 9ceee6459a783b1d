"""Fixtures and helpers shared by every test tree."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
# Labelled photos and samples live beside the checkout, never inside it.
SHARED = REPO.parent / "shared"


def merge_sections(data: dict[str, Any], sections: dict[str, Any]) -> dict[str, Any]:
    """`data` with `sections` merged in, one level deep: a dict updates a dict, else replaces."""
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return data


@pytest.fixture
def shared_dir() -> Path:
    """`../shared`, or skip the test cleanly when it is not there."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not available")
    return SHARED


@pytest.fixture
def demo_jpg(shared_dir: Path) -> Path:
    path = shared_dir / "samples" / "demo.jpg"
    if not path.is_file():
        pytest.skip(f"{path} is not available")
    return path


# The fake Plate Recognizer API: every tree's tests use it.
from tests.fake_api.fixtures import fake_api, fake_api_thread, fake_onprem  # noqa: E402, F401
