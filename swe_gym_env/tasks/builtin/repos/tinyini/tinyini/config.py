"""The Config object: sections of options, typed getters and ${...} interpolation."""

from __future__ import annotations

import re
from typing import Any, Callable

from tinyini.errors import InterpolationError, MissingOptionError, MissingSectionError

DEFAULT_SECTION = "DEFAULT"
MAX_INTERPOLATION_DEPTH = 10
TRUE_WORDS = frozenset({"1", "yes", "true", "on"})
FALSE_WORDS = frozenset({"0", "no", "false", "off"})

_REFERENCE = re.compile(r"\$(?:\$|\{([^}]*)\})")
_MISSING: Any = object()


def _to_int(text: str) -> int:
    text = text.strip().lower()
    digits = text.lstrip("+-")
    if digits.startswith(("0x", "0o", "0b")):
        return int(text, 0)
    return int(text, 10)


def _to_bool(text: str) -> bool:
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(word)


class Config:
    """Ordered sections of string options.

    Option names are case-insensitive (stored lower case); section names are case-sensitive.
    Options of the ``DEFAULT`` section are visible from every other section.
    """

    def __init__(self) -> None:
        self._sections: dict[str, dict[str, str]] = {}

    # -- structure -------------------------------------------------------------------------

    def sections(self) -> list[str]:
        """Section names in file order, without ``DEFAULT``."""
        return [name for name in self._sections if name != DEFAULT_SECTION]

    def has_section(self, name: str) -> bool:
        return name in self._sections

    def add_section(self, name: str) -> None:
        if not isinstance(name, str) or not name.strip():
            raise ValueError("section name must be a non-empty string")
        if "]" in name or "\n" in name:
            raise ValueError(f"invalid section name {name!r}")
        if name in self._sections:
            raise ValueError(f"section {name!r} already exists")
        self._sections[name] = {}

    def remove_section(self, name: str) -> bool:
        return self._sections.pop(name, None) is not None

    def options(self, section: str) -> list[str]:
        """Option names of ``section`` followed by inherited ``DEFAULT`` ones."""
        own = self._section(section)
        names = list(own)
        if section != DEFAULT_SECTION:
            names += [key for key in self._sections.get(DEFAULT_SECTION, {}) if key not in own]
        return names

    def has_option(self, section: str, option: str) -> bool:
        try:
            self._lookup(section, option)
        except KeyError:
            return False
        return True

    def set(self, section: str, option: str, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError(f"option values must be strings, got {type(value).__name__}")
        key = option.strip().lower()
        if not key:
            raise ValueError("option name must not be empty")
        self._section(section)[key] = value

    def remove_option(self, section: str, option: str) -> bool:
        return self._section(section).pop(option.lower(), None) is not None

    def to_dict(self) -> dict[str, dict[str, str]]:
        """A copy of the raw (not interpolated) values, DEFAULT included."""
        return {name: dict(values) for name, values in self._sections.items()}

    def __contains__(self, section: object) -> bool:
        return section in self._sections

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Config):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"Config(sections={self.sections()!r})"

    # -- lookups ---------------------------------------------------------------------------

    def _section(self, name: str) -> dict[str, str]:
        try:
            return self._sections[name]
        except KeyError:
            raise MissingSectionError(name) from None

    def _lookup(self, section: str, option: str) -> str:
        values = self._section(section)
        key = option.lower()
        if key in values:
            return values[key]
        defaults = self._sections.get(DEFAULT_SECTION, {})
        if key in defaults:
            return defaults[key]
        raise MissingOptionError(section, key)

    def get(self, section: str, option: str, default: Any = _MISSING, *, raw: bool = False) -> Any:
        """The option's value with ``${...}`` references resolved (unless ``raw``).

        ``${name}`` refers to an option of the same section, ``${section:name}`` to another
        section's, and ``$$`` is a literal ``$``. With ``default`` a missing section or option
        returns it instead of raising.
        """
        try:
            value = self._lookup(section, option)
        except (MissingSectionError, MissingOptionError):
            if default is _MISSING:
                raise
            return default
        if raw:
            return value
        return self._interpolate(section, value, 1)

    def _interpolate(self, section: str, value: str, depth: int) -> str:
        if "$" not in value:
            return value
        if depth > MAX_INTERPOLATION_DEPTH:
            raise InterpolationError(
                f"interpolation deeper than {MAX_INTERPOLATION_DEPTH} levels in section {section!r}"
                " (circular reference?)"
            )

        def replace(match: re.Match) -> str:
            if match.group(0) == "$$":
                return "$"
            reference = match.group(1).strip()
            if not reference:
                raise InterpolationError(f"empty reference '${{}}' in section {section!r}")
            if ":" in reference:
                target_section, _, name = reference.partition(":")
            else:
                target_section, name = section, reference
            try:
                target = self._lookup(target_section.strip(), name.strip())
            except KeyError:
                raise InterpolationError(f"bad reference '${{{reference}}}' in section {section!r}") from None
            return self._interpolate(target_section.strip(), target, depth + 1)

        return _REFERENCE.sub(replace, value)

    def _convert(self, section: str, option: str, default: Any, convert: Callable[[str], Any], kind: str) -> Any:
        try:
            value = self.get(section, option)
        except (MissingSectionError, MissingOptionError):
            if default is _MISSING:
                raise
            return default
        try:
            return convert(value)
        except ValueError:
            raise ValueError(f"option {option!r} in section {section!r} is not {kind}: {value!r}") from None

    def getint(self, section: str, option: str, default: Any = _MISSING) -> Any:
        """An integer; ``0x``, ``0o`` and ``0b`` prefixes are understood."""
        return self._convert(section, option, default, _to_int, "an integer")

    def getfloat(self, section: str, option: str, default: Any = _MISSING) -> Any:
        return self._convert(section, option, default, float, "a number")

    def getboolean(self, section: str, option: str, default: Any = _MISSING) -> Any:
        """``1/yes/true/on`` or ``0/no/false/off``, in any case."""
        return self._convert(section, option, default, _to_bool, "a boolean")

    def getlist(self, section: str, option: str, default: Any = _MISSING, sep: str = ",") -> Any:
        """Items separated by ``sep`` or by line breaks (multi-line values); blanks are dropped."""
        if not sep:
            raise ValueError("sep must not be empty")

        def split(value: str) -> list[str]:
            items = []
            for line in value.splitlines():
                items += [item.strip() for item in line.split(sep)]
            return [item for item in items if item]

        return self._convert(section, option, default, split, "a list")
