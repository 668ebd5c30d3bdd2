"""Operations over lists of intervals."""

from __future__ import annotations

from collections.abc import Iterable

from intervals.interval import Interval, make_interval

# Order of events at one coordinate in max_overlap: an interval open at its end has left before the
# coordinate, intervals closed at their start and end both hold it, one open at its start comes after.
_OPEN_END, _CLOSED_START, _CLOSED_END, _OPEN_START = 0, 1, 2, 3


def _as_list(intervals: Iterable[Interval]) -> list[Interval]:
    items = list(intervals)
    for item in items:
        if not isinstance(item, Interval):
            raise TypeError(f"expected Interval objects, got {type(item).__name__}")
    return items


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Merge overlapping and adjacent intervals; the result is sorted and pairwise disjoint."""
    items = sorted(_as_list(intervals), key=Interval.sort_key)
    merged: list[Interval] = []
    for item in items:
        if merged and (merged[-1].overlaps(item) or merged[-1].is_adjacent(item)):
            merged[-1] = merged[-1].hull(item)
        else:
            merged.append(item)
    return merged


def total_length(intervals: Iterable[Interval]) -> float:
    """The length covered by the intervals, counting overlapping parts once."""
    return sum(item.length for item in merge(intervals))


def span(intervals: Iterable[Interval]) -> Interval:
    """The smallest interval containing all of them."""
    items = _as_list(intervals)
    if not items:
        raise ValueError("span() of an empty list of intervals")
    result = items[0]
    for item in items[1:]:
        result = result.hull(item)
    return result


def gaps(intervals: Iterable[Interval], within: Interval | None = None) -> list[Interval]:
    """The parts not covered by the intervals: between them, and with ``within`` also at its ends."""
    merged = merge(intervals)
    if within is not None:
        merged = [piece for piece in (item.intersection(within) for item in merged) if piece is not None]
        if not merged:
            return [within]
    result: list[Interval] = []
    if within is not None:
        first = merged[0]
        lead = make_interval(within.start, first.start, within.left_closed, not first.left_closed)
        if lead is not None:
            result.append(lead)
    for left, right in zip(merged, merged[1:]):
        result.append(Interval.from_bounds(left.end, right.start, not left.right_closed, not right.left_closed))
    if within is not None:
        last = merged[-1]
        tail = make_interval(last.end, within.end, not last.right_closed, within.right_closed)
        if tail is not None:
            result.append(tail)
    return result


def max_overlap(intervals: Iterable[Interval]) -> int:
    """The largest number of intervals that share a common point (0 for no intervals)."""
    events = []
    for item in _as_list(intervals):
        events.append((item.start, _CLOSED_START if item.left_closed else _OPEN_START, 1))
        events.append((item.end, _CLOSED_END if item.right_closed else _OPEN_END, -1))
    events.sort()
    depth = best = 0
    for _, _, delta in events:
        depth += delta
        best = max(best, depth)
    return best
