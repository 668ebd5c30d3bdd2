"""tinyini: a small INI configuration parser."""

from tinyini.config import DEFAULT_SECTION, Config
from tinyini.errors import InterpolationError, MissingOptionError, MissingSectionError, ParseError, TinyIniError
from tinyini.parser import dumps, parse

__version__ = "0.7.0"

__all__ = [
    "DEFAULT_SECTION",
    "Config",
    "InterpolationError",
    "MissingOptionError",
    "MissingSectionError",
    "ParseError",
    "TinyIniError",
    "dumps",
    "parse",
]
