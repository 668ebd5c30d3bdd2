import pytest

from intervals import Interval, IntervalSet


def test_empty_set():
    s = IntervalSet()
    assert s.is_empty
    assert not s
    assert len(s) == 0
    assert s.length == 0
    assert s.bounds() is None
    assert str(s) == "{}"
    assert 1 not in s


def test_construction_merges():
    s = IntervalSet([Interval(5, 6), Interval(0, 2), Interval(1, 3)])
    assert list(s) == [Interval(0, 3), Interval(5, 6)]
    assert len(s) == 2
    assert s.length == 4


def test_bounds():
    s = IntervalSet([Interval(5, 6, "left"), Interval(0, 2, "right")])
    assert s.bounds() == Interval(0, 6, "neither")


def test_contains_points():
    s = IntervalSet([Interval(0, 2), Interval(5, 8, "neither")])
    assert 1 in s
    assert 2 in s
    assert 6.5 in s
    assert 3 not in s
    assert 8 not in s
    assert 9 not in s
    assert -1 not in s


def test_contains_interval():
    s = IntervalSet([Interval(0, 2), Interval(5, 8)])
    assert Interval(0.5, 1.5) in s
    assert Interval(5, 8) in s
    assert Interval(1, 6) not in s


def test_union():
    a = IntervalSet([Interval(0, 2)])
    b = IntervalSet([Interval(1, 4), Interval(6, 7)])
    assert list(a | b) == [Interval(0, 4), Interval(6, 7)]
    assert a.union(b) == b.union(a)


def test_intersection():
    a = IntervalSet([Interval(0, 4), Interval(6, 10)])
    b = IntervalSet([Interval(3, 7, "left"), Interval(9, 12)])
    assert list(a & b) == [Interval(3, 4), Interval(6, 7, "left"), Interval(9, 10)]


def test_intersection_empty():
    a = IntervalSet([Interval(0, 1)])
    assert (a & IntervalSet([Interval(2, 3)])).is_empty
    assert (a & IntervalSet()).is_empty


def test_intersection_long_interval_against_many():
    a = IntervalSet([Interval(0, 100)])
    b = IntervalSet([Interval(1, 2), Interval(3, 4), Interval(99, 120)])
    assert list(a & b) == [Interval(1, 2), Interval(3, 4), Interval(99, 100)]
    assert list(b & a) == [Interval(1, 2), Interval(3, 4), Interval(99, 100)]


def test_difference_middle():
    s = IntervalSet([Interval(0, 10)]) - IntervalSet([Interval(3, 5)])
    assert list(s) == [Interval(0, 3, "left"), Interval(5, 10, "right")]


def test_difference_open_cut():
    s = IntervalSet([Interval(0, 10)]) - IntervalSet([Interval(3, 5, "neither")])
    assert list(s) == [Interval(0, 3), Interval(5, 10)]


def test_difference_edges():
    s = IntervalSet([Interval(0, 10)]) - IntervalSet([Interval(-1, 2), Interval(8, 12)])
    assert list(s) == [Interval(2, 8, "neither")]


def test_difference_leaves_endpoint():
    s = IntervalSet([Interval(0, 10)]) - IntervalSet([Interval(0, 10, "neither")])
    assert list(s) == [Interval(0, 0), Interval(10, 10)]


def test_difference_everything():
    s = IntervalSet([Interval(2, 3)]) - IntervalSet([Interval(0, 10)])
    assert s.is_empty


def test_difference_disjoint():
    s = IntervalSet([Interval(0, 1)]) - IntervalSet([Interval(2, 3)])
    assert list(s) == [Interval(0, 1)]


def test_complement():
    s = IntervalSet([Interval(2, 3), Interval(5, 6, "left")])
    assert list(s.complement(Interval(0, 10))) == [
        Interval(0, 2, "left"),
        Interval(3, 5, "neither"),
        Interval(6, 10),
    ]


def test_complement_of_empty_set():
    assert list(IntervalSet().complement(Interval(0, 1))) == [Interval(0, 1)]


def test_equality_and_hash():
    a = IntervalSet([Interval(0, 1), Interval(1, 2)])
    b = IntervalSet([Interval(0, 2)])
    assert a == b
    assert hash(a) == hash(b)
    assert a != IntervalSet([Interval(0, 2, "left")])
    assert a != [Interval(0, 2)]


def test_repr_and_str():
    s = IntervalSet([Interval(0, 1), Interval(3, 4, "left")])
    assert repr(s) == "IntervalSet([Interval(0, 1, closed='both'), Interval(3, 4, closed='left')])"
    assert str(s) == "[0, 1] | [3, 4)"
