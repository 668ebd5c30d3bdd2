"""Hand-written bug tasks over the built-in ``intervals`` library."""

from __future__ import annotations

from swe_gym_env.tasks.builtin.spec import Edit, TaskSpec

LIBRARY = "intervals"

TASKS: tuple[TaskSpec, ...] = (
    TaskSpec(
        name="intervals-1",
        library=LIBRARY,
        problem_statement="""\
`Interval.is_adjacent` gives a different answer depending on which interval it is called on.

```python
>>> from intervals import Interval
>>> a = Interval(0, 1, closed="left")   # [0, 1)
>>> b = Interval(1, 2)                  # [1, 2]
>>> a.is_adjacent(b), b.is_adjacent(a)
(True, False)
>>> b.union(a)
ValueError: [1, 2] and [0, 1) are disjoint; use IntervalSet for their union
```

`a.union(b)` returns `[0, 2]`, so I expected `b.is_adjacent(a)` to be True as well and
`b.union(a)` to give the same `[0, 2]`.
""",
        bug=(
            Edit(
                path="intervals/interval.py",
                old=(
                    "        if other.end == self.start and other.right_closed != self.left_closed:\n"
                    "            return True\n"
                ),
                new="",
            ),
        ),
        hidden_tests=(
            Edit(
                path="tests/test_interval.py",
                old="",
                new="""

def test_is_adjacent_is_symmetric():
    assert Interval(1, 2).is_adjacent(Interval(0, 1, "left"))
    assert Interval(1, 2, "right").is_adjacent(Interval(0, 1))
    assert not Interval(1, 2, "right").is_adjacent(Interval(0, 1, "left"))
    assert not Interval(1, 2).is_adjacent(Interval(0, 1))


def test_union_argument_order():
    assert Interval(1, 2).union(Interval(0, 1, "left")) == Interval(0, 2)
    assert Interval(5, 9, "neither").union(Interval(2, 5)) == Interval(2, 9, "left")
""",
            ),
        ),
        wrong_fix=(
            Edit(
                path="intervals/interval.py",
                old="        return False\n\n    def hull",
                new="        if other.end == self.start:\n            return True\n        return False\n\n    def hull",
            ),
        ),
    ),
    TaskSpec(
        name="intervals-2",
        library=LIBRARY,
        problem_statement="""\
`max_overlap` counts back-to-back half-open intervals as overlapping.

```python
>>> from intervals import Interval, max_overlap
>>> bookings = [Interval(9, 10, closed="left"), Interval(10, 11, closed="left")]
>>> max_overlap(bookings)
2
>>> bookings[0].overlaps(bookings[1])
False
```

[9, 10) and [10, 11) share no point, so I expected 1. I use this to compute how many rooms a
schedule needs, and it over-counts every time a meeting starts exactly when another one ends.
Closed intervals that touch, like [0, 1] and [1, 2], should of course still count as 2.
""",
        bug=(
            Edit(
                path="intervals/ops.py",
                old="_OPEN_END, _CLOSED_START, _CLOSED_END, _OPEN_START = 0, 1, 2, 3\n",
                new="_OPEN_END, _CLOSED_START, _CLOSED_END, _OPEN_START = 1, 0, 2, 3\n",
            ),
        ),
        hidden_tests=(
            Edit(
                path="tests/test_ops.py",
                old="",
                new="""

def test_max_overlap_back_to_back_bookings():
    bookings = [Interval(9, 10, "left"), Interval(10, 11, "left"), Interval(11, 12, "left")]
    assert max_overlap(bookings) == 1


def test_max_overlap_mixed_endpoints():
    assert max_overlap([Interval(0, 1, "left"), Interval(1, 2), Interval(1, 3)]) == 2
    assert max_overlap([Interval(0, 5), Interval(5, 6), Interval(5, 5)]) == 3
""",
            ),
        ),
        wrong_fix=(
            Edit(
                path="intervals/ops.py",
                old="_OPEN_END, _CLOSED_START, _CLOSED_END, _OPEN_START = 1, 0, 2, 3\n",
                new="_OPEN_END, _CLOSED_START, _CLOSED_END, _OPEN_START = 0, 2, 1, 3\n",
            ),
        ),
    ),
    TaskSpec(
        name="intervals-3",
        library=LIBRARY,
        problem_statement="""\
`in` on an `IntervalSet` misses the left endpoint of its intervals.

```python
>>> from intervals import Interval, IntervalSet
>>> s = IntervalSet([Interval(0, 2), Interval(5, 8)])
>>> 0 in s, 5 in s
(False, False)
>>> 0 in Interval(0, 2), 5 in Interval(5, 8)
(True, True)
```

Both intervals are closed, so I expected `(True, True)`. Points strictly inside work
(`1 in s` is True), and so does `Interval(5, 6) in s`.
""",
        bug=(
            Edit(
                path="intervals/intervalset.py",
                old="from bisect import bisect_right\n",
                new="from bisect import bisect_left\n",
            ),
            Edit(
                path="intervals/intervalset.py",
                old="        index = bisect_right(self._starts, value) - 1\n",
                new="        index = bisect_left(self._starts, value) - 1\n",
            ),
        ),
        hidden_tests=(
            Edit(
                path="tests/test_intervalset.py",
                old="",
                new="""

def test_contains_left_endpoints():
    s = IntervalSet([Interval(0, 2), Interval(5, 8, "left"), Interval(10, 12, "right")])
    assert 0 in s
    assert 5 in s
    assert 10 not in s
    assert 12 in s


def test_contains_single_points():
    s = IntervalSet([Interval(1, 1), Interval(3, 3)])
    assert 1 in s
    assert 3 in s
    assert 2 not in s
""",
            ),
        ),
        wrong_fix=(
            Edit(
                path="intervals/intervalset.py",
                old="        index = bisect_left(self._starts, value) - 1\n",
                new="        index = max(bisect_left(self._starts, value) - 1, 0)\n",
            ),
        ),
    ),
    TaskSpec(
        name="intervals-4",
        library=LIBRARY,
        problem_statement="""\
`Interval.intersection` includes a shared start point that only one of the two intervals contains.

```python
>>> from intervals import Interval
>>> a = Interval(0, 5)                   # [0, 5]
>>> b = Interval(0, 3, closed="right")   # (0, 3]
>>> c = a.intersection(b)
>>> c
Interval(0, 3, closed='both')
>>> 0 in c, 0 in b
(True, False)
```

Expected `Interval(0, 3, closed='right')`: 0 is not in `b`, so it cannot be in the intersection.
The same shows up through `IntervalSet([a]) & IntervalSet([b])`.
""",
        bug=(
            Edit(
                path="intervals/interval.py",
                old="            start, left_closed = self.start, self.left_closed and other.left_closed\n",
                new="            start, left_closed = self.start, self.left_closed or other.left_closed\n",
            ),
        ),
        hidden_tests=(
            Edit(
                path="tests/test_interval.py",
                old="",
                new="""

def test_intersection_common_start():
    result = Interval(0, 5).intersection(Interval(0, 3, "right"))
    assert result == Interval(0, 3, "right")
    assert 0 not in result


def test_intersection_common_start_other_order():
    assert Interval(0, 3, "right").intersection(Interval(0, 5)) == Interval(0, 3, "right")
    assert Interval(0, 5, "left").intersection(Interval(0, 5, "right")) == Interval(0, 5, "neither")
""",
            ),
            Edit(
                path="tests/test_intervalset.py",
                old="",
                new="""

def test_intersection_sets_common_start():
    a = IntervalSet([Interval(0, 4), Interval(6, 9)])
    b = IntervalSet([Interval(0, 2, "neither"), Interval(6, 7, "right")])
    assert list(a & b) == [Interval(0, 2, "neither"), Interval(6, 7, "right")]
""",
            ),
        ),
        wrong_fix=(
            Edit(
                path="intervals/interval.py",
                old=(
                    "            start, left_closed = self.start, self.left_closed or other.left_closed\n"
                    "        if self.end < other.end:\n"
                ),
                new="            start, left_closed = other.start, other.left_closed\n        if self.end < other.end:\n",
            ),
        ),
    ),
)
