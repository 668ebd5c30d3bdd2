"""Sets of real numbers made of disjoint intervals."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator

from intervals.interval import Interval, make_interval
from intervals.ops import merge


def _subtract(a: Interval, b: Interval) -> list[Interval]:
    """The parts of ``a`` outside ``b``: none, one or two intervals."""
    if not a.overlaps(b):
        return [a]
    pieces = []
    left = make_interval(a.start, b.start, a.left_closed, not b.left_closed)
    if left is not None:
        pieces.append(left)
    right = make_interval(b.end, a.end, not b.right_closed, a.right_closed)
    if right is not None:
        pieces.append(right)
    return pieces


class IntervalSet:
    """An immutable set of numbers stored as sorted, disjoint, non-adjacent intervals.

    >>> s = IntervalSet([Interval(0, 2), Interval(1, 3), Interval(5, 6)])
    >>> [str(i) for i in s]
    ['[0, 3]', '[5, 6]']
    """

    __slots__ = ("_items", "_starts")

    def __init__(self, intervals: Iterable[Interval] = ()) -> None:
        self._items: tuple[Interval, ...] = tuple(merge(intervals))
        self._starts = [item.start for item in self._items]

    @property
    def length(self) -> float:
        """Total length of the set."""
        return sum(item.length for item in self._items)

    @property
    def is_empty(self) -> bool:
        return not self._items

    def bounds(self) -> Interval | None:
        """The smallest interval containing the whole set, or None for the empty set."""
        if not self._items:
            return None
        return self._items[0].hull(self._items[-1])

    def __contains__(self, value: object) -> bool:
        if isinstance(value, Interval):
            return any(item.contains_interval(value) for item in self._items)
        index = bisect_right(self._starts, value) - 1
        if index < 0:
            return False
        return value in self._items[index]

    def union(self, other: IntervalSet) -> IntervalSet:
        return IntervalSet(self._items + other._items)

    def intersection(self, other: IntervalSet) -> IntervalSet:
        result = []
        i = j = 0
        while i < len(self._items) and j < len(other._items):
            a, b = self._items[i], other._items[j]
            common = a.intersection(b)
            if common is not None:
                result.append(common)
            if (a.end, a.right_closed) < (b.end, b.right_closed):
                i += 1
            else:
                j += 1
        return IntervalSet(result)

    def difference(self, other: IntervalSet) -> IntervalSet:
        pieces = list(self._items)
        for cut in other._items:
            pieces = [part for piece in pieces for part in _subtract(piece, cut)]
        return IntervalSet(pieces)

    def complement(self, within: Interval) -> IntervalSet:
        """Everything in ``within`` that is not in the set."""
        return IntervalSet([within]).difference(self)

    __or__ = union
    __and__ = intersection
    __sub__ = difference

    def __iter__(self) -> Iterator[Interval]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, IntervalSet):
            return NotImplemented
        return self._items == other._items

    def __hash__(self) -> int:
        return hash(self._items)

    def __repr__(self) -> str:
        return "IntervalSet([" + ", ".join(repr(item) for item in self._items) + "])"

    def __str__(self) -> str:
        if not self._items:
            return "{}"
        return " | ".join(str(item) for item in self._items)
