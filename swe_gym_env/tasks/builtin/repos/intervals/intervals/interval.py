"""A single interval of real numbers, closed or open at each end."""

from __future__ import annotations

import math

BOUNDS = {
    "both": (True, True),
    "left": (True, False),
    "right": (False, True),
    "neither": (False, False),
}
_NAMES = {flags: name for name, flags in BOUNDS.items()}


def _check_number(value: object, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what} must be a number, got {type(value).__name__}")
    if isinstance(value, float) and math.isnan(value):
        raise ValueError(f"{what} must not be NaN")


class Interval:
    """The interval from ``start`` to ``end``.

    ``closed`` says which endpoints belong to the interval: ``"both"`` ([a, b], the default),
    ``"left"`` ([a, b)), ``"right"`` ((a, b]) or ``"neither"`` ((a, b)). Empty intervals cannot be
    built: ``start`` must not exceed ``end``, and equal endpoints need ``closed="both"``.
    Operations whose result would be empty return ``None``.
    """

    __slots__ = ("start", "end", "left_closed", "right_closed")

    def __init__(self, start: float, end: float, closed: str = "both") -> None:
        if closed not in BOUNDS:
            raise ValueError(f"closed must be one of 'both', 'left', 'right', 'neither', got {closed!r}")
        _check_number(start, "start")
        _check_number(end, "end")
        if start > end:
            raise ValueError(f"start must not exceed end, got {start} > {end}")
        left_closed, right_closed = BOUNDS[closed]
        if start == end and not (left_closed and right_closed):
            raise ValueError("an interval with equal endpoints must be closed on both sides")
        self.start = start
        self.end = end
        self.left_closed = left_closed
        self.right_closed = right_closed

    @classmethod
    def from_bounds(cls, start: float, end: float, left_closed: bool, right_closed: bool) -> Interval:
        """Build an interval from endpoint flags instead of a ``closed`` name."""
        return cls(start, end, _NAMES[(bool(left_closed), bool(right_closed))])

    @property
    def closed(self) -> str:
        return _NAMES[(self.left_closed, self.right_closed)]

    @property
    def length(self) -> float:
        return self.end - self.start

    @property
    def midpoint(self) -> float:
        return (self.start + self.end) / 2

    @property
    def is_point(self) -> bool:
        return self.start == self.end

    def __contains__(self, value: float) -> bool:
        if value < self.start or value > self.end:
            return False
        if value == self.start and not self.left_closed:
            return False
        if value == self.end and not self.right_closed:
            return False
        return True

    def contains_interval(self, other: Interval) -> bool:
        """True when every point of ``other`` belongs to this interval."""
        if other.start < self.start or other.end > self.end:
            return False
        if other.start == self.start and other.left_closed and not self.left_closed:
            return False
        if other.end == self.end and other.right_closed and not self.right_closed:
            return False
        return True

    def intersection(self, other: Interval) -> Interval | None:
        """The common part of both intervals, or None when they do not overlap."""
        if self.start > other.start:
            start, left_closed = self.start, self.left_closed
        elif other.start > self.start:
            start, left_closed = other.start, other.left_closed
        else:
            start, left_closed = self.start, self.left_closed and other.left_closed
        if self.end < other.end:
            end, right_closed = self.end, self.right_closed
        elif other.end < self.end:
            end, right_closed = other.end, other.right_closed
        else:
            end, right_closed = self.end, self.right_closed and other.right_closed
        return make_interval(start, end, left_closed, right_closed)

    def overlaps(self, other: Interval) -> bool:
        """True when the intervals share at least one point."""
        return self.intersection(other) is not None

    def is_adjacent(self, other: Interval) -> bool:
        """True when the intervals share no point but their union has no gap, like [0, 1) and [1, 2]."""
        if self.end == other.start and self.right_closed != other.left_closed:
            return True
        if other.end == self.start and other.right_closed != self.left_closed:
            return True
        return False

    def hull(self, other: Interval) -> Interval:
        """The smallest interval containing both intervals."""
        if self.start < other.start:
            start, left_closed = self.start, self.left_closed
        elif other.start < self.start:
            start, left_closed = other.start, other.left_closed
        else:
            start, left_closed = self.start, self.left_closed or other.left_closed
        if self.end > other.end:
            end, right_closed = self.end, self.right_closed
        elif other.end > self.end:
            end, right_closed = other.end, other.right_closed
        else:
            end, right_closed = self.end, self.right_closed or other.right_closed
        return Interval.from_bounds(start, end, left_closed, right_closed)

    def union(self, other: Interval) -> Interval:
        """The union of two overlapping or adjacent intervals; ValueError when there is a gap."""
        if not (self.overlaps(other) or self.is_adjacent(other)):
            raise ValueError(f"{self} and {other} are disjoint; use IntervalSet for their union")
        return self.hull(other)

    def clamp(self, value: float) -> float:
        """The nearest point of the closure [start, end] to ``value``."""
        if value < self.start:
            return self.start
        if value > self.end:
            return self.end
        return value

    def shift(self, delta: float) -> Interval:
        """The interval moved by ``delta``."""
        return Interval(self.start + delta, self.end + delta, self.closed)

    def expand(self, amount: float) -> Interval:
        """Grow (or, with a negative amount, shrink) the interval by ``amount`` at each end."""
        start, end = self.start - amount, self.end + amount
        if start > end or (start == end and self.closed != "both"):
            raise ValueError(f"cannot shrink {self} by {-amount}: the result would be empty")
        return Interval(start, end, self.closed)

    def split(self, at: float) -> tuple[Interval, Interval]:
        """Split at a point strictly inside: ``[0, 10].split(4) == ([0, 4), [4, 10])``."""
        if not self.start < at < self.end:
            raise ValueError(f"split point {at} must lie strictly inside {self}")
        left = Interval.from_bounds(self.start, at, self.left_closed, False)
        right = Interval.from_bounds(at, self.end, True, self.right_closed)
        return left, right

    def sort_key(self) -> tuple:
        """Orders intervals by start (closed before open), then by end (open before closed)."""
        return (self.start, not self.left_closed, self.end, self.right_closed)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Interval):
            return NotImplemented
        return (self.start, self.end, self.left_closed, self.right_closed) == (
            other.start,
            other.end,
            other.left_closed,
            other.right_closed,
        )

    def __hash__(self) -> int:
        return hash((self.start, self.end, self.left_closed, self.right_closed))

    def __repr__(self) -> str:
        return f"Interval({self.start!r}, {self.end!r}, closed={self.closed!r})"

    def __str__(self) -> str:
        left = "[" if self.left_closed else "("
        right = "]" if self.right_closed else ")"
        return f"{left}{self.start}, {self.end}{right}"


def make_interval(start: float, end: float, left_closed: bool, right_closed: bool) -> Interval | None:
    """Like :meth:`Interval.from_bounds`, but None instead of an error when the result is empty."""
    if start > end or (start == end and not (left_closed and right_closed)):
        return None
    return Interval.from_bounds(start, end, left_closed, right_closed)
