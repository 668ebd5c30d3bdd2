"""URL slugs."""

from __future__ import annotations

import re
import unicodedata

_LOWER_RUNS = re.compile(r"[^a-z0-9]+")
_MIXED_RUNS = re.compile(r"[^A-Za-z0-9]+")


def slugify(text: str, separator: str = "-", max_length: int | None = None, lowercase: bool = True) -> str:
    """Turn ``text`` into a URL-friendly slug.

    Accented letters are reduced to their ASCII base letter, every run of other characters becomes a
    single ``separator`` and leading/trailing separators are removed. With ``max_length`` the slug is
    shortened to at most that many characters without cutting a word in half, unless the first word
    alone is longer than ``max_length``.

    >>> slugify("Héllo, World!")
    'hello-world'
    """
    if not isinstance(text, str):
        raise TypeError(f"slugify() expects a str, got {type(text).__name__}")
    if not separator:
        raise ValueError("separator must not be empty")
    if max_length is not None and max_length < 1:
        raise ValueError(f"max_length must be at least 1, got {max_length}")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    if lowercase:
        ascii_text = ascii_text.lower()
        pattern = _LOWER_RUNS
    else:
        pattern = _MIXED_RUNS
    slug = pattern.sub(separator, ascii_text).strip(separator)
    if max_length is None or len(slug) <= max_length:
        return slug
    cut = slug[:max_length]
    ends_on_word = slug[max_length : max_length + len(separator)] == separator
    if not ends_on_word and separator in cut:
        cut = cut[: cut.rindex(separator)]
    return cut.strip(separator)
