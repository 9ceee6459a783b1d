"""Polygon zones: only read plates of vehicles where we want them.

Frigate has its own zones, but they are per camera config and not every
installation defines them; these polygons let the bridge keep or drop a
detection by where it is in the image (e.g. the drive, not the street), with
ignore zones taking precedence (e.g. the neighbour's parking space inside the
drive's polygon).

Coordinates are whatever the caller uses consistently (pixels of the detect
stream, or 0..1 relative); :func:`box_anchor` gives the point Frigate itself
tests against its zones.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["Point", "Polygon", "box_anchor", "in_zones"]

Point = tuple[float, float]

# Points within this distance of an edge count as on it. Absolute, because
# coordinates are pixels or 0..1 fractions; 1e-9 is far below either's precision.
_EDGE_EPSILON = 1e-9


class Polygon:
    """A simple polygon; :meth:`contains` counts the boundary as inside.

    Points are given in order (clockwise or not); a repeated closing point
    (last == first) is accepted and dropped. Self-intersecting outlines are
    evaluated with the even-odd rule, like most drawing tools.
    """

    __slots__ = ("_max_x", "_max_y", "_min_x", "_min_y", "_points")

    def __init__(self, points: Sequence[tuple[float, float]]) -> None:
        cleaned: list[Point] = []
        for index, point in enumerate(points):
            if len(point) != 2:
                raise ValueError(f"polygon point {index} must be (x, y), got {point!r}")
            x, y = point
            if isinstance(x, bool) or isinstance(y, bool):
                raise ValueError(f"polygon point {index} must be numbers, got {point!r}")
            try:
                fx, fy = float(x), float(y)
            except (TypeError, ValueError):
                raise ValueError(f"polygon point {index} must be numbers, got {point!r}") from None
            if not (math.isfinite(fx) and math.isfinite(fy)):
                raise ValueError(f"polygon point {index} must be finite, got {point!r}")
            cleaned.append((fx, fy))
        if len(cleaned) > 1 and cleaned[0] == cleaned[-1]:
            cleaned.pop()  # explicitly closed outline
        if len(cleaned) < 3:
            raise ValueError(f"a polygon needs at least 3 distinct points, got {len(cleaned)}")
        if _area2(cleaned) == 0.0:
            # Collinear points enclose nothing: almost certainly a config mistake
            # (e.g. x and y swapped in one point), better reported than silently empty.
            raise ValueError("polygon has zero area (its points are collinear)")
        self._points: tuple[Point, ...] = tuple(cleaned)
        xs = [p[0] for p in cleaned]
        ys = [p[1] for p in cleaned]
        self._min_x, self._max_x = min(xs), max(xs)
        self._min_y, self._max_y = min(ys), max(ys)

    @classmethod
    def from_string(cls, coordinates: str) -> Polygon:
        """Parse Frigate's ``"x1,y1,x2,y2,..."`` zone coordinate string."""
        parts = [p.strip() for p in coordinates.split(",") if p.strip()]
        if len(parts) % 2:
            raise ValueError(f"zone coordinates need an even count of numbers, got {len(parts)}")
        try:
            values = [float(p) for p in parts]
        except ValueError:
            raise ValueError(f"zone coordinates must be numbers: {coordinates!r}") from None
        return cls(list(zip(values[0::2], values[1::2], strict=True)))

    @property
    def points(self) -> tuple[Point, ...]:
        return self._points

    def __repr__(self) -> str:
        return f"Polygon({list(self._points)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Polygon) and self._points == other._points

    def __hash__(self) -> int:
        return hash(self._points)

    def contains(self, point: tuple[float, float]) -> bool:
        """True if ``point`` is inside or on the boundary."""
        x, y = float(point[0]), float(point[1])
        if not (self._min_x <= x <= self._max_x and self._min_y <= y <= self._max_y):
            return False
        points = self._points
        n = len(points)
        inside = False
        for i in range(n):
            x1, y1 = points[i]
            x2, y2 = points[(i + 1) % n]
            if _on_segment(x, y, x1, y1, x2, y2):
                return True
            # Ray casting to +x: count edges crossing the horizontal line through
            # the point. The half-open test (y1 > y) != (y2 > y) counts a vertex
            # on the line exactly once and skips horizontal edges.
            if (y1 > y) != (y2 > y):
                x_cross = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
                if x < x_cross:
                    inside = not inside
        return inside


def _area2(points: Sequence[Point]) -> float:
    """Twice the signed area (shoelace); 0 for degenerate outlines."""
    total = 0.0
    n = len(points)
    for i in range(n):
        x1, y1 = points[i]
        x2, y2 = points[(i + 1) % n]
        total += x1 * y2 - x2 * y1
    return total


def _on_segment(px: float, py: float, x1: float, y1: float, x2: float, y2: float) -> bool:
    if not (min(x1, x2) - _EDGE_EPSILON <= px <= max(x1, x2) + _EDGE_EPSILON):
        return False
    if not (min(y1, y2) - _EDGE_EPSILON <= py <= max(y1, y2) + _EDGE_EPSILON):
        return False
    cross = (x2 - x1) * (py - y1) - (y2 - y1) * (px - x1)
    length = math.hypot(x2 - x1, y2 - y1)
    # |cross| / length is the distance from the line through the segment.
    return abs(cross) <= _EDGE_EPSILON * max(length, 1.0)


def box_anchor(box: Sequence[float]) -> Point:
    """Bottom-centre of an ``[x1, y1, x2, y2]`` box: where a vehicle touches the ground.

    Frigate tests zones with this point too, so a car whose roof overlaps the
    street polygon still counts as being in the drive.
    """
    if len(box) != 4:
        raise ValueError(f"box must be [x1, y1, x2, y2], got {box!r}")
    x1, _y1, x2, y2 = (float(v) for v in box)
    return ((x1 + x2) / 2.0, y2)


def in_zones(
    point: tuple[float, float],
    zones: Sequence[Polygon],
    ignore_zones: Sequence[Polygon] = (),
) -> bool:
    """Keep a detection at ``point``?

    True when it is inside at least one zone (or no zones are configured,
    meaning everywhere) and inside no ignore zone. Ignore zones win over zones.
    """
    if any(zone.contains(point) for zone in ignore_zones):
        return False
    return not zones or any(zone.contains(point) for zone in zones)
