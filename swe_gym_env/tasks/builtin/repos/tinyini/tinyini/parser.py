"""Reading and writing INI text."""

from __future__ import annotations

import re

from tinyini.config import DEFAULT_SECTION, Config
from tinyini.errors import ParseError

COMMENT_PREFIXES = ("#", ";")
_SECTION = re.compile(r"^\[\s*([^\]]*?)\s*\]$")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"'}
_UNESCAPES = {value: "\\" + key for key, value in _ESCAPES.items()}


def _strip_inline_comment(value: str) -> str:
    """Cut a ``#`` or ``;`` comment that follows whitespace: ``a b  # note`` -> ``a b``.

    A comment character with no whitespace before it is data (``color = #fff``, ``url = a#b``).
    """
    for i, ch in enumerate(value):
        if ch in COMMENT_PREFIXES and i > 0 and value[i - 1] in " \t":
            return value[:i]
    return value


def _parse_value(text: str, lineno: int, inline_comments: bool) -> str:
    """The value of an option from the text after ``=``: quoted (with escapes) or bare."""
    if text[:1] not in ('"', "'"):
        if inline_comments:
            text = _strip_inline_comment(text)
        return text.strip()
    quote = text[0]
    chars: list[str] = []
    i = 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and quote == '"':
            if i + 1 >= len(text):
                raise ParseError("backslash at end of quoted value", lineno)
            escaped = text[i + 1]
            if escaped not in _ESCAPES:
                raise ParseError(f"unknown escape sequence '\\{escaped}'", lineno)
            chars.append(_ESCAPES[escaped])
            i += 2
            continue
        if ch == quote:
            rest = text[i + 1 :].strip()
            if rest and not (inline_comments and rest.startswith(COMMENT_PREFIXES)):
                raise ParseError(f"unexpected text after closing quote: {rest!r}", lineno)
            return "".join(chars)
        chars.append(ch)
        i += 1
    raise ParseError("unterminated quoted value", lineno)


def _split_option(line: str) -> tuple[str, str] | None:
    """Split ``key = value`` or ``key: value`` at the first ``=`` or ``:``."""
    positions = [pos for pos in (line.find("="), line.find(":")) if pos >= 0]
    if not positions:
        return None
    cut = min(positions)
    return line[:cut], line[cut + 1 :]


def parse(text: str, *, strict: bool = True, inline_comments: bool = True) -> Config:
    """Parse INI ``text`` into a :class:`Config`.

    - ``[section]`` headers; every option must come after one.
    - ``key = value`` or ``key: value``; keys are case-insensitive.
    - Whole-line comments start with ``#`` or ``;``; inline comments need whitespace before them.
    - Values may be quoted with ``"..."`` (escapes ``\\n \\t \\r \\\\ \\"``) or ``'...'`` (literal).
    - An indented line continues the previous option's value on a new line; a blank line ends it.
    - With ``strict``, a repeated section or option is an error; otherwise later ones win.
    """
    config = Config()
    section: str | None = None
    last_option: str | None = None
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            last_option = None
            continue
        if stripped.startswith(COMMENT_PREFIXES):
            continue
        if line[0] in " \t" and last_option is not None:
            piece = _parse_value(stripped, lineno, inline_comments)
            previous = config.get(section, last_option, raw=True)
            config.set(section, last_option, previous + "\n" + piece)
            continue
        header = _SECTION.match(stripped)
        if header:
            name = header.group(1)
            if not name:
                raise ParseError("empty section name", lineno)
            if name in config:
                if strict:
                    raise ParseError(f"duplicate section {name!r}", lineno)
            else:
                config.add_section(name)
            section = name
            last_option = None
            continue
        if stripped.startswith("["):
            raise ParseError(f"malformed section header {stripped!r}", lineno)
        pair = _split_option(stripped)
        if pair is None:
            raise ParseError(f"expected 'key = value', got {stripped!r}", lineno)
        key = pair[0].strip().lower()
        if not key:
            raise ParseError("option with an empty name", lineno)
        if section is None:
            raise ParseError(f"option {key!r} before any section header", lineno)
        if strict and key in config.to_dict()[section]:
            raise ParseError(f"duplicate option {key!r} in section {section!r}", lineno)
        config.set(section, key, _parse_value(pair[1].strip(), lineno, inline_comments))
        last_option = key
    return config


def _needs_quotes(value: str) -> bool:
    if value == "" or value != value.strip():
        return True
    if value[0] in "\"'[":
        return True
    return any(ch in value for ch in "#;\n\t\r")


def _quote(value: str) -> str:
    return '"' + "".join(_UNESCAPES.get(ch, ch) for ch in value) + '"'


def dumps(config: Config) -> str:
    """Write ``config`` as INI text that :func:`parse` reads back to an equal Config."""
    data = config.to_dict()
    names = ([DEFAULT_SECTION] if DEFAULT_SECTION in data else []) + config.sections()
    blocks = []
    for name in names:
        lines = [f"[{name}]"]
        for key, value in data[name].items():
            lines.append(f"{key} = {_quote(value) if _needs_quotes(value) else value}")
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)
