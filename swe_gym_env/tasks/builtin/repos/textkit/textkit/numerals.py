"""Roman numerals."""

from __future__ import annotations

MIN_ROMAN = 1
MAX_ROMAN = 3999

_NUMERALS = (
    (1000, "M"),
    (900, "CM"),
    (500, "D"),
    (400, "CD"),
    (100, "C"),
    (90, "XC"),
    (50, "L"),
    (40, "XL"),
    (10, "X"),
    (9, "IX"),
    (5, "V"),
    (4, "IV"),
    (1, "I"),
)
_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}


def to_roman(number: int) -> str:
    """Write ``number`` (1 to 3999) as a roman numeral: ``to_roman(1994) == "MCMXCIV"``."""
    if isinstance(number, bool) or not isinstance(number, int):
        raise TypeError(f"to_roman() expects an int, got {type(number).__name__}")
    if not MIN_ROMAN <= number <= MAX_ROMAN:
        raise ValueError(f"roman numerals are defined for {MIN_ROMAN} to {MAX_ROMAN}, got {number}")
    parts = []
    for value, symbol in _NUMERALS:
        count, number = divmod(number, value)
        parts.append(symbol * count)
    return "".join(parts)


def from_roman(numeral: str) -> int:
    """Read a canonical roman numeral (case-insensitive): ``from_roman("xiv") == 14``."""
    if not isinstance(numeral, str):
        raise TypeError(f"from_roman() expects a str, got {type(numeral).__name__}")
    text = numeral.strip().upper()
    if not text:
        raise ValueError("empty roman numeral")
    for ch in text:
        if ch not in _VALUES:
            raise ValueError(f"invalid roman numeral character {ch!r}")
    total = 0
    for i, ch in enumerate(text):
        value = _VALUES[ch]
        if i + 1 < len(text) and _VALUES[text[i + 1]] > value:
            total -= value
        else:
            total += value
    if not MIN_ROMAN <= total <= MAX_ROMAN or to_roman(total) != text:
        raise ValueError(f"{numeral!r} is not a canonical roman numeral")
    return total
