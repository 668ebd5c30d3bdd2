import math

import pytest

from intervals import Interval


def test_defaults_to_closed():
    iv = Interval(1, 3)
    assert iv.left_closed and iv.right_closed
    assert iv.closed == "both"


@pytest.mark.parametrize(
    "closed,left,right",
    [("both", True, True), ("left", True, False), ("right", False, True), ("neither", False, False)],
)
def test_closed_flags(closed, left, right):
    iv = Interval(0, 1, closed)
    assert (iv.left_closed, iv.right_closed) == (left, right)
    assert iv.closed == closed


def test_from_bounds():
    assert Interval.from_bounds(0, 1, True, False) == Interval(0, 1, "left")
    assert Interval.from_bounds(0, 1, False, False) == Interval(0, 1, "neither")
    assert Interval.from_bounds(0, 1, 0, 1) == Interval(0, 1, "right")


def test_invalid_closed_name():
    with pytest.raises(ValueError, match="closed must be one of 'both', 'left', 'right', 'neither', got 'open'"):
        Interval(0, 1, "open")


def test_start_after_end():
    with pytest.raises(ValueError, match="start must not exceed end, got 3 > 1"):
        Interval(3, 1)


def test_point_interval_must_be_closed():
    assert Interval(2, 2).is_point
    with pytest.raises(ValueError, match="equal endpoints must be closed on both sides"):
        Interval(2, 2, "left")
    with pytest.raises(ValueError, match="equal endpoints"):
        Interval(2, 2, "neither")


def test_endpoints_must_be_numbers():
    with pytest.raises(TypeError, match="start must be a number, got str"):
        Interval("0", 1)
    with pytest.raises(TypeError, match="end must be a number, got bool"):
        Interval(0, True)


def test_nan_rejected():
    with pytest.raises(ValueError, match="end must not be NaN"):
        Interval(0, math.nan)


def test_infinite_endpoints():
    iv = Interval(-math.inf, 0, "right")
    assert -1e300 in iv
    assert iv.length == math.inf


def test_length_and_midpoint():
    iv = Interval(2, 7, "neither")
    assert iv.length == 5
    assert iv.midpoint == 4.5
    assert not iv.is_point
    assert Interval(3, 3).length == 0


@pytest.mark.parametrize(
    "closed,values",
    [
        ("both", {0: True, 5: True, 10: True}),
        ("left", {0: True, 5: True, 10: False}),
        ("right", {0: False, 5: True, 10: True}),
        ("neither", {0: False, 5: True, 10: False}),
    ],
)
def test_contains_endpoints(closed, values):
    iv = Interval(0, 10, closed)
    for value, expected in values.items():
        assert (value in iv) is expected


def test_contains_outside():
    iv = Interval(0, 10)
    assert -0.001 not in iv
    assert 10.001 not in iv
    assert 9.999 in iv


def test_contains_interval():
    outer = Interval(0, 10)
    assert outer.contains_interval(Interval(2, 3))
    assert outer.contains_interval(Interval(0, 10))
    assert outer.contains_interval(Interval(0, 10, "neither"))
    assert not outer.contains_interval(Interval(-1, 3))
    assert not outer.contains_interval(Interval(5, 11))


def test_contains_interval_open_outer():
    outer = Interval(0, 10, "neither")
    assert outer.contains_interval(Interval(0, 10, "neither"))
    assert not outer.contains_interval(Interval(0, 5))
    assert not outer.contains_interval(Interval(5, 10))
    assert not outer.contains_interval(Interval(0, 10, "left"))
    assert outer.contains_interval(Interval(0, 5, "right"))


def test_intersection_overlapping():
    assert Interval(0, 5).intersection(Interval(3, 8)) == Interval(3, 5)
    assert Interval(3, 8).intersection(Interval(0, 5)) == Interval(3, 5)


def test_intersection_keeps_inner_closedness():
    assert Interval(0, 5, "left").intersection(Interval(3, 8, "right")) == Interval(3, 5, "neither")
    assert Interval(3, 8, "right").intersection(Interval(0, 5, "left")) == Interval(3, 5, "neither")


def test_intersection_nested():
    assert Interval(0, 10).intersection(Interval(2, 3, "left")) == Interval(2, 3, "left")


def test_intersection_same_interval():
    iv = Interval(1, 4, "right")
    assert iv.intersection(Interval(1, 4, "right")) == iv


def test_intersection_equal_ends():
    assert Interval(0, 5).intersection(Interval(2, 5, "left")) == Interval(2, 5, "left")
    assert Interval(2, 5, "left").intersection(Interval(0, 5)) == Interval(2, 5, "left")


def test_intersection_touching_closed_is_a_point():
    assert Interval(0, 1).intersection(Interval(1, 2)) == Interval(1, 1)


def test_intersection_touching_open_is_none():
    assert Interval(0, 1, "left").intersection(Interval(1, 2)) is None
    assert Interval(0, 1).intersection(Interval(1, 2, "right")) is None


def test_intersection_disjoint():
    assert Interval(0, 1).intersection(Interval(2, 3)) is None


def test_overlaps():
    assert Interval(0, 2).overlaps(Interval(1, 3))
    assert Interval(0, 1).overlaps(Interval(1, 2))
    assert not Interval(0, 1, "left").overlaps(Interval(1, 2))
    assert not Interval(0, 1).overlaps(Interval(1.5, 2))


def test_is_adjacent():
    assert Interval(0, 1, "left").is_adjacent(Interval(1, 2))
    assert Interval(0, 1).is_adjacent(Interval(1, 2, "right"))


def test_is_adjacent_false_cases():
    assert not Interval(0, 1).is_adjacent(Interval(1, 2))
    assert not Interval(0, 1, "left").is_adjacent(Interval(1, 2, "right"))
    assert not Interval(0, 1).is_adjacent(Interval(2, 3))
    assert not Interval(0, 2).is_adjacent(Interval(1, 3))


def test_hull():
    assert Interval(0, 1).hull(Interval(5, 6, "right")) == Interval(0, 6)
    assert Interval(5, 6, "left").hull(Interval(0, 1, "neither")) == Interval(0, 6, "neither")


def test_hull_equal_endpoints_prefers_closed():
    assert Interval(0, 5, "neither").hull(Interval(0, 5)) == Interval(0, 5)
    assert Interval(0, 5, "left").hull(Interval(0, 5, "right")) == Interval(0, 5)
    assert Interval(0, 5, "neither").hull(Interval(0, 5, "neither")) == Interval(0, 5, "neither")


def test_union_overlapping():
    assert Interval(0, 3).union(Interval(2, 5, "left")) == Interval(0, 5, "left")


def test_union_adjacent():
    assert Interval(0, 1, "left").union(Interval(1, 2)) == Interval(0, 2)


def test_union_disjoint_raises():
    with pytest.raises(ValueError, match=r"\[0, 1\) and \(1, 2\] are disjoint"):
        Interval(0, 1, "left").union(Interval(1, 2, "right"))


def test_clamp():
    iv = Interval(0, 10, "neither")
    assert iv.clamp(-5) == 0
    assert iv.clamp(15) == 10
    assert iv.clamp(3) == 3
    assert iv.clamp(0) == 0
    assert iv.clamp(10) == 10


def test_shift():
    assert Interval(0, 2, "left").shift(3) == Interval(3, 5, "left")
    assert Interval(0, 2).shift(-1.5) == Interval(-1.5, 0.5)


def test_expand_and_shrink():
    assert Interval(2, 4, "right").expand(1) == Interval(1, 5, "right")
    assert Interval(0, 10).expand(-5) == Interval(5, 5)


def test_shrink_too_far():
    with pytest.raises(ValueError, match=r"cannot shrink \[0, 10\] by 6"):
        Interval(0, 10).expand(-6)


def test_shrink_open_to_point():
    with pytest.raises(ValueError, match="would be empty"):
        Interval(0, 10, "left").expand(-5)


def test_split():
    left, right = Interval(0, 10).split(4)
    assert left == Interval(0, 4, "left")
    assert right == Interval(4, 10)


def test_split_open_interval():
    left, right = Interval(0, 10, "neither").split(4)
    assert left == Interval(0, 4, "neither")
    assert right == Interval(4, 10, "left")


@pytest.mark.parametrize("at", [0, 10, -1, 11])
def test_split_point_must_be_inside(at):
    with pytest.raises(ValueError, match="must lie strictly inside"):
        Interval(0, 10).split(at)


def test_sort_key_order():
    items = [Interval(1, 2), Interval(0, 5, "right"), Interval(0, 3), Interval(0, 3, "left"), Interval(0, 5)]
    ordered = sorted(items, key=Interval.sort_key)
    assert [str(i) for i in ordered] == ["[0, 3)", "[0, 3]", "[0, 5]", "(0, 5]", "[1, 2]"]


def test_equality_and_hash():
    assert Interval(0, 1) == Interval(0, 1, "both")
    assert Interval(0, 1) != Interval(0, 1, "left")
    assert Interval(0, 1) != Interval(0, 2)
    assert Interval(0, 1) != (0, 1)
    assert len({Interval(0, 1), Interval(0, 1), Interval(0, 1, "left")}) == 2


def test_repr_and_str():
    iv = Interval(1, 2.5, "right")
    assert repr(iv) == "Interval(1, 2.5, closed='right')"
    assert str(iv) == "(1, 2.5]"
    assert str(Interval(0, 1)) == "[0, 1]"
    assert str(Interval(0, 1, "neither")) == "(0, 1)"
