"""intervals: numeric intervals with open and closed endpoints."""

from intervals.interval import Interval
from intervals.intervalset import IntervalSet
from intervals.ops import gaps, max_overlap, merge, span, total_length

__version__ = "1.2.0"

__all__ = ["Interval", "IntervalSet", "gaps", "max_overlap", "merge", "span", "total_length"]
