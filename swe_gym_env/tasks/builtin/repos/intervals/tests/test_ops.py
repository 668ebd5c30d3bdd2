import pytest

from intervals import Interval, gaps, max_overlap, merge, span, total_length


def test_merge_empty():
    assert merge([]) == []


def test_merge_sorts():
    assert merge([Interval(5, 6), Interval(0, 1)]) == [Interval(0, 1), Interval(5, 6)]


def test_merge_overlapping():
    assert merge([Interval(0, 3), Interval(2, 5), Interval(4, 8, "left")]) == [Interval(0, 8, "left")]


def test_merge_nested():
    assert merge([Interval(0, 10), Interval(2, 3), Interval(4, 5)]) == [Interval(0, 10)]


def test_merge_touching_closed():
    assert merge([Interval(0, 1), Interval(1, 2)]) == [Interval(0, 2)]


def test_merge_adjacent_half_open():
    assert merge([Interval(1, 2, "left"), Interval(0, 1, "left")]) == [Interval(0, 2, "left")]


def test_merge_keeps_open_gap_point():
    result = merge([Interval(0, 1, "left"), Interval(1, 2, "right")])
    assert result == [Interval(0, 1, "left"), Interval(1, 2, "right")]


def test_merge_same_start_different_closedness():
    assert merge([Interval(0, 2, "right"), Interval(0, 1)]) == [Interval(0, 2)]


def test_merge_rejects_non_intervals():
    with pytest.raises(TypeError, match="expected Interval objects, got tuple"):
        merge([(0, 1)])


def test_total_length():
    assert total_length([Interval(0, 2), Interval(1, 3), Interval(10, 11)]) == 4
    assert total_length([]) == 0


def test_span():
    assert span([Interval(3, 4), Interval(0, 1, "right"), Interval(2, 9, "left")]) == Interval(0, 9, "neither")


def test_span_single():
    assert span([Interval(1, 2, "left")]) == Interval(1, 2, "left")


def test_span_empty():
    with pytest.raises(ValueError, match=r"span\(\) of an empty list"):
        span([])


def test_gaps_between():
    result = gaps([Interval(0, 1), Interval(3, 4), Interval(6, 8)])
    assert result == [Interval(1, 3, "neither"), Interval(4, 6, "neither")]


def test_gaps_closedness_follows_neighbours():
    result = gaps([Interval(0, 1, "left"), Interval(3, 4, "right")])
    assert result == [Interval(1, 3)]


def test_gaps_open_point():
    assert gaps([Interval(0, 1, "left"), Interval(1, 2, "right")]) == [Interval(1, 1)]


def test_gaps_none():
    assert gaps([Interval(0, 5), Interval(2, 8)]) == []
    assert gaps([]) == []


def test_gaps_within():
    result = gaps([Interval(2, 3), Interval(5, 6)], within=Interval(0, 10))
    assert result == [Interval(0, 2, "left"), Interval(3, 5, "neither"), Interval(6, 10, "right")]


def test_gaps_within_clips_intervals():
    result = gaps([Interval(-5, 2), Interval(8, 20)], within=Interval(0, 10))
    assert result == [Interval(2, 8, "neither")]


def test_gaps_within_covered_ends():
    assert gaps([Interval(0, 10)], within=Interval(0, 10)) == []


def test_gaps_within_open_ends():
    result = gaps([Interval(0, 10, "neither")], within=Interval(-1, 11))
    assert result == [Interval(-1, 0), Interval(10, 11)]


def test_gaps_within_open_within():
    result = gaps([Interval(2, 3, "neither")], within=Interval(0, 10, "neither"))
    assert result == [Interval(0, 2, "right"), Interval(3, 10, "left")]


def test_gaps_within_nothing_inside():
    assert gaps([Interval(20, 30)], within=Interval(0, 10, "left")) == [Interval(0, 10, "left")]
    assert gaps([], within=Interval(0, 1)) == [Interval(0, 1)]


def test_max_overlap_empty():
    assert max_overlap([]) == 0


def test_max_overlap_disjoint():
    assert max_overlap([Interval(0, 1), Interval(2, 3)]) == 1


def test_max_overlap_nested():
    assert max_overlap([Interval(0, 10), Interval(1, 9), Interval(2, 8), Interval(20, 30)]) == 3


def test_max_overlap_staggered():
    items = [Interval(0, 4), Interval(1, 2), Interval(3, 6), Interval(5, 7)]
    assert max_overlap(items) == 2


def test_max_overlap_touching_closed():
    assert max_overlap([Interval(0, 1), Interval(1, 2)]) == 2


def test_max_overlap_touching_open():
    assert max_overlap([Interval(0, 1, "neither"), Interval(1, 2, "neither")]) == 1
    assert max_overlap([Interval(0, 1), Interval(1, 2, "right")]) == 1


def test_max_overlap_points():
    assert max_overlap([Interval(1, 1), Interval(1, 1), Interval(0, 1)]) == 3
