"""`watchlist:` the plates to recognise; matching itself is `platereader.watchlist`."""

from __future__ import annotations

from typing import Any, Self

from pydantic import Field, field_validator, model_validator

from platereader.watchlist import MAX_TOLERANCE, WatchEntry, tolerance_from_config

from .types import Section


class WatchEntryConfig(Section):
    name: str
    plate: str = Field(min_length=1)
    owner: str | None = None
    tags: list[str] = Field(default_factory=list)
    tolerance: int = Field(
        default=0,
        description="Real characters that may differ (0-2; OCR look-alikes such as O/0 "
        "never count). 1 lets through any plate differing from this one in one character: "
        "a neighbour's car may open the gate. Older decimal values keep their whole part; "
        "values up to 4 are read as 2.",
    )

    @field_validator("tolerance", mode="before")
    @classmethod
    def _tolerance(cls, value: Any) -> int:
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 4:
            raise ValueError(f"must be 0 to {MAX_TOLERANCE} characters, got {value!r}")
        return tolerance_from_config(value)

    @model_validator(mode="after")
    def _entry(self) -> Self:
        self.to_entry()  # the plate's own checks (letters or digits, length)
        return self

    def to_entry(self) -> WatchEntry:
        return WatchEntry(
            name=self.name,
            plate=self.plate,
            owner=self.owner,
            tags=tuple(self.tags),
            tolerance=self.tolerance,
        )
