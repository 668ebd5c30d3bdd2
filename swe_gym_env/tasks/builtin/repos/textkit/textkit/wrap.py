"""Word wrapping and truncation."""

from __future__ import annotations


def wrap(text: str, width: int = 70, indent: str = "", break_long_words: bool = True) -> list[str]:
    """Wrap ``text`` into lines of at most ``width`` characters, ``indent`` included.

    Whitespace is collapsed. A word longer than the available width is split across lines when
    ``break_long_words`` is true, and otherwise kept whole on a line of its own.
    """
    if width < 1:
        raise ValueError(f"width must be at least 1, got {width}")
    if len(indent) >= width:
        raise ValueError("indent must be shorter than width")
    available = width - len(indent)
    lines: list[str] = []
    current = ""
    for word in text.split():
        while break_long_words and len(word) > available:
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:available])
            word = word[available:]
        if not current:
            current = word
        elif len(current) + 1 + len(word) <= available:
            current = current + " " + word
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    return [indent + line for line in lines]


def truncate(text: str, length: int, ellipsis: str = "...", word_boundary: bool = False) -> str:
    """Shorten ``text`` to at most ``length`` characters, ending with ``ellipsis`` when cut.

    With ``word_boundary`` the cut moves back to the end of the last whole word, when there is one.
    """
    if length < 0:
        raise ValueError(f"length must not be negative, got {length}")
    if len(text) <= length:
        return text
    if len(ellipsis) > length:
        raise ValueError("ellipsis is longer than the requested length")
    keep = length - len(ellipsis)
    cut = text[:keep]
    if word_boundary and " " in cut and text[keep] != " ":
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip() + ellipsis
