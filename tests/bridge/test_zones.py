"""Polygon zones: containment, boundary, concave shapes, ignore-zone precedence, validation."""

from __future__ import annotations

import random

import pytest

from bridge.zones import Polygon, box_anchor, in_zones

SQUARE = Polygon([(0, 0), (10, 0), (10, 10), (0, 10)])
# A "U": the notch x in (4, 6), y in (4, 10] is outside.
U_SHAPE = Polygon([(0, 0), (10, 0), (10, 10), (6, 10), (6, 4), (4, 4), (4, 10), (0, 10)])
TRIANGLE = Polygon([(0, 0), (8, 0), (4, 6)])


@pytest.mark.parametrize(
    ("point", "inside"),
    [
        ((5, 5), True),
        ((0.001, 9.999), True),
        ((-0.001, 5), False),
        ((10.001, 5), False),
        ((5, 11), False),
        ((100, 100), False),
    ],
)
def test_convex_square(point: tuple[float, float], inside: bool) -> None:
    assert SQUARE.contains(point) is inside


@pytest.mark.parametrize(
    "point",
    [(0, 0), (10, 10), (5, 0), (10, 5), (5, 10), (0, 5), (0.0, 7.25)],
)
def test_boundary_counts_as_inside(point: tuple[float, float]) -> None:
    assert SQUARE.contains(point)


def test_triangle_edges_and_outside() -> None:
    assert TRIANGLE.contains((4, 3))
    assert TRIANGLE.contains((2, 3))  # on the slanted edge (0,0)-(4,6)
    assert TRIANGLE.contains((4, 6))  # apex
    assert not TRIANGLE.contains((1, 5))
    assert not TRIANGLE.contains((4, 6.01))


@pytest.mark.parametrize(
    ("point", "inside"),
    [
        ((2, 8), True),  # left arm
        ((8, 8), True),  # right arm
        ((5, 2), True),  # base
        ((5, 8), False),  # the notch
        ((5, 4), True),  # bottom edge of the notch is boundary
        ((4, 7), True),  # notch's left wall is boundary
        ((5, 10), False),  # notch opening: not part of the polygon
    ],
)
def test_concave_polygon(point: tuple[float, float], inside: bool) -> None:
    assert U_SHAPE.contains(point) is inside


def test_ray_through_vertex_is_counted_once() -> None:
    # The horizontal ray from (2, 4) passes exactly through the notch's vertices (4,4) and (6,4).
    assert U_SHAPE.contains((2, 4))
    diamond = Polygon([(5, 0), (10, 5), (5, 10), (0, 5)])
    assert diamond.contains((2, 5))  # ray passes through vertex (10, 5)
    assert not diamond.contains((-1, 5))  # ray passes through both (0,5) and (10,5)


def test_orientation_does_not_matter() -> None:
    clockwise = Polygon(list(reversed(U_SHAPE.points)))
    rng = random.Random(3)
    for _ in range(500):
        point = (rng.uniform(-2, 12), rng.uniform(-2, 12))
        assert clockwise.contains(point) == U_SHAPE.contains(point)


def test_closing_point_is_dropped() -> None:
    closed = Polygon([(0, 0), (10, 0), (10, 10), (0, 10), (0, 0)])
    assert closed == SQUARE
    assert len(closed.points) == 4


def test_relative_coordinates() -> None:
    zone = Polygon([(0.1, 0.5), (0.9, 0.5), (0.9, 1.0), (0.1, 1.0)])
    assert zone.contains((0.5, 0.75))
    assert zone.contains((0.1, 0.6))
    assert not zone.contains((0.5, 0.49))


def test_from_frigate_coordinate_string() -> None:
    zone = Polygon.from_string("0,461,3,0,1919,0,1919,843,1699,492,1344,458,1346,336,973,317")
    assert len(zone.points) == 8
    assert zone.contains((1000, 100))
    with pytest.raises(ValueError, match="even"):
        Polygon.from_string("1,2,3")
    with pytest.raises(ValueError, match="numbers"):
        Polygon.from_string("1,2,3,x,5,6")


@pytest.mark.parametrize(
    ("points", "message"),
    [
        ([], "at least 3"),
        ([(0, 0), (1, 1)], "at least 3"),
        ([(0, 0), (1, 1), (0, 0)], "at least 3"),  # closed, but only 2 distinct
        ([(0, 0), (1, 1), (2, 2)], "zero area"),
        ([(0, 0), (1, 0), (float("nan"), 1)], "finite"),
        ([(0, 0), (1, 0), (float("inf"), 1)], "finite"),
        ([(0, 0), (1, 0), ("a", 1)], "numbers"),
        ([(0, 0), (1, 0), (True, 1)], "numbers"),
        ([(0, 0), (1, 0), (1, 1, 1)], r"\(x, y\)"),
    ],
)
def test_invalid_polygons(points: list[tuple[float, float]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Polygon(points)


def test_in_zones_semantics() -> None:
    drive = Polygon([(0, 0), (100, 0), (100, 100), (0, 100)])
    street = Polygon([(200, 0), (300, 0), (300, 100), (200, 100)])
    neighbour = Polygon([(60, 60), (100, 60), (100, 100), (60, 100)])  # inside the drive

    assert in_zones((50, 50), [])  # no zones: everywhere
    assert in_zones((50, 50), [drive])
    assert in_zones((250, 50), [drive, street])  # any zone
    assert not in_zones((150, 50), [drive, street])
    # ignore zones take precedence, including their boundary
    assert not in_zones((80, 80), [drive], [neighbour])
    assert not in_zones((60, 80), [drive], [neighbour])
    assert in_zones((30, 30), [drive], [neighbour])
    # ignore zones alone: everywhere except them
    assert not in_zones((80, 80), [], [neighbour])
    assert in_zones((500, 500), [], [neighbour])


def test_box_anchor_is_bottom_centre() -> None:
    assert box_anchor([100, 50, 300, 250]) == (200.0, 250.0)
    with pytest.raises(ValueError, match="x1, y1, x2, y2"):
        box_anchor([1, 2, 3])


def test_polygon_is_hashable_and_repr() -> None:
    assert {SQUARE, Polygon([(0, 0), (10, 0), (10, 10), (0, 10)])} == {SQUARE}
    assert "Polygon(" in repr(SQUARE)
