"""String distances and fuzzy matching."""

from __future__ import annotations

from collections.abc import Iterable


def levenshtein(a: str, b: str) -> int:
    """Minimum number of single-character insertions, deletions and substitutions turning a into b."""
    if a == b:
        return 0
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return len(a)
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            cost = 0 if ca == cb else 1
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost))
        previous = current
    return previous[-1]


def hamming(a: str, b: str) -> int:
    """Number of positions at which two strings of equal length differ."""
    if len(a) != len(b):
        raise ValueError(f"hamming distance needs strings of equal length, got {len(a)} and {len(b)}")
    return sum(1 for x, y in zip(a, b) if x != y)


def similarity(a: str, b: str) -> float:
    """A ratio in [0, 1]: 1 minus the edit distance over the longer length (1.0 for two empty strings)."""
    longest = max(len(a), len(b))
    if longest == 0:
        return 1.0
    return 1.0 - levenshtein(a, b) / longest


def closest(word: str, candidates: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The candidate most similar to ``word`` with a similarity of at least ``cutoff``, or None.

    Ties go to the candidate that comes first.
    """
    if not 0.0 <= cutoff <= 1.0:
        raise ValueError(f"cutoff must be between 0 and 1, got {cutoff}")
    best = None
    best_score = -1.0
    for candidate in candidates:
        score = similarity(word, candidate)
        if score >= cutoff and score > best_score:
            best = candidate
            best_score = score
    return best
