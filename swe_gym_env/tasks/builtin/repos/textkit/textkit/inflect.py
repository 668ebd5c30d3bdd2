"""English inflection helpers: plurals, ordinals and human-readable lists."""

from __future__ import annotations

from collections.abc import Sequence

VOWELS = "aeiou"

_IRREGULAR = {
    "child": "children",
    "foot": "feet",
    "goose": "geese",
    "man": "men",
    "mouse": "mice",
    "ox": "oxen",
    "person": "people",
    "tooth": "teeth",
    "woman": "women",
}
_UNCOUNTABLE = frozenset({"deer", "equipment", "fish", "information", "rice", "series", "sheep", "species"})
_F_TO_VES = frozenset({"calf", "half", "knife", "leaf", "life", "loaf", "shelf", "thief", "wife", "wolf"})
_O_TO_OES = frozenset({"echo", "hero", "potato", "tomato", "veto"})


def _match_case(original: str, plural: str) -> str:
    if original.isupper() and len(original) > 1:
        return plural.upper()
    if original[:1].isupper():
        return plural[:1].upper() + plural[1:]
    return plural


def pluralize(word: str, count: int = 2) -> str:
    """Return the plural of ``word`` unless ``count`` is 1 or -1.

    >>> pluralize("box"), pluralize("city"), pluralize("box", count=1)
    ('boxes', 'cities', 'box')
    """
    if count in (1, -1) or not word:
        return word
    lower = word.lower()
    if lower in _UNCOUNTABLE:
        return word
    if lower in _IRREGULAR:
        return _match_case(word, _IRREGULAR[lower])
    if lower in _F_TO_VES:
        stem = lower[:-2] if lower.endswith("fe") else lower[:-1]
        return _match_case(word, stem + "ves")
    if lower.endswith(("s", "x", "z", "ch", "sh")) or lower in _O_TO_OES:
        suffix = "es"
    elif lower.endswith("y") and len(lower) > 1 and lower[-2] not in VOWELS:
        return _match_case(word, lower[:-1] + "ies")
    else:
        suffix = "s"
    if word.isupper() and len(word) > 1:
        suffix = suffix.upper()
    return word + suffix


def ordinal(number: int) -> str:
    """``1 -> "1st"``, ``22 -> "22nd"``, ``13 -> "13th"``."""
    if isinstance(number, bool) or not isinstance(number, int):
        raise TypeError(f"ordinal() expects an int, got {type(number).__name__}")
    magnitude = abs(number)
    if 11 <= magnitude % 100 <= 13:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(magnitude % 10, "th")
    return f"{number}{suffix}"


def join_words(items: Sequence[str], conjunction: str = "and", oxford_comma: bool = True) -> str:
    """``["a", "b", "c"] -> "a, b, and c"``; two items are joined without a comma."""
    words = [str(item) for item in items]
    if not words:
        return ""
    if len(words) == 1:
        return words[0]
    if len(words) == 2:
        return f"{words[0]} {conjunction} {words[1]}"
    head = ", ".join(words[:-1])
    separator = ", " if oxford_comma else " "
    return f"{head}{separator}{conjunction} {words[-1]}"
