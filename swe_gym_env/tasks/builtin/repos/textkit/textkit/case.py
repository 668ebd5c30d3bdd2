"""Case conversion: snake_case, kebab-case, camelCase, PascalCase and Title Case."""

from __future__ import annotations

SMALL_WORDS = frozenset({"a", "an", "and", "as", "at", "but", "by", "for", "in", "of", "on", "or", "the", "to"})


def split_words(text: str) -> list[str]:
    """Split ``text`` into words at separators, case changes and letter/digit changes.

    An acronym followed by a capitalised word is split before the word's first letter:
    ``"HTTPServer"`` gives ``["HTTP", "Server"]``.
    """
    words: list[str] = []
    current = ""
    for i, ch in enumerate(text):
        if not ch.isalnum():
            if current:
                words.append(current)
                current = ""
            continue
        if current:
            prev = current[-1]
            nxt = text[i + 1] if i + 1 < len(text) else ""
            boundary = (
                (prev.islower() and ch.isupper())
                or (prev.isalpha() != ch.isalpha())
                or (prev.isupper() and ch.isupper() and nxt.islower())
            )
            if boundary:
                words.append(current)
                current = ""
        current += ch
    if current:
        words.append(current)
    return words


def snake_case(text: str) -> str:
    """``"Hello World"`` -> ``"hello_world"``."""
    return "_".join(word.lower() for word in split_words(text))


def kebab_case(text: str) -> str:
    """``"Hello World"`` -> ``"hello-world"``."""
    return "-".join(word.lower() for word in split_words(text))


def camel_case(text: str) -> str:
    """``"hello world"`` -> ``"helloWorld"``."""
    words = split_words(text)
    if not words:
        return ""
    return words[0].lower() + "".join(word.capitalize() for word in words[1:])


def pascal_case(text: str) -> str:
    """``"hello world"`` -> ``"HelloWorld"``."""
    return "".join(word.capitalize() for word in split_words(text))


def title_case(text: str, small_words: frozenset[str] = SMALL_WORDS) -> str:
    """Capitalise each word of ``text``, keeping ``small_words`` lower case except first and last."""
    words = text.split()
    result = []
    last = len(words) - 1
    for index, word in enumerate(words):
        if 0 < index < last and word.lower() in small_words:
            result.append(word.lower())
        else:
            result.append(word[:1].upper() + word[1:].lower())
    return " ".join(result)
