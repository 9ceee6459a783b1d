"""The same plate on the same camera within the cool-down is one passage."""

from __future__ import annotations

import time
from collections.abc import Callable

from platereader import PlateResult
from platereader.watchlist import normalize_plate


class Deduper:
    """The same plate on the same camera within the cool-down is one passage.

    A read repeats a recent one when its plate equals a recent plate or one of
    a recent read's candidates, or one of its candidates equals a recent plate
    (normalised: case, spaces and dashes ignored). Each sighting extends the
    passage.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._plates: dict[str, dict[str, float]] = {}  # camera -> plate -> last seen
        self._candidates: dict[str, dict[str, float]] = {}
        self._last_prune = clock()

    def seen(self, camera: str, result: PlateResult, cooldown: float) -> bool:
        now = self._clock()
        if now - self._last_prune > 60:
            self._prune(now, cooldown)
        plate = normalize_plate(result.plate or "")
        candidates = {normalize_plate(c.plate) for c in result.candidates} - {plate, ""}
        plates = self._plates.setdefault(camera, {})
        others = self._candidates.setdefault(camera, {})
        since = now - cooldown
        repeat = cooldown > 0 and (
            plates.get(plate, -1e18) >= since
            or others.get(plate, -1e18) >= since
            or any(plates.get(c, -1e18) >= since for c in candidates)
        )
        if plate:
            plates[plate] = now
        for candidate in candidates:
            others[candidate] = now
        return repeat

    def _prune(self, now: float, cooldown: float) -> None:
        self._last_prune = now
        horizon = now - max(cooldown, 3600.0)
        for table in (self._plates, self._candidates):
            for camera, seen in table.items():
                table[camera] = {k: t for k, t in seen.items() if t >= horizon}
