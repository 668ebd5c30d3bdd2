"""Exceptions raised by tinyini."""

from __future__ import annotations


class TinyIniError(Exception):
    """Base class of every tinyini error."""


class ParseError(TinyIniError, ValueError):
    """The text is not valid INI; ``lineno`` is 1-based."""

    def __init__(self, message: str, lineno: int) -> None:
        super().__init__(f"line {lineno}: {message}")
        self.message = message
        self.lineno = lineno


class MissingSectionError(TinyIniError, KeyError):
    def __init__(self, section: str) -> None:
        super().__init__(section)
        self.section = section

    def __str__(self) -> str:
        return f"no section {self.section!r}"


class MissingOptionError(TinyIniError, KeyError):
    def __init__(self, section: str, option: str) -> None:
        super().__init__(option)
        self.section = section
        self.option = option

    def __str__(self) -> str:
        return f"no option {self.option!r} in section {self.section!r}"


class InterpolationError(TinyIniError, ValueError):
    """A ``${...}`` reference cannot be resolved."""
